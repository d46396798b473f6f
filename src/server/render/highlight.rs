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

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

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
                escape(code)
            }
        }
        _ => escape(code),
    };
    let class = lang
        .map(|l| format!(" class=\"language-{l}\""))
        .unwrap_or_default();
    format!("<pre class=\"code\"><code{class}>{body}</code></pre>\n")
}
