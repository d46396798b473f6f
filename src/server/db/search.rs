//! SQL for search: documents in, ranked matches out, through the backend's own full-text engine
//! (FTS5 on SQLite, a tsvector with a GIN index on PostgreSQL). Matches are limited to what the
//! viewer may see, and to each API's shown version.

use super::Backend;
use super::catalog::{SHOWN_VERSION_ORDER, Viewer, bind_viewer, visible_to};
use sqlx::{AnyPool, Row};

pub struct NewDocument {
    pub kind: &'static str,
    pub title: String,
    pub link: String,
    pub body: String,
    pub terms: String,
}

/// A document's stored text is cut to these sizes (at a character boundary), so one enormous
/// summary can neither bloat the index nor exceed PostgreSQL's tsvector limit.
const MAX_TITLE: usize = 500;
const MAX_BODY: usize = 4096;
const MAX_TERMS: usize = 32 * 1024;

fn clip(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

pub async fn insert(
    conn: &mut sqlx::AnyConnection,
    api_id: i64,
    version_id: Option<i64>,
    doc: &NewDocument,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO search_documents (api_id, version_id, kind, title, link, body, terms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(api_id)
    .bind(version_id)
    .bind(doc.kind)
    .bind(clip(&doc.title, MAX_TITLE))
    .bind(&doc.link)
    .bind(clip(&doc.body, MAX_BODY))
    .bind(clip(&doc.terms, MAX_TERMS))
    .execute(conn)
    .await
    .map(|_| ())
}

/// Inserts many documents in as few statements as the backends allow (a thousand rows each), so
/// a version's index is written in about a millisecond, not a statement per operation.
pub async fn insert_many(
    conn: &mut sqlx::AnyConnection,
    api_id: i64,
    version_id: Option<i64>,
    docs: &[NewDocument],
) -> Result<(), sqlx::Error> {
    const ROWS: usize = 1000;
    for chunk in docs.chunks(ROWS) {
        let sql = format!(
            "INSERT INTO search_documents (api_id, version_id, kind, title, link, body, terms) VALUES {}",
            super::values_rows(conn, chunk.len(), 7)
        );
        let mut query = sqlx::query(&sql);
        for doc in chunk {
            query = query
                .bind(api_id)
                .bind(version_id)
                .bind(doc.kind)
                .bind(clip(&doc.title, MAX_TITLE))
                .bind(&doc.link)
                .bind(clip(&doc.body, MAX_BODY))
                .bind(clip(&doc.terms, MAX_TERMS));
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

pub struct Match {
    pub api_slug: String,
    pub api_name: String,
    pub kind: String,
    pub title: String,
    pub link: String,
    pub body: String,
}

/// The best `limit` matches the viewer may see: APIs themselves first (so an API whose name
/// matches leads its group), then operations, schemas and guide sections, each kind with the
/// shortest documents first. Every result contains every word (as a prefix) and the index keeps
/// no word positions, so this is the order bm25 would give, without scoring every match. `fts5`
/// and `tsquery` are the same query in each engine's syntax (see `server::search`).
///
/// At scale a common word matches thousands of documents. Those are ordered from the index and
/// its rows alone, and only the best `window` of them are checked for visibility and for being
/// their API's shown version; when too few of those pass, the search runs again over every match.
pub async fn find(
    pool: &AnyPool,
    backend: Backend,
    viewer: &Viewer,
    fts5: &str,
    tsquery: &str,
    limit: i64,
) -> Result<Vec<Match>, sqlx::Error> {
    let window = limit.saturating_mul(4);
    let found = find_in(pool, backend, viewer, fts5, tsquery, limit, Some(window)).await?;
    if (found.len() as i64) < limit {
        // Either there are few matches (and the full search is as cheap), or many were hidden
        // from this viewer or belong to versions not shown.
        return find_in(pool, backend, viewer, fts5, tsquery, limit, None).await;
    }
    Ok(found)
}

async fn find_in(
    pool: &AnyPool,
    backend: Backend,
    viewer: &Viewer,
    fts5: &str,
    tsquery: &str,
    limit: i64,
    window: Option<i64>,
) -> Result<Vec<Match>, sqlx::Error> {
    let (from, query) = match backend {
        Backend::Sqlite => (
            "search_fts f JOIN search_documents d ON d.id = f.rowid",
            "search_fts MATCH $5",
        ),
        Backend::Postgres => (
            "search_documents d",
            "d.terms_tsv @@ to_tsquery('simple', $5)",
        ),
    };
    const ORDER: &str = "CASE d.kind WHEN 'api' THEN 0 WHEN 'operation' THEN 1 WHEN 'schema' THEN 2 ELSE 3 END, length(d.terms), d.id";
    let window_limit = if window.is_some() {
        format!("ORDER BY {ORDER} LIMIT $7")
    } else {
        String::new()
    };
    // Only the ids are ordered: sorting thousands of matches whole copied every one's text into
    // the sort (a third of the query's time on SQLite). The chosen ones are read once more.
    let candidates = format!("(SELECT d.id FROM {from} WHERE {query} {window_limit})");
    let sql = format!(
        "SELECT a.slug AS api_slug, a.name AS api_name, d.kind, d.title, d.link, d.body
         FROM {candidates} w
         JOIN search_documents d ON d.id = w.id
         JOIN apis a ON a.id = d.api_id
         WHERE {visible}
           AND (d.version_id IS NULL OR d.version_id = (
                SELECT v.id FROM api_versions v WHERE v.api_id = d.api_id
                ORDER BY {SHOWN_VERSION_ORDER}
                LIMIT 1))
         ORDER BY {ORDER}
         LIMIT $6",
        visible = visible_to(1)
    );
    let text = match backend {
        Backend::Sqlite => fts5,
        Backend::Postgres => tsquery,
    };
    let mut q = bind_viewer(sqlx::query(&sql), viewer)
        .bind(text)
        .bind(limit);
    if let Some(window) = window {
        q = q.bind(window);
    }
    q.fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| {
            Ok(Match {
                api_slug: r.try_get("api_slug")?,
                api_name: r.try_get("api_name")?,
                kind: r.try_get("kind")?,
                title: r.try_get("title")?,
                link: r.try_get("link")?,
                body: r.try_get("body")?,
            })
        })
        .collect()
}
