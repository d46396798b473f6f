//! Catalog values: API slugs, the parsed catalog query, and what kind of document a spec is.

use crate::model::{CatalogFilter, Lifecycle, Risk, UnknownVariant, Visibility};
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
    /// The page asked for, from 1.
    pub page: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidQuery {
    #[error("the search text is longer than {max} characters")]
    TooLong { max: usize },
    #[error(transparent)]
    Lifecycle(#[from] UnknownVariant),
    #[error("'{0}' is not a team or tag name")]
    Facet(String),
    #[error("the page must be a whole number from 1 to {max}")]
    Page { max: u32 },
}

impl CatalogQuery {
    pub const MAX_TEXT: usize = 200;
    /// APIs per catalog page: a screenful of cards, and a page that stays small at 10,000 APIs.
    pub const PER_PAGE: u32 = 48;
    /// No catalog has more pages than this (a million APIs); a larger number is a typo.
    pub const MAX_PAGE: u32 = 20_000;

    /// Rows to skip for this page.
    pub fn offset(&self) -> i64 {
        i64::from(self.page.saturating_sub(1)) * i64::from(Self::PER_PAGE)
    }

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
            page: match filter.page.trim() {
                "" => 1,
                value => value
                    .parse::<u32>()
                    .ok()
                    .filter(|p| (1..=Self::MAX_PAGE).contains(p))
                    .ok_or(InvalidQuery::Page {
                        max: Self::MAX_PAGE,
                    })?,
            },
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
            page: "".into(),
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
        for page in ["0", "-1", "two", "1.5", "20001", "99999999999"] {
            let filter = CatalogFilter {
                page: page.into(),
                ..CatalogFilter::default()
            };
            assert!(
                matches!(CatalogQuery::parse(&filter), Err(InvalidQuery::Page { .. })),
                "{page}"
            );
        }
        let mut filter = CatalogFilter::default();
        assert_eq!(CatalogQuery::parse(&filter).unwrap().page, 1);
        filter.page = " 3 ".into();
        let third = CatalogQuery::parse(&filter).unwrap();
        assert_eq!((third.page, third.offset()), (3, 96));
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

/// An API's metadata, scopes and environments, checked: what the edit form and the docs-as-code
/// import both store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiMetadata {
    pub name: String,
    pub summary: String,
    pub description_md: String,
    pub lifecycle: Lifecycle,
    pub visibility: Visibility,
    pub tags: Vec<String>,
    pub repository_url: Option<String>,
    pub runbook_url: Option<String>,
    pub chat_channel: Option<String>,
    pub environments: Vec<crate::model::EnvironmentInput>,
    pub scopes: Vec<(String, String, Risk)>,
}

fn http_url(field: &str, value: &str, problems: &mut Vec<String>) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let ok = (value.starts_with("https://") || value.starts_with("http://"))
        && value.len() <= 2000
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        problems.push(format!(
            "{field} must be an http(s) URL, not '{}'",
            value.chars().take(80).collect::<String>()
        ));
    }
    Some(value.to_owned())
}

fn scope_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, ':' | '.' | '_' | '-')
        })
}

impl ApiMetadata {
    /// Checks everything and reports every problem, in plain words.
    pub fn parse(input: &crate::model::ApiEdit) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let name = input.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 120 {
            problems.push("the name must be 1 to 120 characters".to_owned());
        }
        let summary = input.summary.trim().to_owned();
        if summary.chars().count() > 300 {
            problems.push("the summary must be at most 300 characters".to_owned());
        }
        if input.description_md.len() > 100_000 {
            problems.push("the description must be at most 100,000 bytes".to_owned());
        }
        let lifecycle = input
            .lifecycle
            .parse::<Lifecycle>()
            .map_err(|e| e.to_string());
        let visibility = input
            .visibility
            .parse::<Visibility>()
            .map_err(|e| e.to_string());
        if let Err(e) = &lifecycle {
            problems.push(e.clone());
        }
        if let Err(e) = &visibility {
            problems.push(e.clone());
        }
        let mut tags: Vec<String> = Vec::new();
        for tag in input.tags.split(',') {
            let tag = tag.trim().to_lowercase();
            if tag.is_empty() || tags.contains(&tag) {
                continue;
            }
            if tag.chars().count() > 40 || tag.chars().any(char::is_control) {
                problems.push(format!(
                    "the tag '{}' is too long",
                    tag.chars().take(40).collect::<String>()
                ));
            }
            tags.push(tag);
        }
        if tags.len() > 20 {
            problems.push("at most 20 tags".to_owned());
        }
        let repository_url = http_url("the repository link", &input.repository_url, &mut problems);
        let runbook_url = http_url("the runbook link", &input.runbook_url, &mut problems);
        let chat = input.chat_channel.trim();
        if chat.chars().count() > 200 {
            problems.push("the chat channel must be at most 200 characters".to_owned());
        }
        let chat_channel = (!chat.is_empty()).then(|| chat.to_owned());

        let mut environments: Vec<crate::model::EnvironmentInput> = Vec::new();
        for e in &input.environments {
            let env_name = e.name.trim();
            if env_name.is_empty() && e.base_url.trim().is_empty() {
                continue; // an empty row of the form
            }
            if env_name.is_empty() || env_name.chars().count() > 40 {
                problems.push("an environment's name must be 1 to 40 characters".to_owned());
            } else if environments.iter().any(|x| x.name == env_name) {
                problems.push(format!("the environment '{env_name}' is listed twice"));
            }
            let base_url = http_url(
                &format!("the base URL of '{env_name}'"),
                &e.base_url,
                &mut problems,
            );
            if base_url.is_none() {
                problems.push(format!("the environment '{env_name}' needs a base URL"));
            }
            environments.push(crate::model::EnvironmentInput {
                name: env_name.to_owned(),
                base_url: base_url.unwrap_or_default(),
            });
        }
        let mut scopes: Vec<(String, String, Risk)> = Vec::new();
        for s in &input.scopes {
            let scope = s.name.trim();
            if scope.is_empty() && s.description.trim().is_empty() {
                continue;
            }
            if !scope_name_ok(scope) {
                problems.push(format!(
                    "the scope '{}' must be 1 to 64 lower-case letters, digits, ':', '.', '_' or '-'",
                    scope.chars().take(64).collect::<String>()
                ));
            } else if scopes.iter().any(|x| x.0 == scope) {
                problems.push(format!("the scope '{scope}' is listed twice"));
            }
            if s.description.chars().count() > 500 {
                problems.push(format!(
                    "the description of '{scope}' must be at most 500 characters"
                ));
            }
            match s.risk.parse::<Risk>() {
                Ok(risk) => scopes.push((scope.to_owned(), s.description.trim().to_owned(), risk)),
                Err(e) => problems.push(format!("'{scope}': {e}")),
            }
        }
        match (lifecycle, visibility) {
            (Ok(lifecycle), Ok(visibility)) if problems.is_empty() => Ok(Self {
                name,
                summary,
                description_md: input.description_md.trim().to_owned(),
                lifecycle,
                visibility,
                tags,
                repository_url,
                runbook_url,
                chat_channel,
                environments,
                scopes,
            }),
            _ => Err(problems),
        }
    }
}
