//! The OpenAPI reference: every fixture spec publishes with all its operations, and hostile specs
//! get a clear report instead of a crash, a hang or a memory blow-up.

mod common;

use common::html::dangers;
use gatehouse::server::render::openapi::{self, Context, DEFAULT_MAX_SPEC_BYTES};
use serde_json::Value;

fn ctx() -> Context<'static> {
    Context {
        base_url: Some("https://api.example.com/v1"),
        max_bytes: DEFAULT_MAX_SPEC_BYTES,
    }
}

/// Operations the spec declares, counted from the spec itself.
fn declared_operations(bytes: &[u8]) -> usize {
    let (value, _) = openapi::parse(bytes, usize::MAX).unwrap();
    let methods = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    value
        .get("paths")
        .and_then(Value::as_object)
        .map(|paths| {
            paths
                .values()
                .map(|item| methods.iter().filter(|m| item.get(**m).is_some()).count())
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn every_fixture_spec_publishes_with_all_its_operations() {
    let dir = format!("{}/demo/fixtures/specs", env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let name = path.display().to_string();
        let reference = openapi::render(&bytes, &ctx())
            .unwrap_or_else(|problems| panic!("{name}: {problems:?}"));
        let declared = declared_operations(&bytes);
        assert_eq!(reference.operations.len(), declared, "{name}");
        let doc = scraper::Html::parse_fragment(&reference.html);
        let ops = scraper::Selector::parse("div.ref-op > h3[id^=\"op-\"]").unwrap();
        assert_eq!(
            doc.select(&ops).count(),
            declared,
            "{name}: operations in the HTML"
        );
        for op in &reference.operations {
            assert!(
                reference.toc.iter().any(|t| t.id == op.anchor),
                "{name}: {op:?} not in nav"
            );
        }
        assert!(
            dangers(&reference.html).is_empty(),
            "{name}: {:?}",
            dangers(&reference.html)
        );
        seen += 1;
    }
    assert_eq!(seen, 8);
}

/// Every fixture's reference splits into parts that stand alone: the overview, then one part per
/// tag (and webhooks, schemas) holding exactly its own operations; every anchor in exactly one
/// part; every link between parts leads to an element of the part it names; nothing lost.
#[test]
fn every_fixture_reference_splits_into_parts_that_stand_alone() {
    let dir = format!("{}/demo/fixtures/specs", env!("CARGO_MANIFEST_DIR"));
    let ids = scraper::Selector::parse("[id]").unwrap();
    let links = scraper::Selector::parse("a[href]").unwrap();
    let mut cross_links = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.display().to_string();
        let reference = openapi::render(&std::fs::read(&path).unwrap(), &ctx()).unwrap();
        let parts = openapi::sections(&reference.html, &reference.toc);
        assert_eq!(parts[0].anchor, openapi::OVERVIEW, "{name}");
        assert!(parts[0].html.contains("ref-info"), "{name}");
        let groups = reference.toc.iter().filter(|e| e.level == 2).count();
        assert_eq!(
            parts.len(),
            groups + 1,
            "{name}: a part per tag, webhooks, schemas"
        );
        // Every navigation entry in exactly one part, in the order of the whole.
        let entries: Vec<&str> = parts
            .iter()
            .flat_map(|p| p.nav.iter().map(|e| e.id.as_str()))
            .collect();
        let whole: Vec<&str> = reference.toc.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(entries, whole, "{name}");
        let elements: Vec<std::collections::HashSet<String>> = parts
            .iter()
            .map(|p| {
                scraper::Html::parse_fragment(&p.html)
                    .select(&ids)
                    .filter_map(|e| e.value().attr("id").map(str::to_owned))
                    .collect()
            })
            .collect();
        for (part, found) in parts.iter().zip(&elements) {
            for e in &part.nav {
                assert!(
                    found.contains(&e.id),
                    "{name}: #{} is not in its part {}",
                    e.id,
                    part.anchor
                );
            }
        }
        // Links: within the part, or to another part that has the element.
        for (part, found) in parts.iter().zip(&elements) {
            let doc = scraper::Html::parse_fragment(&part.html);
            for link in doc.select(&links) {
                let href = link.value().attr("href").unwrap();
                if let Some(id) = href.strip_prefix('#') {
                    assert!(
                        found.contains(id) || !reference.toc.iter().any(|e| e.id == id),
                        "{name}: {href} in {} points to another part without saying so",
                        part.anchor
                    );
                } else if let Some(rest) = href.strip_prefix("?section=") {
                    let (target, id) = rest.split_once('#').unwrap();
                    let at = parts
                        .iter()
                        .position(|p| p.anchor == target)
                        .unwrap_or_else(|| panic!("{name}: no part {target}"));
                    assert!(elements[at].contains(id), "{name}: {href}");
                    assert_ne!(target, part.anchor, "{name}");
                    cross_links += 1;
                }
            }
        }
        // The parts together are the whole, only links rewritten.
        let total: usize = parts.iter().map(|p| p.html.len()).sum();
        assert!(total >= reference.html.len(), "{name}");
        let plain = |h: &str| h.replace("?section=", "").len();
        assert!(
            plain(&parts.iter().map(|p| p.html.as_str()).collect::<String>())
                >= reference.html.len()
        );
    }
    assert!(
        cross_links > 0,
        "schemas are linked from operations in other parts"
    );
}

#[test]
fn a_reference_not_in_the_renderers_shape_stays_one_part() {
    let toc = vec![gatehouse::model::TocEntry {
        level: 2,
        id: "tag-pets".into(),
        title: "pets".into(),
    }];
    let parts = openapi::sections("<p>Something else</p>", &toc);
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].html, "<p>Something else</p>");
    assert_eq!(parts[0].nav, toc);
}

#[test]
fn swagger_2_and_openapi_3_details_are_shown() {
    let read = |f: &str| {
        std::fs::read(format!(
            "{}/demo/fixtures/specs/{f}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    let uber = openapi::render(&read("oai_v2.0_uber.yaml"), &ctx()).unwrap();
    assert_eq!(uber.flavor.as_str(), "swagger-2.0");
    assert!(uber.html.contains("ref-params"), "parameters table");
    assert!(uber.schemas.iter().any(|s| s.name == "Product"));
    let pets = openapi::render(&read("oai_petstore-expanded.yaml"), &ctx()).unwrap();
    assert!(pets.html.contains("allOf") || pets.html.contains("ref-props"));
    let doc = scraper::Html::parse_fragment(&pets.html);
    let curls: Vec<String> = doc
        .select(&scraper::Selector::parse(".ref-curl").unwrap())
        .map(|e| e.text().collect())
        .collect();
    assert_eq!(
        curls.len(),
        pets.operations.len(),
        "a curl example per operation"
    );
    assert!(
        curls[0].contains("curl -X GET 'https://api.example.com/v1/pets"),
        "{}",
        curls[0]
    );
    let hooks = openapi::render(&read("oai_webhook-example.json"), &ctx()).unwrap();
    assert_eq!(hooks.flavor.as_str(), "openapi-3.1");
    assert!(hooks.toc.iter().any(|t| t.title == "Webhooks"));
    let callbacks = openapi::render(&read("oai_callback-example.yaml"), &ctx()).unwrap();
    assert!(callbacks.html.contains("Callback:"));
}

#[test]
fn cycles_are_marked_and_never_followed() {
    let spec = r##"{"openapi": "3.0.3", "info": {"title": "T", "version": "1"},
      "paths": {"/nodes": {"get": {"responses": {"200": {"description": "ok",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}}}}},
      "components": {"schemas": {
        "Node": {"type": "object", "properties": {
          "parent": {"$ref": "#/components/schemas/Node"},
          "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
          "pair": {"allOf": [{"$ref": "#/components/schemas/A"}]}}},
        "A": {"allOf": [{"$ref": "#/components/schemas/B"}]},
        "B": {"allOf": [{"$ref": "#/components/schemas/A"}], "properties": {"b": {"type": "string"}}}}}}"##;
    let reference = openapi::render(spec.as_bytes(), &ctx()).unwrap();
    assert!(reference.html.contains("circular"), "{}", reference.html);
}

#[test]
fn broken_specs_are_reported_with_where_the_problem_is() {
    let unresolvable = r##"{"openapi": "3.0.0", "info": {"title": "T", "version": "1"}, "paths": {"/pets": {"get": {
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Missing"}}}}}}}}}"##;
    let problems = openapi::render(unresolvable.as_bytes(), &ctx())
        .err()
        .unwrap();
    assert_eq!(
        problems[0].location,
        "/paths/~1pets/get/responses/200/content/application~1json/schema/$ref"
    );
    assert!(problems[0].message.contains("#/components/schemas/Missing"));

    let external = r##"{"openapi": "3.0.0", "info": {"title": "T", "version": "1"}, "paths": {"/a": {"$ref": "other.yaml#/a"}}}"##;
    let problems = openapi::render(external.as_bytes(), &ctx()).err().unwrap();
    assert!(problems[0].message.contains("external $ref"));

    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"openapi: 3.0.0\ninfo: [unclosed\n".to_vec(),
            "invalid YAML",
        ),
        (b"{\"openapi\": \"3.0.0\",".to_vec(), "invalid JSON"),
        (
            b"openapi: 2.5.0\ninfo: {title: T, version: '1'}\n".to_vec(),
            "not supported",
        ),
        (
            b"title: just some yaml\n".to_vec(),
            "not an OpenAPI document",
        ),
        (vec![b'{', 0xff, 0xfe, b'}'], "not valid UTF-8"),
    ];
    for (bytes, message) in cases {
        let problems = openapi::render(&bytes, &ctx()).err().unwrap();
        assert!(
            problems[0].to_string().contains(message),
            "{message}: {problems:?}"
        );
    }
}

#[test]
fn hostile_specs_are_refused_without_crashing_or_blowing_up() {
    // Too large: refused before parsing, with the limit named; the limit is configurable.
    let big = vec![b' '; 50 * 1024 * 1024];
    let problems = openapi::render(&big, &ctx()).err().unwrap();
    assert!(
        problems[0].message.contains("limit is 20 MB"),
        "{problems:?}"
    );
    let small = Context {
        base_url: None,
        max_bytes: 1024,
    };
    let problems = openapi::render(&[b' '; 2048], &small).err().unwrap();
    assert!(problems[0].message.contains("limit"));

    // 10,000-deep nesting, in JSON and in YAML.
    let deep_json = format!(
        "{{\"openapi\": \"3.0.0\", \"x\": {}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let problems = openapi::render(deep_json.as_bytes(), &ctx()).err().unwrap();
    assert!(
        problems[0].message.contains("recursion limit"),
        "{problems:?}"
    );
    let deep_yaml = format!(
        "openapi: 3.0.0\nx: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let problems = openapi::render(deep_yaml.as_bytes(), &ctx()).err().unwrap();
    assert!(problems[0].message.contains("invalid YAML"), "{problems:?}");

    // A YAML alias bomb ("billion laughs"): refused, without expanding it.
    let mut bomb = String::from(
        "openapi: 3.0.0\na0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        bomb.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 9].join(",")));
    }
    let started = std::time::Instant::now();
    let problems = openapi::render(bomb.as_bytes(), &ctx()).err().unwrap();
    assert!(problems[0].message.contains("invalid YAML"), "{problems:?}");
    // Not a timing assertion on the product: a guard so an expanding bomb fails instead of
    // running for minutes.
    assert!(started.elapsed().as_secs() < 30);
}

#[test]
fn hostile_strings_in_a_spec_come_out_inert() {
    let spec = r##"{"openapi": "3.0.0",
      "info": {"title": "<script>alert(1)</script>", "version": "1", "description": "<img src=x onerror=alert(1)> [x](javascript:alert(1))"},
      "tags": [{"name": "<svg onload=alert(1)>", "description": "<iframe src=javascript:alert(1)>"}],
      "paths": {"/a\"><script>alert(1)</script>": {"get": {"tags": ["<svg onload=alert(1)>"],
        "summary": "<b onmouseover=alert(1)>x</b>", "operationId": "\"><img src=x onerror=alert(1)>",
        "responses": {"200": {"description": "<style>*{display:none}</style>"}}}}}}"##;
    let reference = openapi::render(spec.as_bytes(), &ctx()).unwrap();
    assert!(
        dangers(&reference.html).is_empty(),
        "{:?}\n{}",
        dangers(&reference.html),
        reference.html
    );
    assert_eq!(reference.operations.len(), 1);
}

#[test]
fn a_schemas_constraints_are_listed_and_a_schema_without_any_shows_none() {
    let spec = serde_json::json!({
        "openapi": "3.0.3",
        "info": { "title": "Limits", "version": "1" },
        "paths": {},
        "components": { "schemas": {
            "Name": {
                "type": "string", "minLength": 2, "maxLength": 40, "pattern": "^[a-z]+$",
                "enum": ["ada", "bob"], "readOnly": true, "example": "ada"
            },
            "Count": { "type": "integer", "minimum": 0, "nullable": true, "default": 1 },
            "Plain": { "type": "string", "description": "Nothing to limit." }
        } }
    });
    let reference = openapi::render(spec.to_string().as_bytes(), &ctx()).unwrap();
    let html = &reference.html;
    assert_eq!(
        html.matches("class=\"ref-constraints\"").count(),
        2,
        "{html}"
    );
    for shown in [
        "one of <code>&quot;ada&quot;</code>, <code>&quot;bob&quot;</code>",
        "min length 2",
        "max length 40",
        "pattern <code>^[a-z]+$</code>",
        "example <code>&quot;ada&quot;</code>",
        "readOnly",
        "≥ 0",
        "default <code>1</code>",
        "nullable",
    ] {
        assert!(html.contains(shown), "{shown} missing from {html}");
    }
}

#[test]
fn refs_follow_json_pointer_escapes_and_array_indexes() {
    let spec = serde_json::json!({
        "openapi": "3.0.3",
        "info": { "title": "Pointers", "version": "1" },
        "paths": { "/things": { "get": { "responses": { "200": { "description": "ok",
            "content": { "application/json": { "schema": {
                "type": "object",
                "properties": {
                    "escaped": { "$ref": "#/components/schemas/a~1b~0c" },
                    "second": { "$ref": "#/components/schemas/Pair/oneOf/1" }
                }
            } } } } } } } },
        "components": { "schemas": {
            "a/b~c": { "type": "object", "properties": { "slashTilde": { "type": "string" } } },
            "Pair": { "oneOf": [
                { "type": "object", "properties": { "firstOne": { "type": "string" } } },
                { "type": "object", "properties": { "secondOne": { "type": "integer" } } }
            ] }
        } }
    });
    let reference = openapi::render(spec.to_string().as_bytes(), &ctx()).unwrap();
    let operation = &reference.html[..reference.html.find("id=\"schemas\"").unwrap()];
    assert!(operation.contains("slashTilde"), "{operation}");
    assert!(operation.contains("secondOne"), "{operation}");
    assert!(!operation.contains("firstOne"), "{operation}");
    // Percent-escapes in the fragment are decoded before the pointer is followed.
    let mut encoded = spec.clone();
    encoded["paths"]["/things"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        ["properties"]["second"] =
        serde_json::json!({ "$ref": "#/components/schemas/Pair/oneOf/%31" });
    let reference = openapi::render(encoded.to_string().as_bytes(), &ctx()).unwrap();
    assert!(reference.html.contains("secondOne"));

    // RFC 6901 indexes are digits without a sign or a leading zero; "~" alone is no escape.
    for bad in [
        "Pair/oneOf/01",
        "Pair/oneOf/+1",
        "Pair/oneOf/2",
        "Pair/oneOf/x",
        "a~2b~0c",
        // A percent sign before characters that are not two hex digits, some of them more
        // than one byte: no escape, and no panic cutting a character in two.
        "Pair/oneOf/%aé",
        "Pair/oneOf/%€",
        "Pair%4",
    ] {
        let mut broken = spec.clone();
        broken["components"]["schemas"]["Uses"] =
            serde_json::json!({ "$ref": format!("#/components/schemas/{bad}") });
        let problems = openapi::render(broken.to_string().as_bytes(), &ctx())
            .err()
            .unwrap_or_else(|| panic!("{bad} resolved"));
        assert!(
            problems[0].message.contains("unresolvable $ref"),
            "{bad}: {problems:?}"
        );
    }
}

#[test]
fn a_schema_used_by_many_operations_is_expanded_alike_in_each() {
    let body = |schema: Value| {
        serde_json::json!({ "responses": { "200": { "description": "ok",
            "content": { "application/json": { "schema": schema } } } } })
    };
    let spec = serde_json::json!({
        "openapi": "3.0.3",
        "info": { "title": "Shared", "version": "1" },
        "paths": {
            "/a": { "get": body(serde_json::json!({ "$ref": "#/components/schemas/Pet" })) },
            "/b": { "get": body(serde_json::json!({ "$ref": "#/components/schemas/Pet" })) },
            "/c": { "get": body(serde_json::json!({ "type": "object",
                "properties": { "pet": { "$ref": "#/components/schemas/Pet" } } })) }
        },
        "components": { "schemas": {
            "Pet": { "allOf": [ { "$ref": "#/components/schemas/Named" } ],
                "properties": { "petTag": { "type": "string", "maxLength": 8 },
                    "owner": { "$ref": "#/components/schemas/Owner" } } },
            "Named": { "type": "object", "properties": { "petName": { "type": "string" } } },
            "Owner": { "type": "object", "properties": { "ownerName": { "type": "string" },
                "pets": { "type": "array", "items": { "$ref": "#/components/schemas/Pet" } } } }
        } }
    });
    let reference = openapi::render(spec.to_string().as_bytes(), &ctx()).unwrap();
    let html = &reference.html;
    let operation = |path: &str| {
        let start = html
            .find(&format!("<code class=\"ref-path\">{path}</code>"))
            .unwrap();
        let rest = &html[start..];
        let end = ["<div class=\"ref-op\">", "<div class=\"ref-tag\">"]
            .iter()
            .filter_map(|next| rest.find(next))
            .min()
            .map_or(html.len(), |e| start + e);
        &html[start..end]
    };
    let tree = |op: &str| {
        let start = op.find("<div class=\"ref-schema-ref\">").unwrap();
        let end = op.find("<details class=\"ref-curl\">").unwrap();
        op[start..end].to_owned()
    };
    let (a, b, c) = (operation("/a"), operation("/b"), operation("/c"));
    // The merged allOf and its limits, in both operations, the very same tree.
    for shown in [
        "petName",
        "petTag",
        "max length 8",
        "href=\"#schema-owner\"",
    ] {
        assert!(a.contains(shown), "{shown} missing from {a}");
    }
    assert_eq!(tree(a), tree(b));
    // One level further down, Pet is expanded again, and the schema it links stays a link.
    assert!(
        c.contains("petName") && c.contains("href=\"#schema-owner\""),
        "{c}"
    );
    assert!(!c.contains("ownerName"), "{c}");
}
