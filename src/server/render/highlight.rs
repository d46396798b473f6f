//! Server-side code highlighting with syntect's bundled grammars, into CSS classes (`hl-…`), so
//! light and dark themes are the stylesheet's business and the stored HTML carries no styles.

use std::sync::LazyLock;
use syntect::html::{ClassStyle, ClassedHTMLGenerator};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

/// The grammars, loaded once per process (an immutable table, not state).
static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);

/// Code longer than this is shown plain: highlighting cost grows with it and nobody reads
/// colours in a megabyte of JSON.
const MAX_HIGHLIGHTED: usize = 256 * 1024;

pub use crate::domain::html::escape;

/// Common names for languages whose grammar is filed under another token.
fn alias(lang: &str) -> &str {
    match lang {
        "shell" | "console" | "zsh" | "curl" => "bash",
        "js" | "javascript" | "jsx" | "ts" | "typescript" | "tsx" => "js",
        "yml" => "yaml",
        "jsonc" | "json5" => "json",
        "golang" => "go",
        "py" => "python",
        other => other,
    }
}

/// A `<pre><code>` block, highlighted when the language is known.
pub fn highlight(code: &str, lang: Option<&str>) -> String {
    let lang = lang
        .map(|l| {
            l.chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+'))
                .take(32)
                .collect::<String>()
                .to_ascii_lowercase()
        })
        .filter(|l| !l.is_empty());
    let syntax = lang
        .as_deref()
        .and_then(|l| SYNTAXES.find_syntax_by_token(alias(l)));
    let body = match syntax {
        Some(syntax) if code.len() <= MAX_HIGHLIGHTED => {
            let mut generator = ClassedHTMLGenerator::new_with_class_style(
                syntax,
                &SYNTAXES,
                ClassStyle::SpacedPrefixed { prefix: "hl-" },
            );
            let ok = LinesWithEndings::from(code).all(|line| {
                generator
                    .parse_html_for_line_which_includes_newline(line)
                    .is_ok()
            });
            if ok {
                generator.finalize()
            } else {
                escape(code).into_owned()
            }
        }
        _ => escape(code).into_owned(),
    };
    let class = lang
        .map(|l| format!(" class=\"language-{l}\""))
        .unwrap_or_default();
    format!("<pre class=\"code\"><code{class}>{body}</code></pre>\n")
}

/// JSON we wrote ourselves (pretty-printed examples), coloured with a small tokenizer: syntect's
/// general machinery costs far more than JSON's five kinds of token need.
pub fn highlight_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    out.push_str("<pre class=\"code\"><code class=\"language-json\">");
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(bytes.len());
                let token = &text[start..i];
                let rest = text[i..].trim_start();
                let class = if rest.starts_with(':') {
                    "hl-support hl-type hl-property-name"
                } else {
                    "hl-string"
                };
                out.push_str("<span class=\"");
                out.push_str(class);
                out.push_str("\">");
                out.push_str(&escape(token));
                out.push_str("</span>");
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len()
                    && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                out.push_str("<span class=\"hl-constant hl-numeric\">");
                out.push_str(&text[start..i]);
                out.push_str("</span>");
            }
            b't' | b'f' | b'n'
                if ["true", "false", "null"]
                    .iter()
                    .any(|w| text[i..].starts_with(w)) =>
            {
                let word = ["true", "false", "null"]
                    .into_iter()
                    .find(|w| text[i..].starts_with(w))
                    .unwrap_or("null");
                out.push_str("<span class=\"hl-constant hl-language\">");
                out.push_str(word);
                out.push_str("</span>");
                i += word.len();
            }
            _ => {
                let c = text[i..].chars().next().unwrap_or(' ');
                match c {
                    '<' => out.push_str("&lt;"),
                    '>' => out.push_str("&gt;"),
                    '&' => out.push_str("&amp;"),
                    c => out.push(c),
                }
                i += c.len_utf8();
            }
        }
    }
    out.push_str("</code></pre>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_coloured_and_escaped() {
        let html = highlight_json("{\"a<b\": [1, -2.5e3, true, null, \"x\\\"y\"]}");
        assert!(
            html.contains(
                r#"<span class="hl-support hl-type hl-property-name">&quot;a&lt;b&quot;</span>"#
            ),
            "{html}"
        );
        assert!(html.contains(r#"<span class="hl-constant hl-numeric">-2.5e3</span>"#));
        assert!(html.contains(r#"<span class="hl-constant hl-language">null</span>"#));
        assert!(
            html.contains(r#"<span class="hl-string">&quot;x\&quot;y&quot;</span>"#),
            "{html}"
        );
    }
}
