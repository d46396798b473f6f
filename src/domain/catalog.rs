//! Catalog values: API slugs, the parsed catalog query, and what kind of document a spec is.

use crate::model::{CatalogFilter, Lifecycle, UnknownVariant};
use std::fmt;

/// An API's URL name: 2–64 characters of lowercase letters, digits and single hyphens.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ApiSlug(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an API name: use 2 to 64 lowercase letters, digits and single hyphens")]
pub struct InvalidSlug(String);

impl ApiSlug {
    pub fn parse(value: &str) -> Result<Self, InvalidSlug> {
        let bytes = value.as_bytes();
        let shape_ok = (2..=64).contains(&bytes.len())
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
            && bytes[0] != b'-'
            && bytes[bytes.len() - 1] != b'-'
            && !value.contains("--");
        if shape_ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidSlug(value.chars().take(64).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ApiSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The catalog filter once parsed: a lowercase search text and typed facets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogQuery {
    pub text: Option<String>,
    pub team: Option<String>,
    pub lifecycle: Option<Lifecycle>,
    pub tag: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidQuery {
    #[error("the search text is longer than {max} characters")]
    TooLong { max: usize },
    #[error(transparent)]
    Lifecycle(#[from] UnknownVariant),
    #[error("'{0}' is not a team or tag name")]
    Facet(String),
}

impl CatalogQuery {
    pub const MAX_TEXT: usize = 200;

    pub fn parse(filter: &CatalogFilter) -> Result<Self, InvalidQuery> {
        let text = filter.q.trim();
        if text.chars().count() > Self::MAX_TEXT {
            return Err(InvalidQuery::TooLong {
                max: Self::MAX_TEXT,
            });
        }
        let facet = |value: &str| -> Result<Option<String>, InvalidQuery> {
            let value = value.trim();
            if value.is_empty() {
                Ok(None)
            } else if value.len() <= 64
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            {
                Ok(Some(value.to_ascii_lowercase()))
            } else {
                Err(InvalidQuery::Facet(value.chars().take(64).collect()))
            }
        };
        Ok(Self {
            text: (!text.is_empty()).then(|| text.to_lowercase()),
            team: facet(&filter.team)?,
            lifecycle: match filter.lifecycle.trim() {
                "" => None,
                value => Some(value.parse()?),
            },
            tag: facet(&filter.tag)?,
        })
    }
}

/// The kinds of API description Gatehouse reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecFormat {
    OpenApi30,
    OpenApi31,
    Swagger20,
}

impl SpecFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            SpecFormat::OpenApi30 => "openapi-3.0",
            SpecFormat::OpenApi31 => "openapi-3.1",
            SpecFormat::Swagger20 => "swagger-2.0",
        }
    }

    /// Reads the version marker at the top level of a JSON or YAML document. This is a cheap
    /// sniff for labelling; the full parse happens when the reference is rendered.
    pub fn sniff(source: &str) -> Option<Self> {
        let head = &source[..source.floor_char_boundary(8192)];
        let (key, value) = if head.trim_start().starts_with('{') {
            ["\"openapi\"", "\"swagger\""]
                .iter()
                .filter_map(|key| Some((head.find(key)?, &key[1..key.len() - 1])))
                .min_by_key(|(at, _)| *at)
                .and_then(|(at, key)| {
                    let rest = head[at + key.len() + 2..].trim_start().strip_prefix(':')?;
                    let rest = rest.trim_start().strip_prefix('"')?;
                    Some((key, rest[..rest.find('"')?].to_owned()))
                })?
        } else {
            // YAML: only keys at column 0 are top-level.
            head.lines()
                .filter(|line| !line.starts_with([' ', '\t', '#', '-']))
                .find_map(|line| {
                    let (key, value) = line.split_once(':')?;
                    let key = key.trim().trim_matches(['"', '\'']);
                    let key = ["openapi", "swagger"].into_iter().find(|k| *k == key)?;
                    Some((key, value.trim().trim_matches(['"', '\'']).to_owned()))
                })?
        };
        match key {
            "openapi" if value.starts_with("3.0") => Some(SpecFormat::OpenApi30),
            "openapi" if value.starts_with("3.1") => Some(SpecFormat::OpenApi31),
            "swagger" if value == "2.0" => Some(SpecFormat::Swagger20),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_accept_lowercase_words_joined_by_hyphens() {
        assert_eq!(
            ApiSlug::parse("pet-store-2").unwrap().as_str(),
            "pet-store-2"
        );
        for bad in [
            "",
            "a",
            "Pets",
            "-pets",
            "pets-",
            "pe--ts",
            "pets/../x",
            "päts",
        ] {
            assert!(ApiSlug::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn catalog_query_lowercases_text_and_types_the_lifecycle() {
        let filter = CatalogFilter {
            q: "  Pet Store ".into(),
            team: "Commerce".into(),
            lifecycle: "production".into(),
            tag: "".into(),
        };
        let query = CatalogQuery::parse(&filter).unwrap();
        assert_eq!(query.text.as_deref(), Some("pet store"));
        assert_eq!(query.team.as_deref(), Some("commerce"));
        assert_eq!(query.lifecycle, Some(Lifecycle::Production));
        assert_eq!(query.tag, None);
    }

    #[test]
    fn catalog_query_refuses_unknown_lifecycles_and_odd_facets() {
        let with = |f: fn(&mut CatalogFilter)| {
            let mut filter = CatalogFilter::default();
            f(&mut filter);
            CatalogQuery::parse(&filter)
        };
        assert!(matches!(
            with(|f| f.lifecycle = "beta".into()),
            Err(InvalidQuery::Lifecycle(_))
        ));
        assert!(matches!(
            with(|f| f.tag = "x' OR 1=1".into()),
            Err(InvalidQuery::Facet(_))
        ));
        assert!(matches!(
            with(|f| f.q = "x".repeat(201)),
            Err(InvalidQuery::TooLong { .. })
        ));
    }

    #[test]
    fn spec_format_is_read_from_the_top_level_marker() {
        assert_eq!(
            SpecFormat::sniff("openapi: 3.0.4\ninfo: {}"),
            Some(SpecFormat::OpenApi30)
        );
        assert_eq!(
            SpecFormat::sniff("{\n  \"openapi\": \"3.1.0\","),
            Some(SpecFormat::OpenApi31)
        );
        assert_eq!(
            SpecFormat::sniff("{\"openapi\":\"3.0.2\",\"info\":{}}"),
            Some(SpecFormat::OpenApi30)
        );
        assert_eq!(
            SpecFormat::sniff("swagger: '2.0'\n"),
            Some(SpecFormat::Swagger20)
        );
        assert_eq!(SpecFormat::sniff("info:\n  openapi: 3.0.0\n"), None);
        assert_eq!(SpecFormat::sniff("openapi: 4.0.0\n"), None);
    }
}
