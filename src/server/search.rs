//! Search text, the same for both backends: what goes into the index (words split at punctuation
//! and at camelCase, lower-cased), how a query becomes a full-text match (every word, as a
//! prefix), and the snippet shown under a result.
//!
//! The database's own engine (FTS5, tsvector) does the matching and ranking; normalising here
//! means `/pets/{petId}` and `listPets` are found by `pet`, `pets id` or `list` on either one.

use crate::model::SnippetPart;

/// At most this many words of a query are used.
pub const MAX_QUERY_WORDS: usize = 8;
/// A query longer than this is refused rather than cut silently.
pub const MAX_QUERY_CHARS: usize = 200;

/// The words of a text as the index stores them: lower-case runs of letters and digits, and for
/// a camelCase or snake word both the whole (`listpets`) and its parts (`list`, `pets`).
pub fn terms(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        let lower = word.to_lowercase();
        push_word(&mut out, &lower);
        let parts = camel_parts(word);
        if parts.len() > 1 {
            for part in parts {
                push_word(&mut out, &part.to_lowercase());
            }
        }
    }
    out
}

fn push_word(out: &mut String, word: &str) {
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(word);
}

/// `listPetsByID2` → `list`, `Pets`, `By`, `ID2`.
fn camel_parts(word: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    let mut parts = Vec::new();
    let mut start = 0;
    for i in 1..chars.len() {
        let (at, c) = chars[i];
        let prev = chars[i - 1].1;
        let next_is_lower = chars.get(i + 1).is_some_and(|(_, n)| n.is_lowercase());
        let boundary = c.is_uppercase()
            && (prev.is_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_uppercase() && next_is_lower));
        if boundary {
            parts.push(&word[start..at]);
            start = at;
        }
    }
    parts.push(&word[start..]);
    parts
}

/// The words of a query, lower-cased, without repeats; at most [`MAX_QUERY_WORDS`].
pub fn query_words(query: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in query.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        let lower = word.to_lowercase();
        if !words.contains(&lower) {
            words.push(lower);
        }
        if words.len() == MAX_QUERY_WORDS {
            break;
        }
    }
    words
}

/// An FTS5 match: every word as a prefix. Words are letters and digits only, so nothing in them
/// is FTS5 syntax.
pub fn fts5_match(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("\"{w}\"*"))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// A PostgreSQL `to_tsquery('simple', …)` argument: every word as a prefix.
pub fn tsquery(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("{w}:*"))
        .collect::<Vec<_>>()
        .join(" & ")
}

const SNIPPET_BEFORE: usize = 60;
const SNIPPET_LENGTH: usize = 200;

/// A short excerpt of `body` around the first word of the query it contains, with every word
/// that starts with a query word marked. Plain text: the page escapes it.
pub fn snippet(body: &str, words: &[String]) -> Vec<SnippetPart> {
    let lower = body.to_lowercase();
    // Lower-casing can change byte lengths; fall back to the start when it does.
    let same_layout = lower.len() == body.len();
    let first = if same_layout {
        words
            .iter()
            .filter_map(|w| find_word_start(&lower, w))
            .min()
            .unwrap_or(0)
    } else {
        0
    };
    let start = floor_boundary(body, first.saturating_sub(SNIPPET_BEFORE));
    let start = if start == 0 {
        0
    } else {
        // Begin at a word: after the whole of the space found (a no-break space is two or
        // three bytes; stepping one byte in would cut it).
        body[start..]
            .char_indices()
            .find(|(_, c)| c.is_whitespace())
            .map(|(i, c)| start + i + c.len_utf8())
            .filter(|&i| i <= first)
            .unwrap_or(start)
    };
    let end = floor_boundary(body, (start + SNIPPET_LENGTH).min(body.len()));
    let window = &body[start..end];
    let mut parts: Vec<SnippetPart> = Vec::new();
    if start > 0 {
        parts.push(SnippetPart {
            text: "…".into(),
            hit: false,
        });
    }
    let mut plain = String::new();
    let mut rest = window;
    while !rest.is_empty() {
        let word_end = rest
            .find(|c: char| !c.is_alphanumeric())
            .unwrap_or(rest.len());
        if word_end == 0 {
            let c = rest.chars().next().map_or(1, char::len_utf8);
            plain.push_str(&rest[..c]);
            rest = &rest[c..];
            continue;
        }
        let word = &rest[..word_end];
        let lower_word = word.to_lowercase();
        if words.iter().any(|w| lower_word.starts_with(w.as_str())) {
            if !plain.is_empty() {
                parts.push(SnippetPart {
                    text: std::mem::take(&mut plain),
                    hit: false,
                });
            }
            parts.push(SnippetPart {
                text: word.to_owned(),
                hit: true,
            });
        } else {
            plain.push_str(word);
        }
        rest = &rest[word_end..];
    }
    if end < body.len() {
        plain.push('…');
    }
    if !plain.is_empty() {
        parts.push(SnippetPart {
            text: plain,
            hit: false,
        });
    }
    parts
}

/// Where a word beginning with `prefix` first starts in `text` (already lower-case).
fn find_word_start(text: &str, prefix: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(prefix) {
        let at = from + i;
        let starts_word = text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        if starts_word {
            return Some(at);
        }
        from = at + prefix.len();
    }
    // A camelCase part (`Pets` in `listPets`) is found anywhere.
    text.find(prefix)
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_operation_ids_split_into_findable_words() {
        assert_eq!(terms("/pets/{petId}"), "pets petid pet id");
        assert_eq!(terms("listPets"), "listpets list pets");
        assert_eq!(
            terms("getHTTPResponse"),
            "gethttpresponse get http response"
        );
        assert_eq!(terms("snake_case-name"), "snake case name");
        assert_eq!(terms("Grüße, Welt!"), "grüße welt");
    }

    #[test]
    fn queries_become_prefix_matches_of_letters_and_digits_only() {
        let words = query_words("GET /pets/{id} \"OR\" * pets");
        assert_eq!(words, ["get", "pets", "id", "or"]);
        assert_eq!(
            fts5_match(&words),
            "\"get\"* AND \"pets\"* AND \"id\"* AND \"or\"*"
        );
        assert_eq!(tsquery(&words), "get:* & pets:* & id:* & or:*");
        assert!(query_words("/// {} ()").is_empty());
        assert_eq!(query_words(&"a ".repeat(50)).len(), 1);
        let many: String = (0..20).map(|i| format!("w{i} ")).collect();
        assert_eq!(query_words(&many).len(), MAX_QUERY_WORDS);
    }

    #[test]
    fn a_snippet_starts_after_a_whole_space_of_any_width() {
        // A no-break space (2 bytes) and an ideographic space (3 bytes) where the excerpt
        // starts: the excerpt begins after the whole space, not inside it.
        for space in ['\u{a0}', '\u{202f}', '\u{3000}'] {
            let body = format!("{}{space}pets are listed here", "a".repeat(70));
            let parts = snippet(&body, &["pets".into()]);
            let text: String = parts.iter().map(|p| p.text.as_str()).collect();
            assert_eq!(text, "…pets are listed here", "{space:?}");
            assert!(parts.iter().any(|p| p.hit && p.text == "pets"));
        }
    }

    #[test]
    fn snippets_centre_on_the_first_hit_and_mark_every_hit() {
        let body = format!(
            "{} The orders endpoint returns every Order placed today. {}",
            "Lorem ipsum dolor sit amet. ".repeat(10),
            "Trailing text. ".repeat(20)
        );
        let parts = snippet(&body, &["order".into()]);
        assert_eq!(parts[0].text, "…");
        let hits: Vec<&str> = parts
            .iter()
            .filter(|p| p.hit)
            .map(|p| p.text.as_str())
            .collect();
        assert_eq!(hits, ["orders", "Order"]);
        assert!(parts.last().unwrap().text.ends_with('…'));
        let text: String = parts.iter().map(|p| p.text.as_str()).collect();
        assert!(text.len() < 260, "{text}");

        let short = snippet("Pets: list them", &["list".into()]);
        let text: String = short.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(text, "Pets: list them");
        assert!(short.iter().any(|p| p.hit && p.text == "list"));
        // Multi-byte text never splits a character.
        let parts = snippet(&"ü".repeat(400), &["x".into()]);
        assert!(!parts.is_empty());
    }
}
