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
