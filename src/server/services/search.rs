//! Search over everything a person may see: API names, summaries and tags, guide sections,
//! operations and schemas, grouped by API.

use crate::model::{SearchGroup, SearchHit, SearchResults};
use crate::server::actor::Actor;
use crate::server::db::catalog::Viewer;
use crate::server::db::{self, Store};
use crate::server::error::ServiceError;
use crate::server::search::{self, MAX_QUERY_CHARS};

/// At most this many results are shown.
pub const MAX_RESULTS: usize = 60;

#[tracing::instrument(skip(store, actor, query), fields(person = actor.person_id))]
pub async fn search(
    store: &Store,
    actor: &Actor,
    query: &str,
    now: i64,
) -> Result<SearchResults, ServiceError> {
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(ServiceError::Invalid(format!(
            "A search is at most {MAX_QUERY_CHARS} characters."
        )));
    }
    let words = search::query_words(query);
    let mut results = SearchResults {
        query: query.trim().to_owned(),
        ..SearchResults::default()
    };
    if words.is_empty() {
        return Ok(results);
    }
    let mut found = db::search::find(
        store.pool(),
        store.backend(),
        &Viewer::new(actor, now),
        &search::fts5_match(&words),
        &search::tsquery(&words),
        MAX_RESULTS as i64 + 1,
    )
    .await?;
    if found.len() > MAX_RESULTS {
        found.truncate(MAX_RESULTS);
        results.truncated = true;
    }
    for m in found {
        let hit = SearchHit {
            snippet: search::snippet(&m.body, &words),
            title_parts: search::snippet(&m.title, &words),
            kind: m.kind,
            title: m.title,
            link: m.link,
        };
        match results.groups.iter_mut().find(|g| g.api_slug == m.api_slug) {
            Some(group) => group.hits.push(hit),
            None => results.groups.push(SearchGroup {
                api_slug: m.api_slug,
                api_name: m.api_name,
                hits: vec![hit],
            }),
        }
    }
    Ok(results)
}
