//! What changed between two versions of an OpenAPI spec: operations added and removed, and the
//! changes that break existing clients (removed operations and response fields, new required
//! inputs, narrowed enums, changed types).

use super::openapi::{Flavor, resolve};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
/// Schema nesting followed at most this deep; `$ref` cycles are cut before that.
const MAX_DEPTH: usize = 12;
/// Schema nodes compared per operation and per diff, so a wide graph of shared schemas (every
/// path through it is walked) costs bounded time.
const OPERATION_BUDGET: usize = 10_000;
const TOTAL_BUDGET: usize = 1_000_000;
/// `allOf` / `oneOf` / `anyOf` nesting merged into one shape at most this deep.
const MAX_COMPOSITION: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OperationRef {
    /// Upper-case.
    pub method: String,
    pub path: String,
    pub summary: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakingKind {
    RemovedOperation,
    RemovedResponseField,
    NewRequiredParameter,
    NarrowedEnum,
    ChangedType,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BreakingChange {
    pub kind: BreakingKind,
    pub method: String,
    pub path: String,
    /// Where in the operation: `response 200 application/json: items[].owner.email`,
    /// `query parameter limit`, `request body: name`.
    pub location: String,
    /// One plain-English sentence.
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SpecDiff {
    pub added: Vec<OperationRef>,
    pub removed: Vec<OperationRef>,
    pub breaking: Vec<BreakingChange>,
}

/// Compares two parsed specs (from `openapi::parse`). Anything malformed counts as absent.
pub fn diff(old: &Value, new: &Value) -> SpecDiff {
    let old = Side::new(old);
    let new = Side::new(new);
    let old_ops = operations(&old);
    let new_ops = operations(&new);
    let mut d = Differ {
        old,
        new,
        method: String::new(),
        path: String::new(),
        out: Vec::new(),
        budget: 0,
        total: TOTAL_BUDGET,
    };
    let mut result = SpecDiff::default();
    for (key, op) in &old_ops {
        match new_ops.get(key) {
            None => {
                result.removed.push(op.reference());
                d.method = op.method.to_ascii_uppercase();
                d.path = op.path.to_owned();
                let message = format!("The operation {} {} was removed.", d.method, d.path);
                d.push(BreakingKind::RemovedOperation, "operation".into(), message);
            }
            Some(new_op) => d.operation(op, new_op),
        }
    }
    for (key, op) in &new_ops {
        if !old_ops.contains_key(key) {
            result.added.push(op.reference());
        }
    }
    let by_path_then_method =
        |a: &OperationRef, b: &OperationRef| (&a.path, &a.method).cmp(&(&b.path, &b.method));
    result.added.sort_by(by_path_then_method);
    result.removed.sort_by(by_path_then_method);
    let mut breaking = d.out;
    breaking.sort_by(|a, b| {
        (&a.path, &a.method, &a.location, &a.message).cmp(&(
            &b.path,
            &b.method,
            &b.location,
            &b.message,
        ))
    });
    // The same change can be found through several media types of one request body.
    breaking.dedup();
    result.breaking = breaking;
    result
}

#[derive(Clone, Copy)]
struct Side<'a> {
    root: &'a Value,
    swagger2: bool,
}

impl<'a> Side<'a> {
    fn new(root: &'a Value) -> Self {
        let flavor = match (
            root.get("openapi").and_then(Value::as_str),
            root.get("swagger").and_then(Value::as_str),
        ) {
            (Some(v), _) if v.starts_with("3.1") => Flavor::OpenApi31,
            (Some(_), _) => Flavor::OpenApi30,
            (None, Some(v)) if v.starts_with('2') => Flavor::Swagger2,
            _ => Flavor::OpenApi30,
        };
        Side {
            root,
            swagger2: flavor == Flavor::Swagger2,
        }
    }

    fn resolve(&self, value: &'a Value) -> Option<&'a Value> {
        resolve(self.root, value).map(|(_, v)| v)
    }
}

struct Operation<'a> {
    method: &'static str,
    path: &'a str,
    item: &'a Value,
    op: &'a Value,
}

impl Operation<'_> {
    fn reference(&self) -> OperationRef {
        OperationRef {
            method: self.method.to_ascii_uppercase(),
            path: self.path.to_owned(),
            summary: str_at(self.op, "summary").unwrap_or("").to_owned(),
        }
    }
}

/// Operations keyed by (path template with parameter names blanked, method).
fn operations<'a>(side: &Side<'a>) -> BTreeMap<(String, &'static str), Operation<'a>> {
    let mut ops = BTreeMap::new();
    let Some(paths) = side.root.get("paths").and_then(Value::as_object) else {
        return ops;
    };
    for (path, item) in paths {
        let Some(item) = side.resolve(item) else {
            continue;
        };
        for method in METHODS {
            if let Some(op) = item.get(method).filter(|o| o.is_object()) {
                ops.entry((normalise_path(path), method))
                    .or_insert(Operation {
                        method,
                        path,
                        item,
                        op,
                    });
            }
        }
    }
    ops
}

/// `/pets/{petId}` → `/pets/{}`.
fn normalise_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' if !in_param => {
                in_param = true;
                out.push('{');
            }
            '}' if in_param => {
                in_param = false;
                out.push('}');
            }
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

/// Where `{name}` sits among the template's parameters, so renamed path parameters still match.
fn path_param_position(path: &str, name: &str) -> Option<usize> {
    path.split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(n, _)| n))
        .position(|n| n == name)
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn is_true(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool) == Some(true)
}

fn media_essence(media: &str) -> String {
    media
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn is_json(media: &str) -> bool {
    let m = media_essence(media);
    m == "application/json" || m.ends_with("+json")
}

/// Path-level parameters overridden by the operation's, `$ref`s resolved.
fn effective_parameters<'a>(side: &Side<'a>, op: &Operation<'a>) -> Vec<&'a Value> {
    let mut params: Vec<&Value> = Vec::new();
    for list in [op.item.get("parameters"), op.op.get("parameters")] {
        for p in list.and_then(Value::as_array).into_iter().flatten() {
            let Some(p) = side.resolve(p) else {
                continue;
            };
            let key = (str_at(p, "name"), str_at(p, "in"));
            params.retain(|q| (str_at(q, "name"), str_at(q, "in")) != key);
            params.push(p);
        }
    }
    params
}

struct Param<'a> {
    location: &'a str,
    name: &'a str,
    required: bool,
    schema: Option<&'a Value>,
}

/// Non-body parameters keyed by (in, name); path parameters by their place in the template and
/// header names case-insensitively.
fn parameters<'a>(op: &Operation<'a>, all: &[&'a Value]) -> BTreeMap<(String, String), Param<'a>> {
    let mut out = BTreeMap::new();
    for p in all {
        let (Some(location), Some(name)) = (str_at(p, "in"), str_at(p, "name")) else {
            continue;
        };
        let key = match location {
            "body" => continue,
            "path" => match path_param_position(op.path, name) {
                Some(i) => format!("#{i}"),
                None => name.to_owned(),
            },
            "header" => name.to_ascii_lowercase(),
            _ => name.to_owned(),
        };
        let schema = match (p.get("schema"), p.get("content").and_then(Value::as_object)) {
            (Some(s), _) => Some(s),
            (None, Some(content)) => content.values().next().and_then(|m| m.get("schema")),
            // Swagger 2.0 keeps the type on the parameter itself.
            (None, None) => p.get("type").is_some().then_some(*p),
        };
        out.insert(
            (location.to_owned(), key),
            Param {
                location,
                name,
                required: location == "path" || is_true(p, "required"),
                schema,
            },
        );
    }
    out
}

struct Body<'a> {
    required: bool,
    media: Vec<(String, Option<&'a Value>)>,
}

/// Swagger 2.0's `consumes` / `produces`, from the operation or the document.
fn swagger_media(side: &Side<'_>, op: &Value, key: &str) -> Vec<String> {
    op.get(key)
        .or_else(|| side.root.get(key))
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .filter(|m: &Vec<String>| !m.is_empty())
        .unwrap_or_else(|| vec!["application/json".into()])
}

fn request_body<'a>(side: &Side<'a>, op: &Operation<'a>, all: &[&'a Value]) -> Option<Body<'a>> {
    if side.swagger2 {
        let body = all.iter().find(|p| str_at(p, "in") == Some("body"))?;
        let schema = body.get("schema");
        return Some(Body {
            required: is_true(body, "required"),
            media: swagger_media(side, op.op, "consumes")
                .into_iter()
                .map(|m| (m, schema))
                .collect(),
        });
    }
    let body = side.resolve(op.op.get("requestBody")?)?;
    Some(Body {
        required: is_true(body, "required"),
        media: content(body),
    })
}

fn content(holder: &Value) -> Vec<(String, Option<&Value>)> {
    holder
        .get("content")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(media, m)| (media.clone(), m.get("schema")))
        .collect()
}

/// The 2xx responses, `$ref`s resolved.
fn success_responses<'a>(side: &Side<'a>, op: &Operation<'a>) -> BTreeMap<String, &'a Value> {
    op.op
        .get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(status, _)| status.starts_with('2'))
        .filter_map(|(status, r)| Some((status.to_ascii_uppercase(), side.resolve(r)?)))
        .collect()
}

/// A response's JSON bodies; Swagger 2.0's single schema counts whatever it produces.
fn response_bodies<'a>(
    side: &Side<'a>,
    op: &Operation<'a>,
    response: &'a Value,
) -> Vec<(String, Option<&'a Value>)> {
    if side.swagger2 {
        let Some(schema) = response.get("schema") else {
            return Vec::new();
        };
        let produces = swagger_media(side, op.op, "produces");
        let media = produces
            .iter()
            .find(|m| is_json(m))
            .or(produces.first())
            .cloned()
            .unwrap_or_else(|| "application/json".into());
        return vec![(media, Some(schema))];
    }
    content(response)
        .into_iter()
        .filter(|(m, _)| is_json(m))
        .collect()
}

fn find_media<'a, 'b>(
    list: &'b [(String, Option<&'a Value>)],
    media: &str,
) -> Option<&'b (String, Option<&'a Value>)> {
    let essence = media_essence(media);
    list.iter().find(|(m, _)| media_essence(m) == essence)
}

/// A schema with `allOf` merged and `oneOf` / `anyOf` variants' properties unioned.
#[derive(Default)]
struct Shape<'a> {
    types: Option<BTreeSet<String>>,
    properties: BTreeMap<&'a str, &'a Value>,
    required: BTreeSet<&'a str>,
    enumeration: Option<&'a Vec<Value>>,
    items: Option<&'a Value>,
}

impl<'a> Shape<'a> {
    fn of(root: &'a Value, schema: &'a Value) -> Self {
        let mut shape = Shape::default();
        let mut seen = Vec::new();
        shape.gather(root, schema, &mut seen, 0, false);
        if shape.types.is_none() {
            shape.types = variant_types(root, schema);
        }
        shape
    }

    fn gather(
        &mut self,
        root: &'a Value,
        schema: &'a Value,
        seen: &mut Vec<&'a str>,
        hops: usize,
        variant: bool,
    ) {
        if hops > MAX_COMPOSITION {
            return;
        }
        let schema = match str_at(schema, "$ref") {
            Some(r) if seen.contains(&r) => return,
            Some(r) => {
                seen.push(r);
                match resolve(root, schema) {
                    Some((_, s)) => s,
                    None => return,
                }
            }
            None => schema,
        };
        for (name, prop) in schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            self.properties.entry(name.as_str()).or_insert(prop);
        }
        // A variant's own type, enum and required list hold only when that variant is sent.
        if !variant {
            self.required.extend(
                schema
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str),
            );
            if self.types.is_none() {
                self.types = types_of(schema);
            }
            if self.enumeration.is_none() {
                self.enumeration = schema.get("enum").and_then(Value::as_array);
            }
            if self.items.is_none() {
                self.items = schema.get("items").filter(|i| i.is_object());
            }
        }
        for part in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.gather(root, part, seen, hops + 1, variant);
        }
        for key in ["oneOf", "anyOf"] {
            for part in schema
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                self.gather(root, part, seen, hops + 1, true);
            }
        }
    }
}

/// `type` as a set: 3.1 allows a list, and `nullable` adds `"null"`.
fn types_of(schema: &Value) -> Option<BTreeSet<String>> {
    let mut types: BTreeSet<String> = match schema.get("type") {
        Some(Value::String(t)) => [t.clone()].into(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => return None,
    };
    if types.is_empty() {
        return None;
    }
    if is_true(schema, "nullable") || is_true(schema, "x-nullable") {
        types.insert("null".into());
    }
    Some(types)
}

/// The union of `oneOf` / `anyOf` variants' types, when every variant declares one.
fn variant_types(root: &Value, schema: &Value) -> Option<BTreeSet<String>> {
    let variants = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array)
        .filter(|v| !v.is_empty())?;
    let mut types = BTreeSet::new();
    for v in variants {
        let (_, v) = resolve(root, v)?;
        types.extend(types_of(v)?);
    }
    Some(types)
}

fn type_list(types: &BTreeSet<String>) -> String {
    types
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" or ")
}

/// A request may start accepting numbers where it took integers; any other change of type
/// breaks a client that sends what it sent before.
fn input_type_breaks(old: &BTreeSet<String>, new: &BTreeSet<String>) -> bool {
    let widened: BTreeSet<&str> = old
        .iter()
        .map(|t| {
            if t == "integer" && new.contains("number") {
                "number"
            } else {
                t.as_str()
            }
        })
        .collect();
    widened != new.iter().map(String::as_str).collect()
}

fn value_list(values: &[&Value]) -> String {
    let mut shown: Vec<String> = values.iter().take(20).map(|v| v.to_string()).collect();
    if values.len() > 20 {
        shown.push(format!("and {} more", values.len() - 20));
    }
    shown.join(", ")
}

fn join_path(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn at(base: &str, path: &str) -> String {
    if path.is_empty() {
        base.to_owned()
    } else {
        format!("{base}: {path}")
    }
}

/// How a message names an input: "the request body", "the request body field name",
/// "the query parameter limit", "the field a.b of the query parameter filter".
fn subject(base: &str, path: &str) -> String {
    match (path.is_empty(), base == "request body") {
        (true, _) => format!("the {base}"),
        (false, true) => format!("the request body field {path}"),
        (false, false) => format!("the field {path} of the {base}"),
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `$ref`s on the current walk path, one stack per side: a schema met again on its own path is
/// a cycle and is not followed.
#[derive(Default)]
struct Stacks<'a> {
    old: Vec<&'a str>,
    new: Vec<&'a str>,
}

struct Differ<'a> {
    old: Side<'a>,
    new: Side<'a>,
    /// The operation being compared.
    method: String,
    path: String,
    out: Vec<BreakingChange>,
    budget: usize,
    total: usize,
}

impl<'a> Differ<'a> {
    fn push(&mut self, kind: BreakingKind, location: String, message: String) {
        self.out.push(BreakingChange {
            kind,
            method: self.method.clone(),
            path: self.path.clone(),
            location,
            message,
        });
    }

    fn operation(&mut self, old: &Operation<'a>, new: &Operation<'a>) {
        self.method = new.method.to_ascii_uppercase();
        self.path = new.path.to_owned();
        self.budget = OPERATION_BUDGET;
        let old_all = effective_parameters(&self.old, old);
        let new_all = effective_parameters(&self.new, new);
        self.parameters(old, &old_all, new, &new_all);
        self.request_body(old, &old_all, new, &new_all);
        self.responses(old, new);
    }

    fn parameters(
        &mut self,
        old: &Operation<'a>,
        old_all: &[&'a Value],
        new: &Operation<'a>,
        new_all: &[&'a Value],
    ) {
        let old_params = parameters(old, old_all);
        for (key, p) in parameters(new, new_all) {
            let base = format!("{} parameter {}", p.location, p.name);
            let before = old_params.get(&key);
            // A path parameter exists as long as its template segment does, declared or not.
            if p.required && p.location != "path" {
                match before {
                    None => self.push(
                        BreakingKind::NewRequiredParameter,
                        base.clone(),
                        format!("The new {base} is required."),
                    ),
                    Some(b) if !b.required => self.push(
                        BreakingKind::NewRequiredParameter,
                        base.clone(),
                        format!("The {base} is now required."),
                    ),
                    Some(_) => {}
                }
            }
            if let (Some(b), Some(new_schema)) = (before, p.schema)
                && let Some(old_schema) = b.schema
            {
                self.input(old_schema, new_schema, &base, "", 0, &mut Stacks::default());
            }
        }
    }

    fn request_body(
        &mut self,
        old: &Operation<'a>,
        old_all: &[&'a Value],
        new: &Operation<'a>,
        new_all: &[&'a Value],
    ) {
        let old_body = request_body(&self.old, old, old_all);
        let Some(new_body) = request_body(&self.new, new, new_all) else {
            return;
        };
        if new_body.required && !old_body.as_ref().is_some_and(|b| b.required) {
            self.push(
                BreakingKind::NewRequiredParameter,
                "request body".into(),
                "The request body is now required.".into(),
            );
        }
        let Some(old_body) = old_body else {
            return;
        };
        for (media, old_schema) in &old_body.media {
            if let (Some(old_schema), Some((_, Some(new_schema)))) =
                (old_schema, find_media(&new_body.media, media))
            {
                self.input(
                    old_schema,
                    new_schema,
                    "request body",
                    "",
                    0,
                    &mut Stacks::default(),
                );
            }
        }
    }

    fn responses(&mut self, old: &Operation<'a>, new: &Operation<'a>) {
        let new_responses = success_responses(&self.new, new);
        for (status, old_response) in success_responses(&self.old, old) {
            let wildcard = format!("{}XX", &status[..1]);
            let Some(new_response) = new_responses
                .get(&status)
                .or_else(|| new_responses.get(&wildcard))
            else {
                self.push(
                    BreakingKind::RemovedResponseField,
                    format!("response {status}"),
                    format!("The {status} response was removed."),
                );
                continue;
            };
            let new_bodies = response_bodies(&self.new, new, new_response);
            for (media, old_schema) in response_bodies(&self.old, old, old_response) {
                let base = format!("response {status} {media}");
                match find_media(&new_bodies, &media) {
                    None => self.push(
                        BreakingKind::RemovedResponseField,
                        base,
                        format!("The {status} response no longer returns {media}."),
                    ),
                    Some((_, new_schema)) => {
                        if let (Some(o), Some(n)) = (old_schema, new_schema) {
                            self.output(o, n, &base, "", 0, &mut Stacks::default());
                        }
                    }
                }
            }
        }
    }

    /// Resolves both sides one step, or says the walk stops here: too deep, over budget, a
    /// cycle, or a `$ref` that does not resolve.
    fn enter(
        &mut self,
        old: &'a Value,
        new: &'a Value,
        depth: usize,
        stacks: &mut Stacks<'a>,
    ) -> Option<(&'a Value, &'a Value)> {
        if depth > MAX_DEPTH || self.budget == 0 || self.total == 0 {
            return None;
        }
        self.budget -= 1;
        self.total -= 1;
        let old_ref = str_at(old, "$ref");
        let new_ref = str_at(new, "$ref");
        if old_ref.is_some_and(|r| stacks.old.contains(&r))
            || new_ref.is_some_and(|r| stacks.new.contains(&r))
        {
            return None;
        }
        let old = self.old.resolve(old)?;
        let new = self.new.resolve(new)?;
        stacks.old.extend(old_ref);
        stacks.new.extend(new_ref);
        Some((old, new))
    }

    fn leave(old: &Value, new: &Value, stacks: &mut Stacks<'a>) {
        if old.get("$ref").is_some_and(Value::is_string) {
            stacks.old.pop();
        }
        if new.get("$ref").is_some_and(Value::is_string) {
            stacks.new.pop();
        }
    }

    /// A schema clients send: new required fields, narrowed enums and changed types break them.
    fn input(
        &mut self,
        old: &'a Value,
        new: &'a Value,
        base: &str,
        path: &str,
        depth: usize,
        stacks: &mut Stacks<'a>,
    ) {
        let Some((old_target, new_target)) = self.enter(old, new, depth, stacks) else {
            return;
        };
        self.input_resolved(old_target, new_target, base, path, depth, stacks);
        Self::leave(old, new, stacks);
    }

    fn input_resolved(
        &mut self,
        old: &'a Value,
        new: &'a Value,
        base: &str,
        path: &str,
        depth: usize,
        stacks: &mut Stacks<'a>,
    ) {
        let o = Shape::of(self.old.root, old);
        let n = Shape::of(self.new.root, new);
        let location = at(base, path);
        if let (Some(ot), Some(nt)) = (&o.types, &n.types)
            && input_type_breaks(ot, nt)
        {
            let message = format!(
                "The type of {} changed from {} to {}.",
                subject(base, path),
                type_list(ot),
                type_list(nt)
            );
            self.push(BreakingKind::ChangedType, location, message);
            return;
        }
        if let Some(new_values) = n.enumeration {
            let message = match o.enumeration {
                Some(old_values) => {
                    let lost: Vec<&Value> = old_values
                        .iter()
                        .filter(|v| !new_values.contains(v))
                        .collect();
                    (!lost.is_empty()).then(|| {
                        format!(
                            "{} no longer accepts {}.",
                            capitalise(&subject(base, path)),
                            value_list(&lost)
                        )
                    })
                }
                None => Some(format!(
                    "{} now accepts only {}.",
                    capitalise(&subject(base, path)),
                    value_list(&new_values.iter().collect::<Vec<_>>())
                )),
            };
            if let Some(message) = message {
                self.push(BreakingKind::NarrowedEnum, location, message);
            }
        }
        for name in &n.required {
            if o.required.contains(name) {
                continue;
            }
            // The server fills read-only fields; clients never send them.
            let read_only = n
                .properties
                .get(name)
                .and_then(|p| self.new.resolve(p))
                .is_some_and(|p| is_true(p, "readOnly"));
            if read_only {
                continue;
            }
            let field = join_path(path, name);
            let message = if o.properties.contains_key(name) {
                format!("{} is now required.", capitalise(&subject(base, &field)))
            } else {
                format!(
                    "The new {} is required.",
                    subject(base, &field).trim_start_matches("the ")
                )
            };
            self.push(
                BreakingKind::NewRequiredParameter,
                at(base, &field),
                message,
            );
        }
        for (name, new_prop) in &n.properties {
            if let Some(old_prop) = o.properties.get(name) {
                let field = join_path(path, name);
                self.input(old_prop, new_prop, base, &field, depth + 1, stacks);
            }
        }
        if let (Some(oi), Some(ni)) = (o.items, n.items) {
            let field = format!("{path}[]");
            self.input(oi, ni, base, &field, depth + 1, stacks);
        }
    }

    /// A schema clients receive: fields that disappear and types that change break them.
    fn output(
        &mut self,
        old: &'a Value,
        new: &'a Value,
        base: &str,
        path: &str,
        depth: usize,
        stacks: &mut Stacks<'a>,
    ) {
        let Some((old_target, new_target)) = self.enter(old, new, depth, stacks) else {
            return;
        };
        self.output_resolved(old_target, new_target, base, path, depth, stacks);
        Self::leave(old, new, stacks);
    }

    fn output_resolved(
        &mut self,
        old: &'a Value,
        new: &'a Value,
        base: &str,
        path: &str,
        depth: usize,
        stacks: &mut Stacks<'a>,
    ) {
        let o = Shape::of(self.old.root, old);
        let n = Shape::of(self.new.root, new);
        if let (Some(ot), Some(nt)) = (&o.types, &n.types)
            && ot != nt
        {
            let what = if path.is_empty() {
                format!("the {base} body")
            } else {
                format!("the field {path} in {base}")
            };
            let message = format!(
                "The type of {what} changed from {} to {}.",
                type_list(ot),
                type_list(nt)
            );
            self.push(BreakingKind::ChangedType, at(base, path), message);
            return;
        }
        for (name, old_prop) in &o.properties {
            // Clients never received write-only fields.
            if self
                .old
                .resolve(old_prop)
                .is_some_and(|p| is_true(p, "writeOnly"))
            {
                continue;
            }
            let field = join_path(path, name);
            match n.properties.get(name) {
                None => {
                    let message =
                        format!("The field {field} is no longer in {base} (removed or renamed).");
                    self.push(
                        BreakingKind::RemovedResponseField,
                        at(base, &field),
                        message,
                    );
                }
                Some(new_prop) => self.output(old_prop, new_prop, base, &field, depth + 1, stacks),
            }
        }
        if let (Some(oi), Some(ni)) = (o.items, n.items) {
            let field = format!("{path}[]");
            self.output(oi, ni, base, &field, depth + 1, stacks);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Strips the indentation the literals carry in this file.
    fn dedent(text: &str) -> String {
        let indent = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start().len())
            .min()
            .unwrap_or(0);
        text.lines()
            .map(|l| l.get(indent..).unwrap_or("").trim_end())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn parse(text: &str) -> Value {
        super::super::openapi::parse(text.as_bytes(), 1 << 20)
            .expect("a valid spec")
            .0
    }

    /// An OpenAPI 3.0 document with these `paths` (and anything else) below its header.
    fn oas(body: &str) -> Value {
        parse(&format!(
            "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\n{}",
            dedent(body)
        ))
    }

    fn found(d: &SpecDiff) -> Vec<(BreakingKind, &str)> {
        d.breaking
            .iter()
            .map(|b| (b.kind, b.location.as_str()))
            .collect()
    }

    fn op(method: &str, path: &str, summary: &str) -> OperationRef {
        OperationRef {
            method: method.into(),
            path: path.into(),
            summary: summary.into(),
        }
    }

    #[test]
    fn added_and_removed_operations_are_listed_in_order_and_removals_break() {
        let old = oas(r#"
            paths:
              /pets:
                get: {summary: List, responses: {'200': {description: ok}}}
                post: {summary: Create, responses: {'201': {description: ok}}}
              /pets/{id}:
                delete: {summary: Delete, responses: {'204': {description: ok}}}
        "#);
        let new = oas(r#"
            paths:
              /pets:
                get: {summary: List, responses: {'200': {description: ok}}}
              /pets/{id}:
                patch: {summary: Update, responses: {'200': {description: ok}}}
                get: {summary: Show, responses: {'200': {description: ok}}}
              /a:
                get: {responses: {'200': {description: ok}}}
        "#);
        let d = diff(&old, &new);
        assert_eq!(
            d.added,
            [
                op("GET", "/a", ""),
                op("GET", "/pets/{id}", "Show"),
                op("PATCH", "/pets/{id}", "Update"),
            ]
        );
        assert_eq!(
            d.removed,
            [
                op("POST", "/pets", "Create"),
                op("DELETE", "/pets/{id}", "Delete")
            ]
        );
        assert_eq!(
            found(&d),
            [
                (BreakingKind::RemovedOperation, "operation"),
                (BreakingKind::RemovedOperation, "operation"),
            ]
        );
        assert_eq!(
            (d.breaking[0].method.as_str(), d.breaking[0].path.as_str()),
            ("POST", "/pets")
        );
        assert_eq!(
            d.breaking[1].message,
            "The operation DELETE /pets/{id} was removed."
        );
    }

    #[test]
    fn renaming_a_path_parameter_is_not_a_change() {
        let old = oas(r#"
            paths:
              /pets/{id}/toys/{toy}:
                get:
                  parameters:
                    - {name: id, in: path, required: true, schema: {type: integer}}
                    - {name: toy, in: path, required: true, schema: {type: string}}
                  responses: {'200': {description: ok}}
        "#);
        let new = oas(r#"
            paths:
              /pets/{petId}/toys/{toyName}:
                get:
                  parameters:
                    - {name: petId, in: path, required: true, schema: {type: integer}}
                    - {name: toyName, in: path, required: true, schema: {type: string}}
                  responses: {'200': {description: ok}}
        "#);
        assert_eq!(diff(&old, &new), SpecDiff::default());
    }

    #[test]
    fn a_new_required_query_parameter_breaks_and_a_new_optional_one_does_not() {
        let old = oas(r#"
            paths:
              /pets:
                get: {responses: {'200': {description: ok}}}
        "#);
        let new = oas(r#"
            paths:
              /pets:
                get:
                  parameters:
                    - {name: limit, in: query, required: true, schema: {type: integer}}
                    - {name: offset, in: query, schema: {type: integer}}
                  responses: {'200': {description: ok}}
        "#);
        let d = diff(&old, &new);
        assert_eq!(
            found(&d),
            [(BreakingKind::NewRequiredParameter, "query parameter limit")]
        );
        assert_eq!(
            d.breaking[0].message,
            "The new query parameter limit is required."
        );
    }

    #[test]
    fn an_optional_parameter_becoming_required_breaks_also_at_path_level() {
        let old = oas(r#"
            paths:
              /pets:
                get:
                  parameters:
                    - {name: X-Trace, in: header, schema: {type: string}}
                    - {name: sort, in: query, required: false, schema: {type: string}}
                    - {name: q, in: query, required: true, schema: {type: string}}
                  responses: {'200': {description: ok}}
        "#);
        let new = oas(r#"
            paths:
              /pets:
                parameters:
                  - {name: sort, in: query, required: true, schema: {type: string}}
                get:
                  parameters:
                    - {name: x-trace, in: header, required: true, schema: {type: string}}
                    - {name: q, in: query, required: true, schema: {type: string}}
                  responses: {'200': {description: ok}}
        "#);
        let d = diff(&old, &new);
        assert_eq!(
            found(&d),
            [
                (
                    BreakingKind::NewRequiredParameter,
                    "header parameter x-trace"
                ),
                (BreakingKind::NewRequiredParameter, "query parameter sort"),
            ]
        );
        assert_eq!(
            d.breaking[1].message,
            "The query parameter sort is now required."
        );
    }

    #[test]
    fn request_body_fields_becoming_required_break_unless_read_only() {
        let old = oas(r#"
            paths:
              /pets:
                post:
                  requestBody:
                    content:
                      application/json:
                        schema: {$ref: '#/components/schemas/NewPet'}
                  responses: {'201': {description: ok}}
            components:
              schemas:
                NewPet:
                  type: object
                  required: [tag]
                  properties:
                    id: {type: integer}
                    name: {type: string}
                    tag: {type: string}
                    owner:
                      type: object
                      properties: {email: {type: string}}
        "#);
        let new = oas(r#"
            paths:
              /pets:
                post:
                  requestBody:
                    content:
                      application/json:
                        schema: {$ref: '#/components/schemas/NewPet'}
                  responses: {'201': {description: ok}}
            components:
              schemas:
                NewPet:
                  type: object
                  required: [id, name, tag, age]
                  properties:
                    id: {type: integer, readOnly: true}
                    name: {type: string}
                    tag: {type: string}
                    age: {type: integer}
                    owner:
                      type: object
                      required: [email]
                      properties: {email: {type: string}}
        "#);
        let d = diff(&old, &new);
        assert_eq!(
            found(&d),
            [
                (BreakingKind::NewRequiredParameter, "request body: age"),
                (BreakingKind::NewRequiredParameter, "request body: name"),
                (
                    BreakingKind::NewRequiredParameter,
                    "request body: owner.email"
                ),
            ]
        );
        assert_eq!(
            d.breaking[0].message,
            "The new request body field age is required."
        );
        assert_eq!(
            d.breaking[1].message,
            "The request body field name is now required."
        );
    }

    #[test]
    fn a_request_body_becoming_required_breaks() {
        let body = |required: bool| {
            oas(&format!(
                r#"
                paths:
                  /pets:
                    post:
                      requestBody:
                        required: {required}
                        content: {{application/json: {{schema: {{type: object}}}}}}
                      responses: {{'201': {{description: ok}}}}
                "#
            ))
        };
        let d = diff(&body(false), &body(true));
        assert_eq!(
            found(&d),
            [(BreakingKind::NewRequiredParameter, "request body")]
        );
        assert!(diff(&body(true), &body(false)).breaking.is_empty());
    }

    #[test]
    fn a_removed_nested_response_field_is_found_through_refs_and_arrays() {
        let spec = |owner_fields: &str| {
            oas(&format!(
                r#"
                paths:
                  /pets:
                    get:
                      responses:
                        '200':
                          description: ok
                          content:
                            application/json:
                              schema:
                                type: object
                                properties:
                                  items: {{type: array, items: {{$ref: '#/components/schemas/Pet'}}}}
                components:
                  schemas:
                    Pet:
                      type: object
                      properties:
                        owner: {{$ref: '#/components/schemas/Owner'}}
                    Owner:
                      type: object
                      properties: {owner_fields}
                "#
            ))
        };
        let d = diff(
            &spec("{name: {type: string}, email: {type: string}}"),
            &spec("{name: {type: string}}"),
        );
        assert_eq!(
            found(&d),
            [(
                BreakingKind::RemovedResponseField,
                "response 200 application/json: items[].owner.email"
            )]
        );
        assert_eq!(d.breaking[0].method, "GET");
    }

    #[test]
    fn a_renamed_response_field_shows_as_removed() {
        let spec = |field: &str| {
            oas(&format!(
                r#"
                paths:
                  /pets/{{id}}:
                    get:
                      responses:
                        '200':
                          description: ok
                          content:
                            application/json:
                              schema:
                                type: object
                                properties: {{id: {{type: integer}}, {field}: {{type: string}}}}
                "#
            ))
        };
        let d = diff(&spec("name"), &spec("title"));
        assert_eq!(
            found(&d),
            [(
                BreakingKind::RemovedResponseField,
                "response 200 application/json: name"
            )]
        );
        assert!(
            d.breaking[0].message.contains("removed or renamed"),
            "{}",
            d.breaking[0].message
        );
    }

    #[test]
    fn a_removed_success_response_or_media_type_is_reported_once_at_its_level() {
        let spec = |responses: &str| {
            oas(&format!(
                r#"
                paths:
                  /pets:
                    get:
                      responses: {responses}
                "#
            ))
        };
        let old = spec(
            "{'200': {description: ok, content: {application/json: {schema: {type: object, properties: {a: {type: string}}}}}}, '202': {description: later}}",
        );
        let new = spec(
            "{'200': {description: ok, content: {text/plain: {schema: {type: string}}}}, '404': {description: gone}}",
        );
        assert_eq!(
            found(&diff(&old, &new)),
            [
                (
                    BreakingKind::RemovedResponseField,
                    "response 200 application/json"
                ),
                (BreakingKind::RemovedResponseField, "response 202"),
            ]
        );
    }

    #[test]
    fn all_of_is_merged_and_one_of_variants_are_walked_together() {
        let spec = |dog_fields: &str| {
            oas(&format!(
                r#"
                paths:
                  /pets:
                    get:
                      responses:
                        '200':
                          description: ok
                          content:
                            application/json:
                              schema:
                                oneOf:
                                  - $ref: '#/components/schemas/Cat'
                                  - $ref: '#/components/schemas/Dog'
                components:
                  schemas:
                    Base:
                      type: object
                      properties: {{id: {{type: integer}}}}
                    Cat:
                      allOf:
                        - $ref: '#/components/schemas/Base'
                        - {{properties: {{purrs: {{type: boolean}}}}}}
                    Dog:
                      allOf:
                        - $ref: '#/components/schemas/Base'
                        - {{properties: {dog_fields}}}
                "#
            ))
        };
        let old = spec("{barks: {type: boolean}, breed: {type: string}}");
        assert!(diff(&old, &old).breaking.is_empty());
        // `purrs` stays (in Cat), `barks` moved into Cat would still count; `breed` is gone.
        let new = spec("{barks: {type: boolean}}");
        assert_eq!(
            found(&diff(&old, &new)),
            [(
                BreakingKind::RemovedResponseField,
                "response 200 application/json: breed"
            )]
        );
    }

    #[test]
    fn a_narrowed_enum_lists_the_lost_values() {
        let spec = |status: &str, kind: &str| {
            oas(&format!(
                r#"
                paths:
                  /pets:
                    post:
                      parameters:
                        - {{name: status, in: query, schema: {{type: string, enum: {status}}}}}
                      requestBody:
                        content:
                          application/json:
                            schema:
                              type: object
                              properties:
                                kind: {{type: string, enum: {kind}}}
                      responses: {{'200': {{description: ok}}}}
                "#
            ))
        };
        let d = diff(
            &spec("[available, pending, sold]", "[cat, dog]"),
            &spec("[available]", "[cat, bird]"),
        );
        assert_eq!(
            found(&d),
            [
                (BreakingKind::NarrowedEnum, "query parameter status"),
                (BreakingKind::NarrowedEnum, "request body: kind"),
            ]
        );
        assert_eq!(
            d.breaking[0].message,
            r#"The query parameter status no longer accepts "pending", "sold"."#
        );
        assert_eq!(
            d.breaking[1].message,
            r#"The request body field kind no longer accepts "dog"."#
        );
    }

    #[test]
    fn a_widened_enum_is_not_breaking_nor_is_a_narrowed_response_enum() {
        let spec = |input: &str, output: &str| {
            oas(&format!(
                r#"
                paths:
                  /pets:
                    get:
                      parameters:
                        - {{name: status, in: query, schema: {{type: string, enum: {input}}}}}
                      responses:
                        '200':
                          description: ok
                          content:
                            application/json:
                              schema:
                                type: object
                                properties: {{status: {{type: string, enum: {output}}}}}
                "#
            ))
        };
        let d = diff(&spec("[a]", "[a, b]"), &spec("[a, b]", "[a]"));
        assert_eq!(d, SpecDiff::default());
    }

    #[test]
    fn a_changed_type_breaks_parameters_bodies_and_responses() {
        let spec = |ty: &str, response: &str| {
            oas(&format!(
                r#"
                paths:
                  /pets:
                    post:
                      parameters:
                        - {{name: limit, in: query, schema: {{type: {ty}}}}}
                      requestBody:
                        content:
                          application/json:
                            schema:
                              type: object
                              properties: {{age: {{type: {ty}}}, tags: {{type: array, items: {{type: {ty}}}}}}}
                      responses:
                        '200':
                          description: ok
                          content:
                            application/json:
                              schema:
                                type: object
                                properties: {{id: {response}}}
                "#
            ))
        };
        let d = diff(
            &spec("integer", "{type: string}"),
            &spec("string", "{type: string, nullable: true}"),
        );
        assert_eq!(
            found(&d),
            [
                (BreakingKind::ChangedType, "query parameter limit"),
                (BreakingKind::ChangedType, "request body: age"),
                (BreakingKind::ChangedType, "request body: tags[]"),
                (
                    BreakingKind::ChangedType,
                    "response 200 application/json: id"
                ),
            ]
        );
        assert_eq!(
            d.breaking[0].message,
            "The type of the query parameter limit changed from integer to string."
        );
        assert_eq!(
            d.breaking[3].message,
            "The type of the field id in response 200 application/json changed from string to null or string."
        );
    }

    #[test]
    fn integer_to_number_is_not_breaking_in_a_request_but_is_in_a_response() {
        let spec = |ty: &str| {
            oas(&format!(
                r#"
                paths:
                  /pets:
                    post:
                      parameters:
                        - {{name: limit, in: query, schema: {{type: {ty}}}}}
                      requestBody:
                        content:
                          application/json:
                            schema: {{type: object, properties: {{age: {{type: {ty}}}}}}}
                      responses:
                        '200':
                          description: ok
                          content:
                            application/json:
                              schema: {{type: object, properties: {{age: {{type: {ty}}}}}}}
                "#
            ))
        };
        let d = diff(&spec("integer"), &spec("number"));
        assert_eq!(
            found(&d),
            [(
                BreakingKind::ChangedType,
                "response 200 application/json: age"
            )]
        );
        // The other way narrows what a request may carry.
        assert_eq!(diff(&spec("number"), &spec("integer")).breaking.len(), 3);
    }

    #[test]
    fn swagger_2_parameters_bodies_and_definitions_are_compared() {
        let spec = |required: bool, statuses: &str, pet: &str| {
            parse(&dedent(&format!(
                r#"
                swagger: '2.0'
                info: {{title: t, version: '1'}}
                produces: [application/json]
                paths:
                  /pets:
                    post:
                      parameters:
                        - {{name: limit, in: query, type: integer, required: {required}}}
                        - {{name: status, in: query, type: array, items: {{type: string, enum: {statuses}}}}}
                        - {{name: body, in: body, required: {required}, schema: {{$ref: '#/definitions/Pet'}}}}
                      responses:
                        '200':
                          description: ok
                          schema: {{type: array, items: {{$ref: '#/definitions/Pet'}}}}
                definitions:
                  Pet:
                    type: object
                    properties: {pet}
                "#
            )))
        };
        let old = spec(
            false,
            "[a, b]",
            "{name: {type: string}, tag: {type: string}}",
        );
        assert_eq!(diff(&old, &old), SpecDiff::default());
        let new = spec(
            true,
            "[a]",
            "{name: {type: integer}, label: {type: string}}",
        );
        let d = diff(&old, &new);
        assert_eq!(
            found(&d),
            [
                (BreakingKind::NewRequiredParameter, "query parameter limit"),
                (BreakingKind::NarrowedEnum, "query parameter status: []"),
                (BreakingKind::NewRequiredParameter, "request body"),
                (BreakingKind::ChangedType, "request body: name"),
                (
                    BreakingKind::ChangedType,
                    "response 200 application/json: [].name"
                ),
                (
                    BreakingKind::RemovedResponseField,
                    "response 200 application/json: [].tag"
                ),
            ]
        );
    }

    #[test]
    fn a_self_referencing_schema_terminates() {
        let spec = |node_fields: &str| {
            oas(&format!(
                r#"
                paths:
                  /tree:
                    put:
                      requestBody:
                        content:
                          application/json:
                            schema: {{$ref: '#/components/schemas/Node'}}
                      responses:
                        '200':
                          description: ok
                          content:
                            application/json:
                              schema: {{$ref: '#/components/schemas/Node'}}
                    get:
                      responses:
                        '200':
                          description: ok
                          content:
                            application/json:
                              schema: {{$ref: '#/components/schemas/Loop'}}
                components:
                  schemas:
                    Node:
                      type: object
                      properties:
                        children: {{type: array, items: {{$ref: '#/components/schemas/Node'}}}}
                        {node_fields}
                    Loop:
                      allOf:
                        - $ref: '#/components/schemas/Loop'
                        - {{properties: {{next: {{$ref: '#/components/schemas/Loop'}}}}}}
                "#
            ))
        };
        let old = spec("label: {type: string}");
        assert_eq!(diff(&old, &old), SpecDiff::default());
        let d = diff(&old, &spec("title: {type: string}"));
        assert_eq!(
            found(&d),
            [(
                BreakingKind::RemovedResponseField,
                "response 200 application/json: label"
            )]
        );
    }

    #[test]
    fn identical_specs_give_an_empty_diff() {
        let spec = oas(r#"
            paths:
              /pets/{id}:
                parameters:
                  - {name: id, in: path, required: true, schema: {type: integer}}
                get:
                  parameters:
                    - {name: fields, in: query, required: true, schema: {type: array, items: {type: string, enum: [a, b]}}}
                  responses:
                    '200':
                      description: ok
                      content:
                        application/json:
                          schema: {$ref: '#/components/schemas/Pet'}
                put:
                  requestBody:
                    required: true
                    content:
                      application/json:
                        schema: {$ref: '#/components/schemas/Pet'}
                  responses: {'204': {description: ok}}
            components:
              schemas:
                Pet:
                  type: object
                  required: [name]
                  properties:
                    name: {type: string}
                    kind: {type: string, enum: [cat, dog], nullable: true}
                    tags: {type: array, items: {type: string}}
        "#);
        assert_eq!(diff(&spec, &spec), SpecDiff::default());
    }

    #[test]
    fn the_petstore_fixture_against_itself_is_empty_and_edits_to_it_are_found() {
        let bytes = std::fs::read("/work/shared/fixtures/specs/oai_petstore-expanded.yaml")
            .expect("the fixture");
        let (spec, _) = super::super::openapi::parse(&bytes, 1 << 20).expect("the fixture parses");
        assert_eq!(diff(&spec, &spec), SpecDiff::default());

        // The same comparison finds an edit, so the empty result above is not for want of
        // operations or fields.
        let mut edited = spec.clone();
        let paths = edited["paths"].as_object_mut().expect("paths");
        paths["/pets/{id}"]
            .as_object_mut()
            .expect("path item")
            .remove("delete");
        edited["components"]["schemas"]["NewPet"]["properties"]
            .as_object_mut()
            .expect("properties")
            .remove("tag");
        let d = diff(&spec, &edited);
        assert_eq!(d.removed, [op("DELETE", "/pets/{id}", "")]);
        assert_eq!(
            found(&d),
            [
                (
                    BreakingKind::RemovedResponseField,
                    "response 200 application/json: [].tag"
                ),
                (
                    BreakingKind::RemovedResponseField,
                    "response 200 application/json: tag"
                ),
                (BreakingKind::RemovedOperation, "operation"),
                (
                    BreakingKind::RemovedResponseField,
                    "response 200 application/json: tag"
                ),
            ]
        );
    }

    #[test]
    fn malformed_documents_count_as_empty_and_never_panic() {
        let odd = [
            json!(null),
            json!([]),
            json!({"openapi": "3.0.0", "paths": 5}),
            json!({"openapi": "3.0.0", "paths": {"/a": 1, "/b": {"get": "x", "post": {}}}}),
            json!({"openapi": "3.1.0", "paths": {"/a/{": {"parameters": "x", "get": {
                "parameters": [1, {"in": "query"}, {"name": "q", "in": "query", "required": true, "schema": 3}],
                "requestBody": {"$ref": "#/nowhere"},
                "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/a/b"}}}}, "2": 5}
            }}}}),
            json!({"swagger": "2.0", "paths": {"/a": {"get": {
                "parameters": [{"in": "body", "name": "b", "schema": {"type": ["x", 1], "properties": []}}],
                "produces": "json",
                "responses": {"200": {"schema": {"items": {"$ref": "#"}}}}
            }}}}),
        ];
        for old in &odd {
            for new in &odd {
                let _ = diff(old, new);
            }
        }
        assert_eq!(
            diff(&json!(null), &json!({"paths": 5})),
            SpecDiff::default()
        );
    }
}
