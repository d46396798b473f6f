//! Publishing a version's documents: each is rendered once, here, and stored with the version,
//! so pages serve stored HTML and render nothing per request.

use crate::server::db::catalog::{NewArtifact, store_artifact};
use crate::server::render::openapi::{self, SpecProblem};
use crate::server::render::{RENDERER_VERSION, markdown};
use std::collections::HashMap;

/// A guide as published: its file name (for links between guides), slug and Markdown.
pub struct GuideSource<'a> {
    pub file_name: &'a str,
    pub slug: &'a str,
    pub source: &'a str,
}

/// Renders a version's guides and stores them, inside the publisher's transaction.
pub async fn store_guides(
    conn: &mut sqlx::AnyConnection,
    api_slug: &str,
    version_id: i64,
    guides: &[GuideSource<'_>],
    now: i64,
) -> Result<(), sqlx::Error> {
    let names: HashMap<String, String> = guides
        .iter()
        .map(|g| (g.file_name.to_owned(), g.slug.to_owned()))
        .collect();
    for g in guides {
        let rendered = markdown::render(
            g.source,
            &markdown::Links {
                api_slug,
                guides: &names,
            },
        );
        let toc_json = serde_json::to_string(&rendered.toc).unwrap_or_else(|_| "[]".into());
        store_artifact(
            conn,
            NewArtifact {
                version_id,
                kind: "guide",
                key: g.slug,
                html: &rendered.html,
                toc_json: &toc_json,
                renderer_version: RENDERER_VERSION,
                now,
            },
        )
        .await?;
    }
    Ok(())
}

/// Renders a version's release notes and stores them for the Changelog tab.
pub async fn store_release_notes(
    conn: &mut sqlx::AnyConnection,
    api_slug: &str,
    version_id: i64,
    notes: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let rendered = markdown::render(
        notes,
        &markdown::Links {
            api_slug,
            guides: &HashMap::new(),
        },
    );
    store_artifact(
        conn,
        NewArtifact {
            version_id,
            kind: "changelog",
            key: "",
            html: &rendered.html,
            toc_json: "[]",
            renderer_version: RENDERER_VERSION,
            now,
        },
    )
    .await
}

/// Why a version could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("the spec has problems: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Spec(Vec<SpecProblem>),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// Renders a version's OpenAPI reference and stores it. A spec with problems stores nothing and
/// says what is wrong, and where.
pub async fn store_reference(
    conn: &mut sqlx::AnyConnection,
    version_id: i64,
    spec: &str,
    base_url: Option<&str>,
    max_bytes: usize,
    now: i64,
) -> Result<openapi::Reference, PublishError> {
    let reference = openapi::render(
        spec.as_bytes(),
        &openapi::Context {
            base_url,
            max_bytes,
        },
    )
    .map_err(PublishError::Spec)?;
    let toc_json = serde_json::to_string(&reference.toc).unwrap_or_else(|_| "[]".into());
    store_artifact(
        conn,
        NewArtifact {
            version_id,
            kind: "reference",
            key: "",
            html: &reference.html,
            toc_json: &toc_json,
            renderer_version: RENDERER_VERSION,
            now,
        },
    )
    .await?;
    Ok(reference)
}
