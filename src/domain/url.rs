//! URL pieces the app builds itself: query strings and safe local redirects.

/// Percent-encodes a query component: everything but RFC 3986's unreserved characters.
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Accepts a redirect target only if it stays on this site: an absolute path, never `//host`
/// or a backslash trick that some browsers read as another host.
pub fn safe_local_path(target: &str) -> Option<&str> {
    let ok = target.starts_with('/')
        && !target.starts_with("//")
        && !target.contains('\\')
        && !target.chars().any(char::is_control)
        && target.len() <= 2048;
    ok.then_some(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_characters_stay_and_the_rest_is_encoded() {
        assert_eq!(encode_component("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(encode_component("a b/ü?"), "a%20b%2F%C3%BC%3F");
    }

    #[test]
    fn only_local_paths_are_redirect_targets() {
        assert_eq!(
            safe_local_path("/apis/petstore?x=1"),
            Some("/apis/petstore?x=1")
        );
        for bad in [
            "https://evil.test/",
            "//evil.test",
            "/\\evil.test",
            "apis",
            "/a\nb",
        ] {
            assert_eq!(safe_local_path(bad), None, "{bad:?} must be refused");
        }
    }
}
