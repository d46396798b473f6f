//! Checking rendered HTML the way a browser would read it.

use scraper::Html;

const FORBIDDEN_ELEMENTS: &[&str] = &[
    "script", "style", "iframe", "object", "embed", "svg", "math", "form", "meta", "base", "link",
    "frame", "frameset", "template", "noscript", "applet", "audio", "video", "button", "textarea",
    "select",
];
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "xlink:href",
    "data",
    "poster",
    "srcset",
    "background",
];

/// Everything in the parsed document that could run code or restyle the page.
pub fn dangers(html: &str) -> Vec<String> {
    let doc = Html::parse_fragment(html);
    let mut found = Vec::new();
    for node in doc.tree.nodes() {
        let Some(el) = node.value().as_element() else {
            continue;
        };
        let name = el.name();
        if FORBIDDEN_ELEMENTS.contains(&name) {
            found.push(format!("<{name}>"));
        }
        for (attr, value) in el.attrs() {
            let attr = attr.to_ascii_lowercase();
            if attr.starts_with("on") {
                found.push(format!("{name}[{attr}]"));
            }
            if attr == "style" {
                found.push(format!("{name}[style]"));
            }
            if URL_ATTRIBUTES.contains(&attr.as_str()) {
                let squashed: String = value
                    .chars()
                    .filter(|c| !c.is_whitespace() && !c.is_control())
                    .collect::<String>()
                    .to_ascii_lowercase();
                for scheme in ["javascript:", "data:", "vbscript:", "file:"] {
                    if squashed.starts_with(scheme) {
                        found.push(format!("{name}[{attr}={value}]"));
                    }
                }
            }
            if name == "input" && attr == "type" && value != "checkbox" {
                found.push(format!("input[type={value}]"));
            }
        }
    }
    found
}
