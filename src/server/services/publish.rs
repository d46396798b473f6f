//! Publishing a version: its spec, guides and release notes are checked and rendered here, once,
//! before anything is written; then [`write_version`] stores the rendered HTML, the search index
//! and the diff against the previous version in the caller's transaction. Pages serve what was
//! stored and render nothing per request.
//!
//! The docs-as-code import, the CI publish endpoint and the demo seed all come through here.

use crate::model::VersionStatus;
use crate::server::db::catalog::{NewArtifact, store_artifact};
use crate::server::db::search::{self as search_db, NewDocument};
use crate::server::render::markdown::{self, Section};
use crate::server::render::openapi::{self, Reference};
use crate::server::render::{RENDERER_VERSION, diff};
use crate::server::search;
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;

/// A guide's Markdown is refused past this size.
pub const MAX_GUIDE_BYTES: usize = 2 * 1024 * 1024;
/// A version has at most this many guides.
pub const MAX_GUIDES: usize = 200;

/// Something wrong in what was published, and where: the file, and a place inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub location: String,
    pub message: String,
}

impl Problem {
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            location: String::new(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.file.is_empty(), self.location.is_empty()) {
            (true, true) => write!(f, "{}", self.message),
            (true, false) => write!(f, "{}: {}", self.location, self.message),
            (false, true) => write!(f, "{}: {}", self.file, self.message),
            (false, false) => write!(f, "{} ({}): {}", self.file, self.location, self.message),
        }
    }
}

/// A guide file as found in a docs folder or sent by CI.
pub struct GuideFile {
    pub file_name: String,
    pub source: Vec<u8>,
}

/// A version as found in a docs folder or sent by CI.
pub struct VersionInput {
    pub label: String,
    pub status: VersionStatus,
    pub release_notes: String,
    /// The spec's file name (for reports) and bytes.
    pub spec: Option<(String, Vec<u8>)>,
}

pub struct PreparedGuide {
    pub file_name: String,
    pub slug: String,
    pub title: String,
    pub source: String,
    html: String,
    toc_json: String,
    sections: Vec<Section>,
}

pub struct PreparedSpec {
    pub source: String,
    pub reference: Reference,
    /// The reference in parts, one page each.
    pub sections: Vec<openapi::Section>,
}

/// A version checked and rendered, ready to store.
pub struct PreparedVersion {
    pub label: String,
    pub status: VersionStatus,
    pub release_notes: String,
    notes_html: String,
    pub spec: Option<PreparedSpec>,
}

/// What the front matter of a guide may say.
#[derive(Deserialize, Default)]
struct FrontMatter {
    title: Option<String>,
    order: Option<i64>,
    slug: Option<String>,
}

/// Splits `---` front matter from a guide's Markdown.
fn front_matter(source: &str) -> Result<(FrontMatter, &str), String> {
    let Some(rest) = source
        .strip_prefix("---\n")
        .or_else(|| source.strip_prefix("---\r\n"))
    else {
        return Ok((FrontMatter::default(), source));
    };
    let Some(end) = rest
        .find("\n---\n")
        .or_else(|| rest.find("\n---\r\n"))
        .or_else(|| rest.strip_suffix("\n---").map(str::len))
    else {
        return Err("the front matter opened with --- is never closed".into());
    };
    let yaml = &rest[..end];
    let body = rest[end..]
        .trim_start_matches('\n')
        .trim_start_matches("---")
        .trim_start_matches(['\r', '\n']);
    let matter: serde_json::Value = crate::server::render::yaml::parse(yaml)
        .map_err(|e| format!("the front matter is not valid YAML: {e}"))?;
    if matter.is_null() {
        return Ok((FrontMatter::default(), body));
    }
    let matter: FrontMatter = serde_json::from_value(matter)
        .map_err(|e| format!("the front matter's title, order or slug has the wrong type: {e}"))?;
    Ok((matter, body))
}

/// A URL-safe slug from a file name: `02-Getting_Started.md` → `getting-started`.
pub fn guide_slug(file_name: &str) -> String {
    let stem = file_name.rsplit('/').next().unwrap_or(file_name);
    let stem = stem.strip_suffix(".md").unwrap_or(stem);
    let unnumbered = stem.trim_start_matches(|c: char| c.is_ascii_digit());
    let stem = match unnumbered.strip_prefix(['-', '_', '.']) {
        Some(rest) if unnumbered.len() < stem.len() && !rest.is_empty() => rest,
        _ => stem,
    };
    let mut out = String::new();
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-');
    if out.is_empty() {
        "guide".into()
    } else {
        out.chars().take(80).collect()
    }
}

fn first_heading(body: &str) -> Option<String> {
    body.lines()
        .find_map(|l| l.strip_prefix("# "))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// Checks and renders a set of guides, in reading order: by the front matter's `order`, then by
/// file name. Every problem is reported, not only the first.
pub fn prepare_guides(
    api_slug: &str,
    files: Vec<GuideFile>,
) -> Result<Vec<PreparedGuide>, Vec<Problem>> {
    let mut problems = Vec::new();
    if files.len() > MAX_GUIDES {
        return Err(vec![Problem::new(
            "",
            format!("{} guides; a version has at most {MAX_GUIDES}", files.len()),
        )]);
    }
    let mut read = Vec::new();
    for file in files {
        if file.source.len() > MAX_GUIDE_BYTES {
            problems.push(Problem::new(
                &file.file_name,
                format!(
                    "the guide is {} KB; the limit is {} KB",
                    file.source.len() / 1024,
                    MAX_GUIDE_BYTES / 1024
                ),
            ));
            continue;
        }
        let source = match String::from_utf8(file.source) {
            Ok(s) => s,
            Err(e) => {
                problems.push(Problem {
                    file: file.file_name,
                    location: format!("byte {}", e.utf8_error().valid_up_to()),
                    message: "the file is not valid UTF-8".into(),
                });
                continue;
            }
        };
        match front_matter(&source) {
            Ok((matter, body)) => {
                let slug = matter
                    .slug
                    .as_deref()
                    .map(guide_slug)
                    .unwrap_or_else(|| guide_slug(&file.file_name));
                let title = matter
                    .title
                    .clone()
                    .filter(|t| !t.trim().is_empty())
                    .or_else(|| first_heading(body))
                    .unwrap_or_else(|| slug.replace('-', " "));
                let body = body.to_owned();
                read.push((matter.order, file.file_name, slug, title, body));
            }
            Err(message) => problems.push(Problem {
                file: file.file_name,
                location: "front matter".into(),
                message,
            }),
        }
    }
    read.sort_by(|a, b| (a.0.unwrap_or(i64::MAX), &a.1).cmp(&(b.0.unwrap_or(i64::MAX), &b.1)));
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (_, file, slug, _, _) in &read {
        if let Some(other) = seen.insert(slug, file) {
            problems.push(Problem::new(
                file.as_str(),
                format!("its page name '{slug}' is also {other}'s; rename one, or set slug in its front matter"),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let names: HashMap<String, String> = read
        .iter()
        .map(|(_, file, slug, _, _)| {
            (
                file.rsplit('/').next().unwrap_or(file).to_owned(),
                slug.clone(),
            )
        })
        .collect();
    Ok(read
        .into_iter()
        .map(|(_, file_name, slug, title, source)| {
            let rendered = markdown::render(
                &source,
                &markdown::Links {
                    api_slug,
                    guides: &names,
                },
            );
            PreparedGuide {
                toc_json: serde_json::to_string(&rendered.toc).unwrap_or_else(|_| "[]".into()),
                html: rendered.html,
                sections: rendered.sections,
                file_name,
                slug,
                title,
                source,
            }
        })
        .collect())
}

/// A version label: letters, digits and `.-_+`, at most 64.
pub fn check_label(label: &str) -> Result<(), String> {
    let ok = !label.is_empty()
        && label.len() <= 64
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the version label '{}' must be 1 to 64 letters, digits, '.', '-', '_' or '+'",
            label.chars().take(70).collect::<String>()
        ))
    }
}

/// Checks and renders one version: its label, spec and release notes.
pub fn prepare_version(
    api_slug: &str,
    base_url: Option<&str>,
    input: VersionInput,
    max_spec_bytes: usize,
) -> Result<PreparedVersion, Vec<Problem>> {
    let mut problems = Vec::new();
    if let Err(message) = check_label(&input.label) {
        problems.push(Problem::new("", message));
    }
    let spec = match input.spec {
        None => None,
        Some((file, bytes)) => {
            let ctx = openapi::Context {
                base_url,
                max_bytes: max_spec_bytes,
            };
            match openapi::render(&bytes, &ctx) {
                Ok(reference) => {
                    // Rendering succeeded, so the bytes are UTF-8.
                    let source = String::from_utf8(bytes).unwrap_or_default();
                    let sections = openapi::sections(&reference.html, &reference.toc);
                    Some(PreparedSpec {
                        source,
                        reference,
                        sections,
                    })
                }
                Err(found) => {
                    problems.extend(found.into_iter().map(|p| Problem {
                        file: file.clone(),
                        location: p.location,
                        message: p.message,
                    }));
                    None
                }
            }
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let notes = markdown::render(
        &input.release_notes,
        &markdown::Links {
            api_slug,
            guides: &HashMap::new(),
        },
    );
    Ok(PreparedVersion {
        label: input.label,
        status: input.status,
        release_notes: input.release_notes,
        notes_html: notes.html,
        spec,
    })
}

/// Who wrote a version: the docs-as-code import (which may later prune it) or a team's CI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Import,
    Publish,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Import => "import",
            Origin::Publish => "publish",
        }
    }
}

/// Where a version was stored.
pub struct WrittenVersion {
    pub id: i64,
    pub created: bool,
}

/// Stores a prepared version of an API, replacing one with the same label: its row, guides,
/// rendered artifacts, search documents and the diff against the version before it. With
/// `guides` left out, a replaced version keeps the guides it had.
pub async fn write_version(
    conn: &mut sqlx::AnyConnection,
    api_id: i64,
    api_slug: &str,
    version: &PreparedVersion,
    guides: Option<&[PreparedGuide]>,
    origin: Origin,
    now: i64,
) -> Result<WrittenVersion, sqlx::Error> {
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT id FROM api_versions WHERE api_id = $1 AND label = $2")
            .bind(api_id)
            .bind(&version.label)
            .fetch_optional(&mut *conn)
            .await?;
    let format = version.spec.as_ref().map(|s| s.reference.flavor.as_str());
    let source = version.spec.as_ref().map(|s| s.source.as_str());
    let id = match existing {
        Some(id) => {
            sqlx::query(
                "UPDATE api_versions SET status = $2, release_notes_md = $3, spec_format = $4,
                        spec_source = $5, origin = $6 WHERE id = $1",
            )
            .bind(id)
            .bind(version.status.as_str())
            .bind(&version.release_notes)
            .bind(format)
            .bind(source)
            .bind(origin.as_str())
            .execute(&mut *conn)
            .await?;
            let statements: &[&str] = if guides.is_some() {
                &[
                    "DELETE FROM guides WHERE version_id = $1",
                    "DELETE FROM rendered_artifacts WHERE version_id = $1",
                    "DELETE FROM search_documents WHERE version_id = $1",
                    "DELETE FROM version_diffs WHERE from_version_id = $1 OR to_version_id = $1",
                ]
            } else {
                // The version keeps its guides.
                &[
                    "DELETE FROM rendered_artifacts WHERE version_id = $1 AND kind <> 'guide'",
                    "DELETE FROM search_documents WHERE version_id = $1 AND kind <> 'guide'",
                    "DELETE FROM version_diffs WHERE from_version_id = $1 OR to_version_id = $1",
                ]
            };
            for sql in statements {
                sqlx::query(sql).bind(id).execute(&mut *conn).await?;
            }
            id
        }
        None => {
            sqlx::query_scalar(
                "INSERT INTO api_versions (api_id, label, status, release_notes_md, spec_format, spec_source, published_at, origin)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(api_id)
            .bind(&version.label)
            .bind(version.status.as_str())
            .bind(&version.release_notes)
            .bind(format)
            .bind(source)
            .bind(now)
            .bind(origin.as_str())
            .fetch_one(&mut *conn)
            .await?
        }
    };

    let guides = guides.unwrap_or(&[]);
    for (position, g) in guides.iter().enumerate() {
        sqlx::query(
            "INSERT INTO guides (version_id, slug, title, position, source_md) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(&g.slug)
        .bind(&g.title)
        .bind(position as i64)
        .bind(&g.source)
        .execute(&mut *conn)
        .await?;
        store_artifact(
            conn,
            NewArtifact {
                version_id: id,
                kind: "guide",
                key: &g.slug,
                html: &g.html,
                toc_json: &g.toc_json,
                renderer_version: RENDERER_VERSION,
                now,
            },
        )
        .await?;
    }
    store_artifact(
        conn,
        NewArtifact {
            version_id: id,
            kind: "changelog",
            key: "",
            html: &version.notes_html,
            toc_json: "[]",
            renderer_version: RENDERER_VERSION,
            now,
        },
    )
    .await?;
    if let Some(spec) = &version.spec {
        let toc_json = serde_json::to_string(&spec.reference.toc).unwrap_or_else(|_| "[]".into());
        // The parts below carry the reference's HTML. Its artifact row says the version has a
        // reference and keeps the whole table of contents; the whole HTML was stored here too
        // until parts came, and databases from before then still have it (see `backfill`).
        store_artifact(
            conn,
            NewArtifact {
                version_id: id,
                kind: "reference",
                key: "",
                html: "",
                toc_json: &toc_json,
                renderer_version: RENDERER_VERSION,
                now,
            },
        )
        .await?;
        crate::server::db::catalog::store_reference_sections(conn, id, &spec.sections).await?;
    }
    search_db::insert_many(
        conn,
        api_id,
        Some(id),
        &version_documents(api_slug, version, guides),
    )
    .await?;
    if let Some(spec) = &version.spec {
        store_diff_from_previous(conn, api_id, id, &spec.reference.document, now).await?;
    }
    if existing.is_some() {
        refresh_next_diff(conn, api_id, id, now).await?;
    }
    Ok(WrittenVersion {
        id,
        created: existing.is_none(),
    })
}

/// A replaced version may be the "before" of the next version's diff: that diff is computed
/// again, against whichever version now comes before it.
async fn refresh_next_diff(
    conn: &mut sqlx::AnyConnection,
    api_id: i64,
    version_id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    let next: Option<(i64, String)> = sqlx::query_as(
        "SELECT n.id, n.spec_source FROM api_versions n, api_versions v
         WHERE v.id = $2 AND n.api_id = $1 AND n.id <> v.id AND n.spec_source IS NOT NULL
           AND (n.published_at > v.published_at OR (n.published_at = v.published_at AND n.id > v.id))
         ORDER BY n.published_at, n.id LIMIT 1",
    )
    .bind(api_id)
    .bind(version_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((next_id, source)) = next else {
        return Ok(());
    };
    sqlx::query("DELETE FROM version_diffs WHERE to_version_id = $1")
        .bind(next_id)
        .execute(&mut *conn)
        .await?;
    if let Ok((document, _)) = openapi::parse(source.as_bytes(), usize::MAX) {
        store_diff_from_previous(conn, api_id, next_id, &document, now).await?;
    }
    Ok(())
}

/// Diffs a version against the one published just before it that has a spec, and stores it.
async fn store_diff_from_previous(
    conn: &mut sqlx::AnyConnection,
    api_id: i64,
    version_id: i64,
    spec: &serde_json::Value,
    now: i64,
) -> Result<(), sqlx::Error> {
    let previous: Option<(i64, String, String)> = sqlx::query_as(
        "SELECT p.id, p.label, p.spec_source FROM api_versions p, api_versions v
         WHERE v.id = $2 AND p.api_id = $1 AND p.id <> v.id AND p.spec_source IS NOT NULL
           AND (p.published_at < v.published_at OR (p.published_at = v.published_at AND p.id < v.id))
         ORDER BY p.published_at DESC, p.id DESC LIMIT 1",
    )
    .bind(api_id)
    .bind(version_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((previous_id, _, previous_source)) = previous else {
        return Ok(());
    };
    let Ok((old, _)) = openapi::parse(previous_source.as_bytes(), usize::MAX) else {
        return Ok(());
    };
    let found = diff::diff(&old, spec);
    let json = serde_json::to_string(&found).unwrap_or_else(|_| "{}".into());
    sqlx::query(
        "INSERT INTO version_diffs (from_version_id, to_version_id, diff_json, computed_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(previous_id)
    .bind(version_id)
    .bind(json)
    .bind(now)
    .execute(conn)
    .await
    .map(|_| ())
}

/// The search documents of a version: a guide section each, an operation each, a schema each.
fn version_documents(
    api_slug: &str,
    version: &PreparedVersion,
    guides: &[PreparedGuide],
) -> Vec<NewDocument> {
    let mut docs = Vec::new();
    for g in guides {
        for section in &g.sections {
            let (title, link) = match &section.id {
                Some(id) => (
                    format!("{} › {}", g.title, section.heading),
                    format!("/apis/{api_slug}/guides/{}#{id}", g.slug),
                ),
                None => (
                    g.title.clone(),
                    format!("/apis/{api_slug}/guides/{}", g.slug),
                ),
            };
            let terms = search::terms(&format!("{} {}", section.heading, section.text));
            docs.push(NewDocument {
                kind: "guide",
                title,
                link,
                body: section.text.clone(),
                terms,
            });
        }
    }
    if let Some(spec) = &version.spec {
        for op in &spec.reference.operations {
            let operation_id = op.operation_id.as_deref().unwrap_or("");
            let body = [op.summary.as_str(), operation_id, op.tag.as_str()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" · ");
            docs.push(NewDocument {
                kind: "operation",
                title: format!("{} {}", op.method, op.path),
                link: reference_link(api_slug, &spec.sections, &op.anchor),
                terms: search::terms(&format!(
                    "{} {} {} {} {}",
                    op.method, op.path, op.summary, operation_id, op.tag
                )),
                body,
            });
        }
        for schema in &spec.reference.schemas {
            docs.push(NewDocument {
                kind: "schema",
                title: schema.name.clone(),
                link: reference_link(api_slug, &spec.sections, &schema.anchor),
                body: format!("Schema {}", schema.name),
                terms: search::terms(&schema.name),
            });
        }
    }
    docs
}

/// The API's own search document (name, summary, tags, description), replaced whenever its
/// metadata changes.
pub async fn index_api(
    conn: &mut sqlx::AnyConnection,
    api_id: i64,
    slug: &str,
    name: &str,
    summary: &str,
    description: &str,
    tags: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM search_documents WHERE api_id = $1 AND version_id IS NULL")
        .bind(api_id)
        .execute(&mut *conn)
        .await?;
    let body = if summary.is_empty() {
        description.chars().take(400).collect()
    } else {
        summary.to_owned()
    };
    let doc = NewDocument {
        kind: "api",
        title: name.to_owned(),
        link: format!("/apis/{slug}"),
        terms: search::terms(&format!(
            "{name} {slug} {summary} {} {description}",
            tags.join(" ")
        )),
        body,
    };
    search_db::insert(conn, api_id, None, &doc).await
}

/// Where an anchor of the reference is: its part's page.
fn reference_link(api_slug: &str, parts: &[openapi::Section], anchor: &str) -> String {
    match parts.iter().find(|p| p.nav.iter().any(|e| e.id == anchor)) {
        Some(part) => format!(
            "/apis/{api_slug}/reference?section={}#{anchor}",
            part.anchor
        ),
        None => format!("/apis/{api_slug}/reference#{anchor}"),
    }
}

/// Fills in what a database from before search and rendered descriptions lacks: each API's
/// rendered description and search document, the search documents of each API's shown
/// version, and each reference's parts. Runs at start-up; does nothing once everything is there.
pub async fn backfill(store: &crate::server::db::Store) -> Result<usize, sqlx::Error> {
    use sqlx::Row;
    let mut done = 0;
    let apis = sqlx::query(
        "SELECT a.id, a.slug, a.name, a.summary, a.description_md, a.description_html
         FROM apis a
         WHERE NOT EXISTS (SELECT 1 FROM search_documents d WHERE d.api_id = a.id AND d.version_id IS NULL)",
    )
    .fetch_all(store.pool())
    .await?;
    for row in apis {
        let api_id: i64 = row.try_get("id")?;
        let slug: String = row.try_get("slug")?;
        let description_md: String = row.try_get("description_md")?;
        let tags: Vec<String> =
            sqlx::query_scalar("SELECT tag FROM api_tags WHERE api_id = $1 ORDER BY tag")
                .bind(api_id)
                .fetch_all(store.pool())
                .await?;
        let description_html = super::api_edit::render_description(&slug, &description_md);
        let mut tx = store.pool().begin().await?;
        if row.try_get::<String, _>("description_html")?.is_empty() {
            sqlx::query("UPDATE apis SET description_html = $2 WHERE id = $1")
                .bind(api_id)
                .bind(&description_html)
                .execute(&mut *tx)
                .await?;
        }
        index_api(
            &mut tx,
            api_id,
            &slug,
            &row.try_get::<String, _>("name")?,
            &row.try_get::<String, _>("summary")?,
            &description_md,
            &tags,
        )
        .await?;
        // The shown version's guides, operations and schemas, rendered again for their text.
        if let Some((version_id, label)) =
            crate::server::db::catalog::shown_version(&mut *tx, api_id).await?
        {
            let has_docs: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM search_documents WHERE version_id = $1")
                    .bind(version_id)
                    .fetch_one(&mut *tx)
                    .await?;
            if has_docs == 0 {
                let guides = sqlx::query_as::<_, (String, String, String)>(
                    "SELECT slug, title, source_md FROM guides WHERE version_id = $1 ORDER BY position",
                )
                .bind(version_id)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(|(guide_slug, title, source)| {
                    let rendered = markdown::render(
                        &source,
                        &markdown::Links {
                            api_slug: &slug,
                            guides: &HashMap::new(),
                        },
                    );
                    PreparedGuide {
                        file_name: format!("{guide_slug}.md"),
                        slug: guide_slug,
                        title,
                        source: String::new(),
                        html: String::new(),
                        toc_json: String::new(),
                        sections: rendered.sections,
                    }
                })
                .collect::<Vec<_>>();
                let spec: Option<String> =
                    sqlx::query_scalar("SELECT spec_source FROM api_versions WHERE id = $1")
                        .bind(version_id)
                        .fetch_one(&mut *tx)
                        .await?;
                let reference = spec.and_then(|s| {
                    openapi::render(
                        s.as_bytes(),
                        &openapi::Context {
                            base_url: None,
                            max_bytes: usize::MAX,
                        },
                    )
                    .ok()
                });
                let version = PreparedVersion {
                    label,
                    status: VersionStatus::Current,
                    release_notes: String::new(),
                    notes_html: String::new(),
                    spec: reference.map(|reference| PreparedSpec {
                        source: String::new(),
                        sections: openapi::sections(&reference.html, &reference.toc),
                        reference,
                    }),
                };
                let docs = version_documents(&slug, &version, &guides);
                search_db::insert_many(&mut tx, api_id, Some(version_id), &docs).await?;
            }
        }
        tx.commit().await?;
        done += 1;
    }
    // References stored before they were kept in parts: split from the stored rendering, the
    // same split a publish makes.
    let unsplit: Vec<i64> = sqlx::query_scalar(
        "SELECT r.version_id FROM rendered_artifacts r
         WHERE r.kind = 'reference' AND r.html <> ''
           AND NOT EXISTS (SELECT 1 FROM reference_sections s WHERE s.version_id = r.version_id)",
    )
    .fetch_all(store.pool())
    .await?;
    for version_id in unsplit {
        let Some((html, toc_json)) =
            crate::server::db::catalog::artifact(store.pool(), version_id, "reference", "").await?
        else {
            continue;
        };
        let toc: Vec<crate::model::TocEntry> = serde_json::from_str(&toc_json).unwrap_or_default();
        let mut tx = store.pool().begin().await?;
        crate::server::db::catalog::store_reference_sections(
            &mut tx,
            version_id,
            &openapi::sections(&html, &toc),
        )
        .await?;
        tx.commit().await?;
        done += 1;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> GuideFile {
        GuideFile {
            file_name: name.into(),
            source: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn guides_are_ordered_by_front_matter_then_file_name() {
        let guides = prepare_guides(
            "orders",
            vec![
                file("b-errors.md", "# Errors\n\nSee [auth](01-auth.md#keys)."),
                file(
                    "01-auth.md",
                    "---\ntitle: Authentication\norder: 2\n---\n# Keys\n",
                ),
                file("z-intro.md", "---\norder: 1\n---\n# Welcome\n"),
                file("a-limits.md", "Limits, no heading."),
            ],
        )
        .unwrap();
        let order: Vec<(&str, &str)> = guides
            .iter()
            .map(|g| (g.slug.as_str(), g.title.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                ("z-intro", "Welcome"),
                ("auth", "Authentication"),
                ("a-limits", "a limits"),
                ("b-errors", "Errors"),
            ]
        );
        assert!(
            guides[3]
                .html
                .contains("href=\"/apis/orders/guides/auth#keys\"")
        );
        assert!(!guides[1].html.contains("order: 2"));
    }

    #[test]
    fn guide_problems_name_the_file_and_are_all_reported() {
        let problems = match prepare_guides(
            "orders",
            vec![
                file("bad.md", "---\ntitle: [unclosed\n---\nx"),
                file("open.md", "---\ntitle: x\n"),
                GuideFile {
                    file_name: "latin1.md".into(),
                    source: vec![b'a', 0xff, b'b'],
                },
                file("one/x.md", "# X"),
                file("two/x.md", "# X"),
            ],
        ) {
            Err(p) => p,
            Ok(_) => panic!("bad guides were accepted"),
        };
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 4, "{text:?}");
        assert!(text[0].starts_with("bad.md (front matter): the front matter is not valid YAML"));
        assert!(text[1].contains("open.md") && text[1].contains("never closed"));
        assert!(text[2].starts_with("latin1.md (byte 1): the file is not valid UTF-8"));
        assert!(text[3].contains("'x'"));
    }

    #[test]
    fn slugs_drop_numbering_and_punctuation() {
        assert_eq!(guide_slug("02-Getting_Started.md"), "getting-started");
        assert_eq!(guide_slug("docs/2024.md"), "2024");
        assert_eq!(guide_slug("stripe-cli_README.md"), "stripe-cli-readme");
        assert_eq!(guide_slug("---.md"), "guide");
    }

    #[test]
    fn labels_are_checked() {
        assert!(check_label("2.1.0-beta+7").is_ok());
        assert!(check_label("").is_err());
        assert!(check_label("v1/../x").is_err());
        assert!(check_label(&"1".repeat(65)).is_err());
    }
}
