//! Markdown to stored HTML, once, at publish time: CommonMark with GitHub's extensions (tables,
//! footnotes, strikethrough, task lists), headings with stable ids and a table of contents, code
//! highlighted into CSS classes (light and dark themes live in the stylesheet), links between
//! guides rewritten to Gatehouse's pages, and everything the author wrote sanitized: no script,
//! event handler, `javascript:` or `data:` URL, `style` or foreign id survives.

use super::highlight::highlight;
use crate::model::TocEntry;
use pulldown_cmark::{CodeBlockKind, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use std::collections::{HashMap, HashSet};

/// Where relative links in a guide point.
pub struct Links<'a> {
    /// The API the guide belongs to.
    pub api_slug: &'a str,
    /// Guide file names (`auth.md`) and their slugs, for links between guides.
    pub guides: &'a HashMap<String, String>,
}

pub struct Rendered {
    pub html: String,
    pub toc: Vec<TocEntry>,
    /// The document's plain text by section, for the search index.
    pub sections: Vec<Section>,
}

/// The plain text under one heading (or before the first, with no id).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Section {
    pub id: Option<String>,
    pub heading: String,
    pub text: String,
}

/// Keeps at most this much text per section for the index.
const SECTION_TEXT_LIMIT: usize = 4096;
/// A document is indexed by at most this many sections; the rest of its text counts towards the
/// last one (which is full by then).
pub const MAX_SECTIONS: usize = 500;

fn push_text(sections: &mut [Section], text: &str) {
    let Some(section) = sections.last_mut() else {
        return;
    };
    let room = SECTION_TEXT_LIMIT.saturating_sub(section.text.len() + 1);
    if room == 0 {
        return;
    }
    if !section.text.is_empty() && !section.text.ends_with(' ') {
        section.text.push(' ');
    }
    let text = text.trim();
    let mut end = text.len().min(room);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    section.text.push_str(&text[..end]);
}

/// Ids the page around the document uses; a heading never takes one.
const RESERVED_IDS: &[&str] = &["main", "leptos", "app", "search", "content"];

/// GitHub-style heading slugs: lowercase letters and digits, dashes between words.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if (c == ' ' || c == '-' || c == '_') && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').chars().take(80).collect::<String>();
    if out.is_empty() {
        "section".into()
    } else {
        out
    }
}

/// Heading ids in use, and for each base the next suffix to try, so that many headings with the
/// same text cost linear time, not quadratic.
#[derive(Default)]
struct Ids {
    taken: HashSet<String>,
    next: HashMap<String, usize>,
}

fn unique(base: String, ids: &mut Ids) -> String {
    let mut n = ids.next.get(&base).copied().unwrap_or(0);
    let mut id = if n == 0 {
        base.clone()
    } else {
        format!("{base}-{n}")
    };
    while ids.taken.contains(&id) || RESERVED_IDS.contains(&id.as_str()) {
        n += 1;
        id = format!("{base}-{n}");
    }
    ids.next.insert(base, n + 1);
    ids.taken.insert(id.clone());
    id
}

fn level(h: HeadingLevel) -> u8 {
    match h {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// A relative link to another guide (`auth.md#tokens`) becomes that guide's page; other relative
/// files become the API's assets. Absolute URLs and fragments stay as they are (the sanitizer
/// decides which schemes survive).
fn rewrite(url: &str, links: &Links<'_>) -> String {
    let is_absolute = url.contains(':') || url.starts_with("//") || url.starts_with('/');
    if url.is_empty() || url.starts_with('#') || is_absolute {
        return url.to_owned();
    }
    let (path, fragment) = match url.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (url, None),
    };
    let file = path.trim_start_matches("./");
    let file_name = file.rsplit('/').next().unwrap_or(file);
    let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
    match links.guides.get(file_name) {
        Some(guide) => format!("/apis/{}/guides/{guide}{fragment}", links.api_slug),
        None => format!("/apis/{}/assets/{file}{fragment}", links.api_slug),
    }
}

pub fn render(source: &str, links: &Links<'_>) -> Rendered {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM;
    let mut ids = Ids::default();
    let mut toc = Vec::new();
    let mut events: Vec<Event<'_>> = Vec::new();
    // A heading's or code block's events are gathered, then emitted as one HTML event.
    let mut heading: Option<(u8, Vec<Event<'_>>)> = None;
    let mut code: Option<(Option<String>, String)> = None;
    let mut sections = vec![Section::default()];

    for event in Parser::new_ext(source, options) {
        if heading.is_none()
            && let Event::Text(t) | Event::Code(t) = &event
        {
            push_text(&mut sections, t);
        }
        match event {
            Event::Start(Tag::Heading { level: h, .. }) => heading = Some((level(h), Vec::new())),
            Event::End(TagEnd::Heading(_)) => {
                let Some((n, inner)) = heading.take() else {
                    continue;
                };
                let text: String = inner
                    .iter()
                    .filter_map(|e| match e {
                        Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
                        _ => None,
                    })
                    .collect();
                let id = unique(slug(&text), &mut ids);
                if sections.len() < MAX_SECTIONS {
                    sections.push(Section {
                        id: Some(id.clone()),
                        heading: text.trim().chars().take(200).collect(),
                        text: String::new(),
                    });
                }
                let mut body = String::new();
                pulldown_cmark::html::push_html(&mut body, inner.into_iter());
                if (2..=3).contains(&n) {
                    toc.push(TocEntry {
                        level: n,
                        id: id.clone(),
                        title: text.trim().to_owned(),
                    });
                }
                events.push(Event::Html(CowStr::from(format!(
                    "<h{n} id=\"{id}\">{body}<a class=\"anchor\" href=\"#{id}\" aria-label=\"Link to this section\">#</a></h{n}>\n"
                ))));
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split([' ', ',', '{'])
                        .next()
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned),
                    CodeBlockKind::Indented => None,
                };
                code = Some((lang, String::new()));
            }
            Event::End(TagEnd::CodeBlock) => {
                let Some((lang, text)) = code.take() else {
                    continue;
                };
                events.push(Event::Html(CowStr::from(highlight(&text, lang.as_deref()))));
            }
            Event::Text(t) if code.is_some() => {
                if let Some((_, buf)) = code.as_mut() {
                    buf.push_str(&t);
                }
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let e = Event::Start(Tag::Link {
                    link_type,
                    dest_url: CowStr::from(rewrite(&dest_url, links)),
                    title,
                    id,
                });
                push(&mut heading, &mut events, e);
            }
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let e = Event::Start(Tag::Image {
                    link_type,
                    dest_url: CowStr::from(rewrite(&dest_url, links)),
                    title,
                    id,
                });
                push(&mut heading, &mut events, e);
            }
            other => push(&mut heading, &mut events, other),
        }
    }
    let mut html = String::with_capacity(source.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    sections.retain(|s| s.id.is_some() || !s.text.is_empty());
    Rendered {
        html: sanitize(&html, &ids.taken),
        toc,
        sections,
    }
}

fn push<'a>(heading: &mut Option<(u8, Vec<Event<'a>>)>, events: &mut Vec<Event<'a>>, e: Event<'a>) {
    match heading {
        Some((_, inner)) => inner.push(e),
        None => events.push(e),
    }
}

/// Classes the stylesheet knows; an author's own classes are dropped so a document cannot dress
/// itself up as Gatehouse's interface.
fn allowed_class(class: &str) -> bool {
    class.starts_with("hl-")
        || class.starts_with("language-")
        || matches!(
            class,
            "anchor"
                | "code"
                | "footnote-reference"
                | "footnote-definition"
                | "footnote-definition-label"
        )
}

fn safe_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 100
        && value
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        && !RESERVED_IDS.contains(&value)
}

/// The sanitizer every stored guide passes through.
pub fn sanitize(html: &str, heading_ids: &HashSet<String>) -> String {
    clean(html, heading_ids, allowed_class)
}

/// For Markdown fragments inside a generated document (an OpenAPI description): the guide rules,
/// with no ids at all. Built once; sanitizing is then only the parse and the walk.
pub fn sanitize_fragment(html: &str) -> String {
    static FRAGMENT: std::sync::LazyLock<ammonia::Builder<'static>> =
        std::sync::LazyLock::new(|| builder(HashSet::new(), allowed_class));
    FRAGMENT.clean(html).to_string()
}

fn clean(html: &str, anchors: &HashSet<String>, class_ok: fn(&str) -> bool) -> String {
    builder(anchors.clone(), class_ok).clean(html).to_string()
}

fn builder(heading_ids: HashSet<String>, class_ok: fn(&str) -> bool) -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::default();
    b.add_tags(["input", "details", "summary"])
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .add_generic_attributes(["class", "id", "aria-label"])
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer"))
        .attribute_filter(move |element, attribute, value| match attribute {
            "class" => {
                let kept: Vec<&str> = value.split_whitespace().filter(|c| class_ok(c)).collect();
                (!kept.is_empty()).then(|| kept.join(" ").into())
            }
            "id" => {
                let heading = matches!(element, "h1" | "h2" | "h3" | "h4" | "h5" | "h6");
                let ok = if heading {
                    heading_ids.contains(value)
                } else {
                    // Footnote definitions carry their label as an id.
                    element == "div" && safe_id(value)
                };
                ok.then(|| value.into())
            }
            "type" if element == "input" => (value == "checkbox").then(|| value.into()),
            _ => Some(value.into()),
        });
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(source: &str) -> Rendered {
        let guides: HashMap<String, String> = [("auth.md".to_owned(), "auth".to_owned())]
            .into_iter()
            .collect();
        render(
            source,
            &Links {
                api_slug: "pets",
                guides: &guides,
            },
        )
    }

    #[test]
    fn thousands_of_equal_headings_get_distinct_ids_and_the_index_stays_bounded() {
        let source = "## Step\n\ntext\n\n".repeat(3000) + "## step-1\n";
        let r = md(&source);
        assert!(r.html.contains(r#"<h2 id="step">"#));
        assert!(r.html.contains(r#"<h2 id="step-2999">"#));
        // "step-1" was taken by the second heading, so the last one goes further.
        assert!(
            r.html.contains(r#"<h2 id="step-1-1">"#),
            "a literal step-1 is kept apart"
        );
        // The empty stretch before the first heading counts towards the cap, then is dropped.
        assert!((MAX_SECTIONS - 1..=MAX_SECTIONS).contains(&r.sections.len()));
        assert!(
            r.sections
                .iter()
                .all(|s| s.text.len() <= SECTION_TEXT_LIMIT)
        );
        let long = format!("## Long\n\n{}", "ü".repeat(10_000));
        let r = md(&long);
        assert!(r.sections[0].text.len() <= SECTION_TEXT_LIMIT);
    }

    #[test]
    fn headings_get_stable_unique_ids_and_a_table_of_contents() {
        let r = md(
            "# Title\n\n## Getting started\n\n### Step `one`\n\n## Getting started\n\n## Main\n",
        );
        assert!(
            r.html.contains(r#"<h2 id="getting-started">"#),
            "{}",
            r.html
        );
        assert!(r.html.contains(r#"<h2 id="getting-started-1">"#));
        assert!(
            r.html.contains(r#"<h2 id="main-1">"#),
            "the page's own ids are never taken"
        );
        let ids: Vec<&str> = r.toc.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(
            ids,
            ["getting-started", "step-one", "getting-started-1", "main-1"]
        );
        assert_eq!(r.toc[1].level, 3);
        assert_eq!(r.toc[1].title, "Step one");
    }

    #[test]
    fn gfm_extensions_render() {
        let r = md(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~gone~~\n\n- [x] done\n- [ ] todo\n\nNote[^1].\n\n[^1]: The note.\n",
        );
        assert!(r.html.contains("<table>"));
        assert!(r.html.contains("<del>gone</del>"));
        assert!(r.html.contains(r#"type="checkbox""#));
        assert!(r.html.contains("footnote-definition"));
    }

    #[test]
    fn links_between_guides_and_to_files_are_rewritten() {
        let r =
            md("[auth](auth.md#tokens) [img](./img/a.png) [web](https://example.com) [top](#x)");
        assert!(
            r.html.contains(r#"href="/apis/pets/guides/auth#tokens""#),
            "{}",
            r.html
        );
        assert!(r.html.contains(r#"href="/apis/pets/assets/img/a.png""#));
        assert!(r.html.contains(r#"href="https://example.com""#));
        assert!(r.html.contains(r##"href="#x""##));
    }

    #[test]
    fn code_is_highlighted_into_classes() {
        let r = md("```rust\nfn main() { let x = \"hi\"; }\n```\n");
        assert!(
            r.html.contains(r#"class="hl-"#) || r.html.contains("hl-"),
            "{}",
            r.html
        );
        assert!(r.html.contains("language-rust"));
        assert!(!r.html.contains("style="));
    }
}
