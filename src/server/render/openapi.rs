//! The OpenAPI reference, rendered once at publish time. Reads OpenAPI 3.0 and 3.1 (JSON or
//! YAML) and Swagger 2.0, checks every local `$ref` first (a broken one is reported with where it
//! is, and nothing is published), then writes one HTML document: operations grouped by tag with
//! their parameters, request bodies and responses as schema trees (`$ref`s resolved, `allOf`
//! merged, `oneOf`/`anyOf` and discriminators shown, cycles marked and never followed), examples,
//! security requirements, deprecation, callbacks and webhooks, and a curl example each. Spec
//! strings are escaped; Markdown descriptions are rendered and sanitized.

use super::highlight::{escape, highlight_json};
use crate::model::TocEntry;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::rc::Rc;

/// Bodies larger than this are refused unless configured otherwise.
pub const DEFAULT_MAX_SPEC_BYTES: usize = 20 * 1024 * 1024;
/// Schema trees deeper than this are cut with an ellipsis.
const MAX_SCHEMA_DEPTH: usize = 12;
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Something wrong with a spec, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecProblem {
    /// A JSON pointer (`/paths/~1pets/get`), a line and column, or empty for the whole file.
    pub location: String,
    pub message: String,
}

impl std::fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.location.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.location, self.message)
        }
    }
}

fn problem(location: impl Into<String>, message: impl Into<String>) -> SpecProblem {
    SpecProblem {
        location: location.into(),
        message: message.into(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Swagger2,
    OpenApi30,
    OpenApi31,
}

impl Flavor {
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::Swagger2 => "swagger-2.0",
            Flavor::OpenApi30 => "openapi-3.0",
            Flavor::OpenApi31 => "openapi-3.1",
        }
    }
}

/// One operation, for navigation and search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperationIndex {
    pub anchor: String,
    pub method: String,
    pub path: String,
    pub summary: String,
    pub operation_id: Option<String>,
    pub tag: String,
}

/// One named schema, for navigation and search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaIndex {
    pub anchor: String,
    pub name: String,
}

pub struct Reference {
    pub flavor: Flavor,
    pub title: String,
    pub html: String,
    pub toc: Vec<TocEntry>,
    pub operations: Vec<OperationIndex>,
    pub schemas: Vec<SchemaIndex>,
    /// The parsed document, for what else publishing needs from it (the version diff).
    pub document: Value,
}

/// What the reference needs from around the spec.
pub struct Context<'a> {
    /// The API environment's base URL for curl examples; the spec's first server otherwise.
    pub base_url: Option<&'a str>,
    pub max_bytes: usize,
}

/// Reads a spec: size, encoding, JSON or YAML, and which OpenAPI it is.
pub fn parse(bytes: &[u8], max_bytes: usize) -> Result<(Value, Flavor), SpecProblem> {
    if bytes.len() > max_bytes {
        return Err(problem(
            "",
            format!(
                "the file is {} MB; the limit is {} MB",
                bytes.len().div_ceil(1024 * 1024),
                max_bytes / (1024 * 1024)
            ),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        problem(
            format!("byte {}", e.valid_up_to()),
            "the file is not valid UTF-8",
        )
    })?;
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let value: Value = if trimmed.starts_with('{') {
        serde_json::from_str(trimmed).map_err(|e| {
            problem(
                format!("line {}, column {}", e.line(), e.column()),
                format!("invalid JSON: {e}"),
            )
        })?
    } else {
        super::yaml::parse(trimmed).map_err(|e| {
            problem(
                e.location().unwrap_or_default(),
                format!("invalid YAML: {e}"),
            )
        })?
    };
    let flavor = match (
        value.get("openapi").and_then(Value::as_str),
        value.get("swagger").and_then(Value::as_str),
    ) {
        (Some(v), _) if v.starts_with("3.0") => Flavor::OpenApi30,
        (Some(v), _) if v.starts_with("3.1") => Flavor::OpenApi31,
        (_, Some("2.0")) => Flavor::Swagger2,
        (Some(v), _) => {
            return Err(problem(
                "/openapi",
                format!("OpenAPI {v:.20} is not supported (3.0, 3.1 or Swagger 2.0)"),
            ));
        }
        _ => {
            return Err(problem(
                "",
                "this is not an OpenAPI document: no \"openapi\" or \"swagger\" version",
            ));
        }
    };
    if !value.is_object() {
        return Err(problem("", "an OpenAPI document is an object"));
    }
    Ok((value, flavor))
}

fn pointer_escape(key: &str) -> Cow<'_, str> {
    if key.contains(['~', '/']) {
        Cow::Owned(key.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(key)
    }
}

/// The target of a local `$ref`, following chains (bounded).
pub(super) fn resolve<'a>(
    root: &'a Value,
    value: &'a Value,
) -> Option<(Option<&'a str>, &'a Value)> {
    let mut current = value;
    let mut name = None;
    for _ in 0..32 {
        match current.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let pointer = r.strip_prefix('#')?;
                let pointer = percent_decode(pointer);
                current = pointer_target(root, &pointer)?;
                name = r.rsplit('/').next();
            }
            None => return Some((name, current)),
        }
    }
    None
}

/// The value a JSON pointer names, as `Value::pointer` finds it, without that function's two
/// string copies per step: `~` escapes are undone only in steps that have them (a spec's
/// thousands of `$ref`s are resolved on every publish).
fn pointer_target<'a>(root: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        return Some(root);
    }
    let mut target = root;
    for step in pointer.strip_prefix('/')?.split('/') {
        let step: Cow<'_, str> = if step.contains('~') {
            Cow::Owned(step.replace("~1", "/").replace("~0", "~"))
        } else {
            Cow::Borrowed(step)
        };
        target = match target {
            Value::Object(map) => map.get(step.as_ref())?,
            // An index as RFC 6901 spells it: digits, no sign, no leading zero.
            Value::Array(items) => {
                let digits = step.as_bytes();
                if digits.is_empty()
                    || !digits.iter().all(u8::is_ascii_digit)
                    || (digits[0] == b'0' && digits.len() > 1)
                {
                    return None;
                }
                items.get(step.parse::<usize>().ok()?)?
            }
            _ => return None,
        };
    }
    Some(target)
}

fn percent_decode(text: &str) -> Cow<'_, str> {
    if !text.contains('%') {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // Two hex digits, read as bytes: slicing the text there could cut a character.
        let hex = |at: usize| bytes.get(at).and_then(|&b| char::from(b).to_digit(16));
        if bytes[i] == b'%'
            && let (Some(high), Some(low)) = (hex(i + 1), hex(i + 2))
        {
            out.push((high * 16 + low) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Every `$ref` in the document must point inside it, at something that exists.
pub fn check_refs(root: &Value) -> Vec<SpecProblem> {
    /// Where a node is, as its parent and the step from it; the JSON pointer is spelled out only
    /// for a problem, not for each of the document's nodes.
    enum Step<'a> {
        Key(&'a str),
        Index(usize),
    }
    fn pointer(trail: &[(usize, Step<'_>)], mut at: usize) -> String {
        let mut steps = Vec::new();
        while at != 0 {
            let (parent, step) = &trail[at];
            steps.push(match step {
                Step::Key(k) => pointer_escape(k).into_owned(),
                Step::Index(i) => i.to_string(),
            });
            at = *parent;
        }
        steps.iter().rev().fold(String::new(), |mut out, s| {
            out.push('/');
            out.push_str(s);
            out
        })
    }
    let mut problems = Vec::new();
    let mut trail: Vec<(usize, Step<'_>)> = vec![(0, Step::Index(0))];
    let mut stack: Vec<(&Value, usize)> = vec![(root, 0)];
    while let Some((value, at)) = stack.pop() {
        match value {
            Value::Object(map) => {
                if let Some(r) = map.get("$ref") {
                    let here = || format!("{}/$ref", pointer(&trail, at));
                    match r.as_str() {
                        Some(r) if r.starts_with("#/") || r == "#" => {
                            if pointer_target(root, &percent_decode(&r[1..])).is_none() {
                                problems.push(problem(
                                    here(),
                                    format!("unresolvable $ref '{}'", r.chars().take(200).collect::<String>()),
                                ));
                            }
                        }
                        Some(r) => problems.push(problem(
                            here(),
                            format!(
                                "external $ref '{}' is not supported; bundle the spec into one file",
                                r.chars().take(200).collect::<String>()
                            ),
                        )),
                        None => problems.push(problem(here(), "$ref must be a string")),
                    }
                }
                for (k, v) in map {
                    if matches!(v, Value::Object(_) | Value::Array(_)) {
                        trail.push((at, Step::Key(k)));
                        stack.push((v, trail.len() - 1));
                    }
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    if matches!(v, Value::Object(_) | Value::Array(_)) {
                        trail.push((at, Step::Index(i)));
                        stack.push((v, trail.len() - 1));
                    }
                }
            }
            _ => {}
        }
        if problems.len() >= 50 {
            break;
        }
    }
    problems.sort_by(|a, b| a.location.cmp(&b.location));
    problems
}

/// Parses, checks and renders a spec.
pub fn render(bytes: &[u8], ctx: &Context<'_>) -> Result<Reference, Vec<SpecProblem>> {
    let (root, flavor) = parse(bytes, ctx.max_bytes).map_err(|p| vec![p])?;
    let problems = check_refs(&root);
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut r = Renderer {
        root: &root,
        flavor,
        out: String::with_capacity(bytes.len() * 2),
        toc: Vec::new(),
        operations: Vec::new(),
        schemas: Vec::new(),
        anchors: HashSet::new(),
        rendered: HashMap::new(),
        expanded: HashMap::new(),
        base_url: ctx
            .base_url
            .map(str::to_owned)
            .or_else(|| server_url(&root, flavor)),
    };
    let title = r.render_all();
    let Renderer {
        out: html,
        toc,
        operations,
        schemas,
        ..
    } = r;
    Ok(Reference {
        flavor,
        title,
        html,
        toc,
        operations,
        schemas,
        document: root,
    })
}

/// The anchor of a reference's first part: the API's title, version, description and base URL.
pub const OVERVIEW: &str = "overview";

/// One part of a rendered reference, shown as a page of its own: the overview, one tag's
/// operations, the webhooks or the schemas, with its entries of the navigation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub anchor: String,
    pub title: String,
    /// Its level-2 entry and that entry's operations or schemas (none for the overview).
    pub nav: Vec<TocEntry>,
    pub html: String,
}

/// Splits a reference as [`render`] wrote it into parts: the overview, then one for each level-2
/// entry of `toc` (each is a `<div class="ref-tag">` of its own). A link to an anchor in another
/// part becomes a link to that part (`?section=…#anchor`), so every part stands alone. HTML of
/// another shape (not written by this renderer) stays one part.
pub fn sections(html: &str, toc: &[TocEntry]) -> Vec<Section> {
    let whole = || {
        vec![Section {
            anchor: OVERVIEW.to_owned(),
            title: "Overview".to_owned(),
            nav: toc.to_vec(),
            html: html.to_owned(),
        }]
    };
    if !toc.is_empty() && toc[0].level != 2 {
        // Entries before the first part would belong to none.
        return whole();
    }
    // Where each level-2 entry's part starts: (its index in `toc`, byte offset), in order.
    let mut starts: Vec<(usize, usize)> = Vec::new();
    let mut from = 0;
    for (i, entry) in toc.iter().enumerate().filter(|(_, e)| e.level == 2) {
        let marker = format!("<div class=\"ref-tag\"><h2 id=\"{}\">", entry.id);
        let Some(at) = html[from..].find(&marker) else {
            return whole();
        };
        starts.push((i, from + at));
        from += at + marker.len();
    }
    let mut parts = vec![Section {
        anchor: OVERVIEW.to_owned(),
        title: "Overview".to_owned(),
        nav: Vec::new(),
        html: html[..starts.first().map_or(html.len(), |s| s.1)].to_owned(),
    }];
    for (k, &(i, start)) in starts.iter().enumerate() {
        let (next_entry, end) = starts
            .get(k + 1)
            .copied()
            .unwrap_or((toc.len(), html.len()));
        parts.push(Section {
            anchor: toc[i].id.clone(),
            title: toc[i].title.clone(),
            nav: toc[i..next_entry].to_vec(),
            html: html[start..end].to_owned(),
        });
    }
    let home: HashMap<String, String> = parts
        .iter()
        .flat_map(|p| p.nav.iter().map(|e| (e.id.clone(), p.anchor.clone())))
        .collect();
    for part in &mut parts {
        part.html = relink(&part.html, &part.anchor, &home);
    }
    parts
}

/// `href="#id"` for an anchor of another part becomes `href="?section=part#id"`.
fn relink(html: &str, here: &str, home: &HashMap<String, String>) -> String {
    const LINK: &str = "href=\"#";
    let mut out = String::with_capacity(html.len() + 64);
    let mut rest = html;
    while let Some(at) = rest.find(LINK) {
        let after = &rest[at + LINK.len()..];
        let id_end = after.find('"').unwrap_or(after.len());
        let id = &after[..id_end];
        out.push_str(&rest[..at]);
        match home.get(id) {
            Some(part) if part != here => {
                let _ = write!(out, "href=\"?section={part}#{id}");
            }
            _ => {
                out.push_str(LINK);
                out.push_str(id);
            }
        }
        rest = &after[id_end..];
    }
    out.push_str(rest);
    out
}

fn server_url(root: &Value, flavor: Flavor) -> Option<String> {
    match flavor {
        Flavor::Swagger2 => {
            let host = root.get("host").and_then(Value::as_str)?;
            let scheme = root
                .get("schemes")
                .and_then(Value::as_array)
                .and_then(|s| s.first())
                .and_then(Value::as_str)
                .unwrap_or("https");
            let base = root.get("basePath").and_then(Value::as_str).unwrap_or("");
            Some(format!("{scheme}://{host}{}", base.trim_end_matches('/')))
        }
        _ => {
            let server = root.get("servers")?.as_array()?.first()?;
            let mut url = server.get("url")?.as_str()?.to_owned();
            if let Some(vars) = server.get("variables").and_then(Value::as_object) {
                for (name, var) in vars {
                    if let Some(default) = var.get("default").and_then(Value::as_str) {
                        url = url.replace(&format!("{{{name}}}"), default);
                    }
                }
            }
            Some(url.trim_end_matches('/').to_owned())
        }
    }
}

fn schema_map(root: &Value, flavor: Flavor) -> Option<&Map<String, Value>> {
    match flavor {
        Flavor::Swagger2 => root.get("definitions")?.as_object(),
        _ => root.get("components")?.get("schemas")?.as_object(),
    }
}

fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out
        .trim_end_matches('-')
        .chars()
        .take(80)
        .collect::<String>();
    if out.is_empty() { "x".into() } else { out }
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(nonblank)
}

/// A string with something in it.
fn nonblank(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| !s.trim().is_empty())
}

/// Markdown from the spec, rendered and made safe. Everything else in the reference is written
/// here with every spec string escaped, so descriptions are the only HTML an author controls.
/// The sanitizer runs only where the author wrote raw HTML or a link with a scheme other than
/// http, https or mailto; Markdown alone produces escaped text and nothing else.
fn markdown(source: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    let plain = !source.trim().contains([
        '*', '_', '[', ']', '<', '>', '&', '`', '#', '|', '~', '!', '\n', '\\', '-', '+',
    ]);
    if plain {
        return format!("<p>{}</p>", escape(source.trim()));
    }
    let events: Vec<Event<'_>> = Parser::new_ext(
        source,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .collect();
    let risky = events.iter().any(|e| match e {
        Event::Html(_) | Event::InlineHtml(_) => true,
        Event::Start(Tag::Link { dest_url, .. }) | Event::Start(Tag::Image { dest_url, .. }) => {
            !safe_url(dest_url)
        }
        _ => false,
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    if risky {
        super::markdown::sanitize_fragment(&html)
    } else {
        html
    }
}

/// A relative URL, or one with an http, https or mailto scheme.
fn safe_url(url: &str) -> bool {
    let url = url.trim_start();
    match url.find([':', '/', '?', '#']) {
        Some(i) if url.as_bytes()[i] == b':' => {
            matches!(
                url[..i].to_ascii_lowercase().as_str(),
                "http" | "https" | "mailto"
            )
        }
        _ => !url.chars().any(char::is_control),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

struct Renderer<'a> {
    root: &'a Value,
    flavor: Flavor,
    out: String,
    toc: Vec<TocEntry>,
    operations: Vec<OperationIndex>,
    schemas: Vec<SchemaIndex>,
    anchors: HashSet<String>,
    base_url: Option<String>,
    /// Descriptions rendered once: the same schema's descriptions recur in every operation
    /// that uses it.
    rendered: HashMap<String, Rc<str>>,
    /// Named schemas expanded so far, by depth, `$ref` and the refs above (see `schema`).
    expanded: HashMap<String, Box<str>>,
}

impl<'a> Renderer<'a> {
    /// A Markdown description as sanitized HTML, rendered once per distinct text.
    fn md(&mut self, source: &str) -> Rc<str> {
        if let Some(html) = self.rendered.get(source) {
            return html.clone();
        }
        let html: Rc<str> = markdown(source).into();
        self.rendered.insert(source.to_owned(), html.clone());
        html
    }

    fn anchor(&mut self, base: String) -> String {
        let mut id = base.clone();
        let mut n = 2;
        while self.anchors.contains(&id) {
            id = format!("{base}-{n}");
            n += 1;
        }
        self.anchors.insert(id.clone());
        id
    }

    fn render_all(&mut self) -> String {
        let root = self.root;
        let info = root.get("info").cloned().unwrap_or(Value::Null);
        let title = text(&info, "title").unwrap_or("API").to_owned();
        let _ = write!(
            self.out,
            "<header class=\"ref-info\"><h1>{}</h1><p class=\"ref-version\">{} · {}</p>",
            escape(&title),
            escape(text(&info, "version").unwrap_or("")),
            match self.flavor {
                Flavor::Swagger2 => "Swagger 2.0",
                Flavor::OpenApi30 => "OpenAPI 3.0",
                Flavor::OpenApi31 => "OpenAPI 3.1",
            }
        );
        if let Some(d) = text(&info, "description") {
            let html = self.md(d);
            let _ = write!(self.out, "<div class=\"ref-description\">{}</div>", html);
        }
        if let Some(base) = &self.base_url {
            let _ = write!(self.out, "<p>Base URL: <code>{}</code></p>", escape(base));
        }
        self.out.push_str("</header>");

        // Operations by tag: the spec's declared tag order first, then the rest as met.
        let mut tag_order: Vec<String> = root
            .get("tags")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(|t| text(t, "name").map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let mut ops: Vec<(String, &str, &str, &Value, &Value)> = Vec::new();
        if let Some(paths) = root.get("paths").and_then(Value::as_object) {
            for (path, item) in paths {
                let Some((_, item)) = resolve(root, item) else {
                    continue;
                };
                for method in METHODS {
                    if let Some(op) = item.get(method).filter(|o| o.is_object()) {
                        let tag = op
                            .get("tags")
                            .and_then(Value::as_array)
                            .and_then(|t| t.first())
                            .and_then(Value::as_str)
                            .unwrap_or("Other")
                            .to_owned();
                        if !tag_order.contains(&tag) {
                            tag_order.push(tag.clone());
                        }
                        ops.push((tag, method, path.as_str(), item, op));
                    }
                }
            }
        }
        for tag in &tag_order {
            let in_tag: Vec<_> = ops.iter().filter(|(t, ..)| t == tag).collect();
            if in_tag.is_empty() {
                continue;
            }
            let tag_id = self.anchor(format!("tag-{}", slug(tag)));
            self.toc.push(TocEntry {
                level: 2,
                id: tag_id.clone(),
                title: tag.clone(),
            });
            let _ = write!(
                self.out,
                "<div class=\"ref-tag\"><h2 id=\"{tag_id}\">{}</h2>",
                escape(tag)
            );
            let tag_description = root
                .get("tags")
                .and_then(Value::as_array)
                .and_then(|t| t.iter().find(|t| text(t, "name") == Some(tag)))
                .and_then(|t| text(t, "description"));
            if let Some(d) = tag_description {
                let html = self.md(d);
                let _ = write!(self.out, "<div class=\"ref-description\">{}</div>", html);
            }
            for (tag, method, path, item, op) in in_tag {
                self.operation(method, path, item, op, tag, "op", 3, true);
            }
            self.out.push_str("</div>");
        }

        if let Some(hooks) = root
            .get("webhooks")
            .and_then(Value::as_object)
            .filter(|h| !h.is_empty())
        {
            let id = self.anchor("webhooks".into());
            self.toc.push(TocEntry {
                level: 2,
                id: id.clone(),
                title: "Webhooks".into(),
            });
            let _ = write!(
                self.out,
                "<div class=\"ref-tag\"><h2 id=\"{id}\">Webhooks</h2>"
            );
            for (name, item) in hooks {
                let Some((_, item)) = resolve(root, item) else {
                    continue;
                };
                for method in METHODS {
                    if let Some(op) = item.get(method).filter(|o| o.is_object()) {
                        self.operation(method, name, item, op, "Webhooks", "webhook", 3, false);
                    }
                }
            }
            self.out.push_str("</div>");
        }

        if let Some(schemas) = schema_map(root, self.flavor).filter(|s| !s.is_empty()) {
            let id = self.anchor("schemas".into());
            self.toc.push(TocEntry {
                level: 2,
                id: id.clone(),
                title: "Schemas".into(),
            });
            let _ = write!(
                self.out,
                "<div class=\"ref-tag\"><h2 id=\"{id}\">Schemas</h2>"
            );
            for (name, schema) in schemas {
                let id = self.anchor(format!("schema-{}", slug(name)));
                self.schemas.push(SchemaIndex {
                    anchor: id.clone(),
                    name: name.clone(),
                });
                self.toc.push(TocEntry {
                    level: 3,
                    id: id.clone(),
                    title: name.clone(),
                });
                let _ = write!(
                    self.out,
                    "<div class=\"ref-schema\"><h3 id=\"{id}\">{}</h3>",
                    escape(name)
                );
                let mut stack = vec![schema_ref(self.flavor, name)];
                // Starting one level down: a schema's own entry links to the schemas it uses.
                self.schema(schema, 1, &mut stack);
                self.out.push_str("</div>");
            }
            self.out.push_str("</div>");
        }
        title
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one call site per kind of operation"
    )]
    fn operation(
        &mut self,
        method: &str,
        path: &str,
        item: &Value,
        op: &Value,
        tag: &str,
        prefix: &str,
        level: u8,
        indexed: bool,
    ) {
        let op_id = text(op, "operationId");
        let base = match op_id {
            Some(id) => format!("{prefix}-{}", slug(id)),
            None => format!("{prefix}-{method}-{}", slug(path)),
        };
        let anchor = self.anchor(base);
        let summary = text(op, "summary").unwrap_or("").to_owned();
        let upper = method.to_ascii_uppercase();
        self.toc.push(TocEntry {
            level,
            id: anchor.clone(),
            title: format!("{upper} {path}"),
        });
        if indexed {
            self.operations.push(OperationIndex {
                anchor: anchor.clone(),
                method: upper.clone(),
                path: path.to_owned(),
                summary: summary.clone(),
                operation_id: op_id.map(str::to_owned),
                tag: tag.to_owned(),
            });
        }
        let deprecated = op.get("deprecated").and_then(Value::as_bool) == Some(true);
        let _ = write!(
            self.out,
            "<div class=\"ref-op\"><h{level} id=\"{anchor}\"><span class=\"ref-method method-{method}\">{upper}</span> <code class=\"ref-path\">{}</code>{}<a class=\"anchor\" href=\"#{anchor}\" aria-label=\"Link to this operation\">#</a></h{level}>",
            escape(path),
            if deprecated {
                " <span class=\"ref-deprecated\">Deprecated</span>"
            } else {
                ""
            }
        );
        if !summary.is_empty() {
            let _ = write!(
                self.out,
                "<p class=\"ref-summary\">{}</p>",
                escape(&summary)
            );
        }
        if let Some(d) = text(op, "description") {
            let html = self.md(d);
            let _ = write!(self.out, "<div class=\"ref-description\">{}</div>", html);
        }
        self.security(op);
        let params = self.parameters(item, op);
        self.request_body(op, &params);
        self.responses(op);
        self.callbacks(op);
        self.curl(&upper, path, op, &params);
        self.out.push_str("</div>");
    }

    /// Path-level parameters overridden by the operation's, `$ref`s resolved.
    fn parameters<'v>(&mut self, item: &'v Value, op: &'v Value) -> Vec<&'v Value>
    where
        'a: 'v,
    {
        let root = self.root;
        let mut params: Vec<&Value> = Vec::new();
        for list in [item.get("parameters"), op.get("parameters")] {
            for p in list.and_then(Value::as_array).into_iter().flatten() {
                let Some((_, p)) = resolve(root, p) else {
                    continue;
                };
                let key = (text(p, "name"), text(p, "in"));
                params.retain(|q| (text(q, "name"), text(q, "in")) != key);
                params.push(p);
            }
        }
        let shown: Vec<&Value> = params
            .iter()
            .copied()
            .filter(|p| !matches!(text(p, "in"), Some("body") | Some("formData")))
            .collect();
        if !shown.is_empty() {
            self.out.push_str("<h4 class=\"ref-h\">Parameters</h4><table class=\"ref-params\"><thead><tr><th>Name</th><th>In</th><th>Type</th><th>Description</th></tr></thead><tbody>");
            for p in shown {
                let required = p.get("required").and_then(Value::as_bool) == Some(true);
                // 3.x keeps the type in `schema`; 2.0 on the parameter itself.
                let schema = p.get("schema").unwrap_or(p);
                let _ = write!(
                    self.out,
                    "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>",
                    escape(text(p, "name").unwrap_or("?")),
                    if required {
                        " <span class=\"ref-required\">required</span>"
                    } else {
                        ""
                    },
                    escape(text(p, "in").unwrap_or("")),
                    escape(&self.type_label(schema)),
                );
                if p.get("deprecated").and_then(Value::as_bool) == Some(true) {
                    self.out
                        .push_str("<span class=\"ref-deprecated\">Deprecated</span> ");
                }
                if let Some(d) = text(p, "description") {
                    let html = self.md(d);
                    self.out.push_str(&html);
                }
                self.constraints(schema);
                self.out.push_str("</td></tr>");
            }
            self.out.push_str("</tbody></table>");
        }
        params
    }

    fn request_body(&mut self, op: &Value, params: &[&Value]) {
        let root = self.root;
        match self.flavor {
            Flavor::Swagger2 => {
                let consumes = media_types(op, root, "consumes");
                if let Some(body) = params.iter().find(|p| text(p, "in") == Some("body")) {
                    self.out.push_str("<h4 class=\"ref-h\">Request body</h4>");
                    let _ = write!(
                        self.out,
                        "<p class=\"ref-media\">{}</p>",
                        escape(&consumes.join(", "))
                    );
                    if let Some(d) = text(body, "description") {
                        let html = self.md(d);
                        self.out.push_str(&html);
                    }
                    if let Some(s) = body.get("schema") {
                        let mut stack = Vec::new();
                        self.schema(s, 0, &mut stack);
                    }
                }
                let form: Vec<&&Value> = params
                    .iter()
                    .filter(|p| text(p, "in") == Some("formData"))
                    .collect();
                if !form.is_empty() {
                    self.out
                        .push_str("<h4 class=\"ref-h\">Form fields</h4><ul class=\"ref-props\">");
                    for f in form {
                        let _ = write!(
                            self.out,
                            "<li><code>{}</code> <span class=\"ref-type\">{}</span></li>",
                            escape(text(f, "name").unwrap_or("?")),
                            escape(&self.type_label(f))
                        );
                    }
                    self.out.push_str("</ul>");
                }
            }
            _ => {
                let Some(body) = op.get("requestBody") else {
                    return;
                };
                let Some((_, body)) = resolve(root, body) else {
                    return;
                };
                let required = body.get("required").and_then(Value::as_bool) == Some(true);
                let _ = write!(
                    self.out,
                    "<h4 class=\"ref-h\">Request body{}</h4>",
                    if required {
                        " <span class=\"ref-required\">required</span>"
                    } else {
                        ""
                    }
                );
                if let Some(d) = text(body, "description") {
                    let html = self.md(d);
                    self.out.push_str(&html);
                }
                self.content(body.get("content"), 0);
            }
        }
    }

    /// Media types with their schema trees and examples (3.x).
    /// `depth` 0 expands a named schema one level; 2 shows it as a link to its entry.
    fn content(&mut self, content: Option<&Value>, depth: usize) {
        let Some(content) = content.and_then(Value::as_object) else {
            return;
        };
        for (media, m) in content {
            let _ = write!(
                self.out,
                "<div class=\"ref-content\"><p class=\"ref-media\">{}</p>",
                escape(media)
            );
            if let Some(s) = m.get("schema") {
                let mut stack = Vec::new();
                self.schema(s, depth, &mut stack);
            }
            let mut examples: Vec<(String, &Value)> = Vec::new();
            if let Some(e) = m.get("example") {
                examples.push(("Example".into(), e));
            }
            for (name, e) in m
                .get("examples")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if let Some((_, e)) = resolve(self.root, e)
                    && let Some(v) = e.get("value")
                {
                    examples.push((text(e, "summary").unwrap_or(name).to_owned(), v));
                }
            }
            for (label, value) in examples.into_iter().take(5) {
                let _ = write!(
                    self.out,
                    "<p class=\"ref-example-label\">{}</p>",
                    escape(&label)
                );
                let body = match value {
                    Value::String(s) => s.clone(),
                    other => pretty(other),
                };
                self.out.push_str(&highlight_json(&body));
            }
            self.out.push_str("</div>");
        }
    }

    fn responses(&mut self, op: &Value) {
        let root = self.root;
        let Some(responses) = op.get("responses").and_then(Value::as_object) else {
            return;
        };
        self.out
            .push_str("<h4 class=\"ref-h\">Responses</h4><div class=\"ref-responses\">");
        let produces = media_types(op, root, "produces");
        for (status, response) in responses {
            let Some((_, response)) = resolve(root, response) else {
                continue;
            };
            let class = match status.chars().next() {
                Some('2') => "ok",
                Some('3') => "redirect",
                Some('4') | Some('5') => "error",
                _ => "other",
            };
            let _ = write!(
                self.out,
                "<div class=\"ref-response\"><p><span class=\"ref-status status-{class}\">{}</span> {}</p>",
                escape(status),
                escape(text(response, "description").unwrap_or(""))
            );
            match self.flavor {
                Flavor::Swagger2 => {
                    if let Some(s) = response.get("schema") {
                        let _ = write!(
                            self.out,
                            "<p class=\"ref-media\">{}</p>",
                            escape(&produces.join(", "))
                        );
                        let mut stack = Vec::new();
                        self.schema(s, 0, &mut stack);
                    }
                    for (media, e) in response
                        .get("examples")
                        .and_then(Value::as_object)
                        .into_iter()
                        .flatten()
                    {
                        let _ = write!(
                            self.out,
                            "<p class=\"ref-example-label\">{}</p>",
                            escape(media)
                        );
                        self.out.push_str(&highlight_json(&pretty(e)));
                    }
                }
                // Error shapes repeat across operations: linked to their schema, not copied.
                _ => self.content(
                    response.get("content"),
                    if class == "error" || status == "default" {
                        2
                    } else {
                        0
                    },
                ),
            }
            self.out.push_str("</div>");
        }
        self.out.push_str("</div>");
    }

    fn security(&mut self, op: &Value) {
        let requirements = op.get("security").or_else(|| self.root.get("security"));
        let Some(reqs) = requirements.and_then(Value::as_array) else {
            return;
        };
        if reqs.is_empty()
            || reqs
                .iter()
                .all(|r| r.as_object().is_some_and(Map::is_empty))
        {
            self.out
                .push_str("<p class=\"ref-security\">No authentication required.</p>");
            return;
        }
        self.out.push_str("<p class=\"ref-security\">Requires ");
        let alternatives: Vec<String> = reqs
            .iter()
            .filter_map(Value::as_object)
            .filter(|r| !r.is_empty())
            .map(|r| {
                r.iter()
                    .map(|(scheme, scopes)| {
                        let scopes: Vec<String> = scopes
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .map(|s| format!("<code class=\"ref-scope\">{}</code>", escape(s)))
                            .collect();
                        if scopes.is_empty() {
                            escape(scheme).into_owned()
                        } else {
                            format!("{} ({})", escape(scheme), scopes.join(", "))
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" and ")
            })
            .collect();
        self.out.push_str(&alternatives.join(" <em>or</em> "));
        self.out.push_str(".</p>");
    }

    fn callbacks(&mut self, op: &Value) {
        let Some(callbacks) = op.get("callbacks").and_then(Value::as_object) else {
            return;
        };
        for (name, cb) in callbacks {
            let Some((_, cb)) = resolve(self.root, cb) else {
                continue;
            };
            let _ = write!(
                self.out,
                "<div class=\"ref-callback\"><h4 class=\"ref-h\">Callback: {}</h4>",
                escape(name)
            );
            for (expression, item) in cb.as_object().into_iter().flatten() {
                let Some((_, item)) = resolve(self.root, item) else {
                    continue;
                };
                for method in METHODS {
                    if let Some(cop) = item.get(method).filter(|o| o.is_object()) {
                        let _ = write!(
                            self.out,
                            "<p><span class=\"ref-method method-{method}\">{}</span> <code>{}</code> {}</p>",
                            method.to_ascii_uppercase(),
                            escape(expression),
                            escape(text(cop, "summary").unwrap_or(""))
                        );
                        if let Some(body) =
                            cop.get("requestBody").and_then(|b| resolve(self.root, b))
                        {
                            self.content(body.1.get("content"), 0);
                        }
                    }
                }
            }
            self.out.push_str("</div>");
        }
    }

    fn curl(&mut self, method: &str, path: &str, op: &Value, params: &[&Value]) {
        let base = self
            .base_url
            .clone()
            .unwrap_or_else(|| "https://api.example.com".into());
        let query: Vec<String> = params
            .iter()
            .filter(|p| {
                text(p, "in") == Some("query")
                    && p.get("required").and_then(Value::as_bool) == Some(true)
            })
            .filter_map(|p| text(p, "name"))
            .map(|n| format!("{n}={{{n}}}"))
            .collect();
        let url = if query.is_empty() {
            format!("{base}{path}")
        } else {
            format!("{base}{path}?{}", query.join("&"))
        };
        let mut cmd =
            format!("curl -X {method} '{url}' \\\n  -H 'Authorization: Bearer $GATEHOUSE_API_KEY'");
        let json_body = op
            .get("requestBody")
            .and_then(|b| resolve(self.root, b))
            .and_then(|(_, b)| b.get("content")?.get("application/json"))
            .and_then(|m| {
                m.get("example").cloned().or_else(|| {
                    m.get("examples")?
                        .as_object()?
                        .values()
                        .next()
                        .and_then(|e| resolve(self.root, e))
                        .and_then(|(_, e)| e.get("value").cloned())
                })
            });
        if let Some(body) = json_body {
            let body = serde_json::to_string(&body)
                .unwrap_or_default()
                .replace('\'', "'\\''");
            let _ = write!(
                cmd,
                " \\\n  -H 'Content-Type: application/json' \\\n  -d '{body}'"
            );
        }
        self.out
            .push_str("<details class=\"ref-curl\"><summary>curl</summary>");
        let _ = write!(
            self.out,
            "<pre class=\"code\"><code class=\"language-bash\">{}</code></pre>",
            escape(&cmd)
        );
        self.out.push_str("</details>");
    }

    /// A short type for tables: `string (date-time)`, `array of Pet`, `Pet`.
    fn type_label(&self, schema: &Value) -> String {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            return r.rsplit('/').next().unwrap_or(r).to_owned();
        }
        let ty = match schema.get("type") {
            Some(Value::String(t)) => t.clone(),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" | "),
            _ if schema.get("oneOf").is_some() => "one of".into(),
            _ if schema.get("anyOf").is_some() => "any of".into(),
            _ if schema.get("allOf").is_some() => "object".into(),
            _ => "any".into(),
        };
        let ty = if ty == "array" {
            match schema.get("items") {
                Some(items) => format!("array of {}", self.type_label(items)),
                None => "array".into(),
            }
        } else {
            ty
        };
        match text(schema, "format") {
            Some(f) => format!("{ty} ({f})"),
            None => ty,
        }
    }

    fn constraints(&mut self, schema: &Value) {
        // One pass over the schema's few keys, not a lookup per constraint: most properties of
        // a large spec state one or two (an example, a format's limits).
        let Some(object) = schema.as_object() else {
            return;
        };
        let mut values = None;
        let mut numbers: [Option<&Value>; NUMBER_CONSTRAINTS.len()] = Default::default();
        let (mut pattern, mut default, mut example) = (None, None, None);
        let mut flags = [false; FLAG_CONSTRAINTS.len()];
        for (key, value) in object {
            let key = key.as_str();
            match key {
                "enum" => values = value.as_array(),
                "pattern" => pattern = nonblank(value),
                "default" => default = Some(value),
                "example" => example = Some(value),
                _ => {
                    if let Some(i) = NUMBER_CONSTRAINTS.iter().position(|(name, _)| *name == key) {
                        numbers[i] = Some(value).filter(|v| v.is_number());
                    } else if let Some(i) = FLAG_CONSTRAINTS.iter().position(|name| *name == key) {
                        flags[i] = value.as_bool() == Some(true);
                    }
                }
            }
        }
        // Written straight into the page, joined by " · ", in a fixed order; the paragraph is
        // dropped again when nothing was shown.
        let opened = self.out.len();
        self.out.push_str("<p class=\"ref-constraints\">");
        let body = self.out.len();
        let separate = |out: &mut String| {
            if out.len() > body {
                out.push_str(" · ");
            }
        };
        if let Some(values) = values {
            separate(&mut self.out);
            self.out.push_str("one of ");
            for (i, v) in values.iter().take(20).enumerate() {
                if i > 0 {
                    self.out.push_str(", ");
                }
                let _ = write!(self.out, "<code>{}</code>", escape(&v.to_string()));
            }
            if values.len() > 20 {
                self.out.push_str(", …");
            }
        }
        for ((_, label), v) in NUMBER_CONSTRAINTS.iter().zip(numbers) {
            if let Some(v) = v {
                separate(&mut self.out);
                let _ = write!(self.out, "{label} {v}");
            }
        }
        if let Some(p) = pattern {
            separate(&mut self.out);
            let _ = write!(self.out, "pattern <code>{}</code>", escape(p));
        }
        if let Some(d) = default {
            separate(&mut self.out);
            let _ = write!(self.out, "default <code>{}</code>", escape(&d.to_string()));
        }
        if let Some(e) = example {
            separate(&mut self.out);
            let shown = e.to_string();
            let cut = shown
                .char_indices()
                .nth(200)
                .map_or(shown.len(), |(at, _)| at);
            let _ = write!(self.out, "example <code>{}</code>", escape(&shown[..cut]));
        }
        for (flag, set) in FLAG_CONSTRAINTS.iter().zip(flags) {
            if set {
                separate(&mut self.out);
                self.out.push_str(flag);
            }
        }
        if self.out.len() == body {
            self.out.truncate(opened);
        } else {
            self.out.push_str("</p>");
        }
    }

    /// A schema as a tree. `stack` holds the `$ref`s being expanded, so a cycle is marked
    /// instead of followed.
    fn schema(&mut self, schema: &Value, depth: usize, stack: &mut Vec<String>) {
        if depth > MAX_SCHEMA_DEPTH {
            self.out.push_str("<p class=\"ref-more\">…</p>");
            return;
        }
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let name = r.rsplit('/').next().unwrap_or(r).to_owned();
            if stack.iter().any(|s| s == r) {
                let _ = write!(
                    self.out,
                    "<p class=\"ref-cycle\">↻ <a href=\"#schema-{}\">{}</a> (circular, not expanded)</p>",
                    slug(&name),
                    escape(&name)
                );
                return;
            }
            // A named schema met inside another is a link to its own entry under Schemas, not
            // a second copy: pages stay small and every tree is still one click away.
            if depth >= 2 {
                let _ = write!(
                    self.out,
                    "<p class=\"ref-type-line\"><a class=\"ref-ref\" href=\"#schema-{}\">{}</a></p>",
                    slug(&name),
                    escape(&name)
                );
                return;
            }
            let Some((_, target)) = resolve(self.root, schema) else {
                return;
            };
            // The tree below a named schema is the same wherever it is expanded from the same
            // depth and the same refs above it, and carries no ids: a schema that many
            // operations use is written out once and copied.
            let mut key = format!("{depth} {r}");
            for above in stack.iter() {
                key.push('\n');
                key.push_str(above);
            }
            if let Some(html) = self.expanded.get(&key) {
                self.out.push_str(html);
                return;
            }
            let start = self.out.len();
            let _ = write!(
                self.out,
                "<div class=\"ref-schema-ref\"><a class=\"ref-ref\" href=\"#schema-{}\">{}</a>",
                slug(&name),
                escape(&name)
            );
            stack.push(r.to_owned());
            self.schema(target, depth + 1, stack);
            stack.pop();
            self.out.push_str("</div>");
            self.expanded.insert(key, self.out[start..].into());
            return;
        }
        if let Some(d) =
            text(schema, "description").filter(|_| depth > 0 || schema.get("properties").is_none())
        {
            let html = self.md(d);
            let _ = write!(self.out, "<div class=\"ref-description\">{}</div>", html);
        }
        if schema.get("deprecated").and_then(Value::as_bool) == Some(true) {
            self.out
                .push_str("<p><span class=\"ref-deprecated\">Deprecated</span></p>");
        }
        for (key, label) in [("oneOf", "One of"), ("anyOf", "Any of")] {
            if let Some(variants) = schema.get(key).and_then(Value::as_array) {
                let _ = write!(self.out, "<div class=\"ref-variants\"><p>{label}</p>");
                if let Some(p) = schema
                    .get("discriminator")
                    .and_then(|d| text(d, "propertyName"))
                {
                    let _ = write!(
                        self.out,
                        "<p>Discriminated by <code>{}</code></p>",
                        escape(p)
                    );
                }
                self.out.push_str("<ol>");
                for v in variants {
                    self.out.push_str("<li>");
                    self.schema(v, depth + 1, stack);
                    self.out.push_str("</li>");
                }
                self.out.push_str("</ol></div>");
            }
        }
        let merged;
        let schema = if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            merged = self.merge_all_of(schema, parts, stack);
            &merged
        } else {
            schema
        };
        let ty = self.type_label(schema);
        let properties = schema.get("properties").and_then(Value::as_object);
        if properties.is_none() && schema.get("items").is_none() {
            let _ = write!(
                self.out,
                "<p class=\"ref-type-line\"><span class=\"ref-type\">{}</span></p>",
                escape(&ty)
            );
            self.constraints(schema);
        }
        if let Some(items) = schema.get("items") {
            let _ = write!(
                self.out,
                "<p class=\"ref-type-line\"><span class=\"ref-type\">{}</span></p>",
                escape(&ty)
            );
            self.constraints(schema);
            if items.get("$ref").is_some()
                || items.get("properties").is_some()
                || items.get("allOf").is_some()
            {
                self.out.push_str("<div class=\"ref-nested\">");
                self.schema(items, depth + 1, stack);
                self.out.push_str("</div>");
            }
        }
        if let Some(props) = properties {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            self.out.push_str("<ul class=\"ref-props\">");
            for (name, prop) in props {
                let _ = write!(
                    self.out,
                    "<li><code class=\"ref-prop\">{}</code> <span class=\"ref-type\">{}</span>{}",
                    escape(name),
                    escape(&self.type_label(prop)),
                    if required.contains(&name.as_str()) {
                        " <span class=\"ref-required\">required</span>"
                    } else {
                        ""
                    }
                );
                if let Some(d) = text(prop, "description") {
                    let html = self.md(d);
                    self.out.push_str(&html);
                }
                self.constraints(prop);
                let nested = prop.get("$ref").is_some()
                    || prop.get("properties").is_some()
                    || prop.get("allOf").is_some()
                    || prop.get("oneOf").is_some()
                    || prop.get("anyOf").is_some()
                    || prop
                        .get("items")
                        .is_some_and(|i| i.get("$ref").is_some() || i.get("properties").is_some());
                if nested {
                    self.out.push_str("<div class=\"ref-nested\">");
                    self.schema(prop, depth + 1, stack);
                    self.out.push_str("</div>");
                }
                self.out.push_str("</li>");
            }
            self.out.push_str("</ul>");
        }
        if let Some(extra) = schema.get("additionalProperties").filter(|v| v.is_object()) {
            let _ = write!(
                self.out,
                "<p>Other properties: <span class=\"ref-type\">{}</span></p>",
                escape(&self.type_label(extra))
            );
        }
    }

    /// `allOf` merged into one object schema: properties, required and the first type.
    fn merge_all_of(&self, base: &Value, parts: &[Value], stack: &[String]) -> Value {
        let mut merged = Map::new();
        let mut properties = Map::new();
        let mut required: Vec<Value> = Vec::new();
        let mut pending: Vec<(&Value, usize)> = parts.iter().map(|p| (p, 0)).collect();
        let mut seen: Vec<String> = stack.to_vec();
        while let Some((part, hops)) = pending.pop() {
            if hops > 16 {
                continue;
            }
            let part = match part.get("$ref").and_then(Value::as_str) {
                Some(r) if seen.iter().any(|s| s == r) => continue,
                Some(r) => {
                    seen.push(r.to_owned());
                    match resolve(self.root, part) {
                        Some((_, t)) => t,
                        None => continue,
                    }
                }
                None => part,
            };
            if let Some(nested) = part.get("allOf").and_then(Value::as_array) {
                pending.extend(nested.iter().map(|p| (p, hops + 1)));
            }
            if let Some(p) = part.get("properties").and_then(Value::as_object) {
                for (k, v) in p {
                    properties.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            if let Some(r) = part.get("required").and_then(Value::as_array) {
                required.extend(r.iter().cloned());
            }
            for key in ["type", "description", "discriminator"] {
                if let Some(v) = part.get(key) {
                    merged.entry(key.to_owned()).or_insert_with(|| v.clone());
                }
            }
        }
        if let Some(obj) = base.as_object() {
            for (k, v) in obj {
                if k != "allOf" {
                    merged.insert(k.clone(), v.clone());
                }
            }
        }
        if let Some(Value::Object(p)) = base.get("properties") {
            for (k, v) in p {
                properties.insert(k.clone(), v.clone());
            }
        }
        merged.insert("properties".into(), Value::Object(properties));
        merged.insert("required".into(), Value::Array(required));
        merged
            .entry("type".to_owned())
            .or_insert(Value::String("object".into()));
        Value::Object(merged)
    }
}

/// What [`Renderer::constraints`] shows of a schema besides `enum`, `pattern`, `default` and
/// `example`: numeric limits with their labels…
const NUMBER_CONSTRAINTS: [(&str, &str); 9] = [
    ("minimum", "≥"),
    ("maximum", "≤"),
    ("exclusiveMinimum", ">"),
    ("exclusiveMaximum", "<"),
    ("minLength", "min length"),
    ("maxLength", "max length"),
    ("minItems", "min items"),
    ("maxItems", "max items"),
    ("multipleOf", "multiple of"),
];
/// …and flags shown when true.
const FLAG_CONSTRAINTS: [&str; 4] = ["readOnly", "writeOnly", "nullable", "uniqueItems"];

fn schema_ref(flavor: Flavor, name: &str) -> String {
    match flavor {
        Flavor::Swagger2 => format!("#/definitions/{}", pointer_escape(name)),
        _ => format!("#/components/schemas/{}", pointer_escape(name)),
    }
}

/// Swagger 2.0's `consumes` / `produces`, from the operation or the document.
fn media_types(op: &Value, root: &Value, key: &str) -> Vec<String> {
    op.get(key)
        .or_else(|| root.get(key))
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
