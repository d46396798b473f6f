//! Docs as code: `gatehouse import PATH` reads one folder per API and brings the catalog in line
//! with it. Each folder holds
//!
//! - `gatehouse.yaml`: the API's metadata, environments, scopes and versions (oldest first, each
//!   naming its OpenAPI file);
//! - the OpenAPI files it names;
//! - `docs/*.md`: the guides, ordered by `order` in their front matter, then by file name;
//! - images under `docs/` that the guides show.
//!
//! Each API is read and checked whole (metadata, every spec, every guide) before anything of it
//! is written, then written in one transaction: a re-import updates in place and removes the
//! versions, guides, environments, scopes and images that are no longer there. An API that fails
//! changes nothing; the others still import.

use super::api_edit::{MetadataError, store_metadata};
use super::audit::{self, Action, Event, Who};
use super::publish::{
    self, GuideFile, Origin, PreparedGuide, PreparedVersion, Problem, VersionInput, write_version,
};
use crate::domain::catalog::{ApiMetadata, ApiSlug};
use crate::model::{ApiEdit, EnvironmentInput, ScopeInput, VersionStatus};
use crate::server::db::Store;
use crate::server::secrets::sha256_hex;
use serde::Deserialize;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

pub const MANIFEST: &str = "gatehouse.yaml";
/// An image is refused past this size.
pub const MAX_ASSET_BYTES: usize = 5 * 1024 * 1024;
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    slug: String,
    name: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    description: String,
    owner: String,
    lifecycle: String,
    #[serde(default = "default_visibility")]
    visibility: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    links: Links,
    #[serde(default)]
    environments: Vec<EnvironmentInput>,
    #[serde(default)]
    scopes: Vec<ScopeInput>,
    #[serde(default)]
    versions: Vec<VersionManifest>,
}

fn default_visibility() -> String {
    "employees".into()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Links {
    repository: Option<String>,
    runbook: Option<String>,
    chat: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionManifest {
    label: String,
    #[serde(default = "default_status")]
    status: String,
    spec: Option<String>,
    #[serde(default)]
    release_notes: String,
}

fn default_status() -> String {
    "current".into()
}

/// An image a guide shows, by its path under `docs/`.
pub struct Asset {
    pub path: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// One API's folder, read and checked, ready to write.
struct Checked {
    slug: String,
    team_id: i64,
    meta: ApiMetadata,
    description_html: String,
    versions: Vec<PreparedVersion>,
    guides: Vec<PreparedGuide>,
    assets: Vec<Asset>,
}

/// What happened to one API.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    Failed(Vec<String>),
}

#[derive(Debug)]
pub struct ApiReport {
    /// The folder, relative to the imported path.
    pub folder: String,
    pub slug: Option<String>,
    pub outcome: Outcome,
    pub versions: usize,
    pub guides: usize,
    pub operations: usize,
    pub assets: usize,
    pub removed: Vec<String>,
}

impl ApiReport {
    fn failed(folder: String, slug: Option<String>, problems: Vec<String>) -> Self {
        Self {
            folder,
            slug,
            outcome: Outcome::Failed(problems),
            versions: 0,
            guides: 0,
            operations: 0,
            assets: 0,
            removed: Vec::new(),
        }
    }

    /// One paragraph for the terminal.
    pub fn render(&self) -> String {
        let name = self.slug.as_deref().unwrap_or(&self.folder);
        let mut out = String::new();
        match &self.outcome {
            Outcome::Failed(problems) => {
                let _ = writeln!(
                    out,
                    "{name} ({}): not imported, {} problem{}:",
                    self.folder,
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                );
                for p in problems {
                    let _ = writeln!(out, "  - {p}");
                }
            }
            outcome => {
                let verb = if *outcome == Outcome::Created {
                    "created"
                } else {
                    "updated"
                };
                let _ = writeln!(
                    out,
                    "{name}: {verb}: {} version(s), {} guide(s), {} operation(s), {} image(s)",
                    self.versions, self.guides, self.operations, self.assets
                );
                if !self.removed.is_empty() {
                    let _ = writeln!(out, "  removed: {}", self.removed.join(", "));
                }
            }
        }
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The path given is not a folder of API folders. (A store error fails only the API it hit;
    /// it is in that API's report.)
    #[error("{0}")]
    Path(String),
}

/// The API folders under `root`: `root` itself when it has a `gatehouse.yaml`, otherwise each
/// folder directly inside it that has one.
pub fn find_folders(root: &Path) -> Result<Vec<PathBuf>, ImportError> {
    if !root.is_dir() {
        return Err(ImportError::Path(format!(
            "{} is not a folder",
            root.display()
        )));
    }
    if root.join(MANIFEST).is_file() {
        return Ok(vec![root.to_owned()]);
    }
    let entries = std::fs::read_dir(root)
        .map_err(|e| ImportError::Path(format!("cannot read {}: {e}", root.display())))?;
    let mut folders: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir() && p.join(MANIFEST).is_file())
        .collect();
    folders.sort();
    if folders.is_empty() {
        return Err(ImportError::Path(format!(
            "no {MANIFEST} in {} or the folders directly inside it",
            root.display()
        )));
    }
    Ok(folders)
}

/// A path named in the manifest, kept inside the folder: no `..`, no absolute path, and no
/// symbolic link on the way that leads out of it.
fn inside(folder: &Path, relative: &str) -> Result<PathBuf, String> {
    let outside = || "the path must stay inside the API's folder".to_owned();
    let path = Path::new(relative);
    if relative.is_empty()
        || path
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(outside());
    }
    let joined = folder.join(path);
    let real = joined
        .canonicalize()
        .map_err(|e| format!("cannot open it: {e}"))?;
    let root = folder
        .canonicalize()
        .map_err(|e| format!("cannot open the folder: {e}"))?;
    if !real.starts_with(&root) {
        return Err(outside());
    }
    Ok(real)
}

fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    // Only regular files: a FIFO or device would block or never end.
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot open it: {e}"))?;
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open it: {e}"))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {e}"))?;
    Ok(bytes)
}

fn image_type(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        _ => return None,
    })
}

/// The guides (`docs/*.md`) and images (anywhere under `docs/`) of a folder.
fn read_docs(folder: &Path, problems: &mut Vec<String>) -> (Vec<GuideFile>, Vec<Asset>) {
    let docs = folder.join("docs");
    let mut guides = Vec::new();
    let mut assets = Vec::new();
    if docs.is_symlink() {
        problems.push("docs: symbolic links are not followed".into());
        return (guides, assets);
    }
    if !docs.is_dir() {
        return (guides, assets);
    }
    let mut stack = vec![docs.clone()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            problems.push(format!("cannot read {}", dir.display()));
            continue;
        };
        let mut entries: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            let relative = path
                .strip_prefix(&docs)
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            if path.is_symlink() {
                problems.push(format!("docs/{relative}: symbolic links are not followed"));
            } else if path.is_dir() {
                stack.push(path);
            } else if relative.ends_with(".md") && !relative.contains('/') {
                match read_limited(&path, publish::MAX_GUIDE_BYTES as u64) {
                    Ok(source) => guides.push(GuideFile {
                        file_name: relative,
                        source,
                    }),
                    Err(e) => problems.push(format!("docs/{relative}: {e}")),
                }
            } else if let Some(content_type) = image_type(&relative) {
                match read_limited(&path, MAX_ASSET_BYTES as u64) {
                    Ok(bytes) if bytes.len() > MAX_ASSET_BYTES => problems.push(format!(
                        "docs/{relative}: the image is over {} MB",
                        MAX_ASSET_BYTES / (1024 * 1024)
                    )),
                    Ok(bytes) => assets.push(Asset {
                        path: relative,
                        content_type,
                        bytes,
                    }),
                    Err(e) => problems.push(format!("docs/{relative}: {e}")),
                }
            }
        }
    }
    (guides, assets)
}

fn problem_text(p: &Problem, prefix: &str) -> String {
    let shown = Problem {
        file: if p.file.is_empty() {
            String::new()
        } else {
            format!("{prefix}{}", p.file)
        },
        ..p.clone()
    };
    shown.to_string()
}

/// Reads and checks one API folder. Nothing is written.
async fn check(
    store: &Store,
    folder: &Path,
    max_spec_bytes: usize,
) -> Result<Checked, (Option<String>, Vec<String>)> {
    let manifest_path = folder.join(MANIFEST);
    let bytes = read_limited(&manifest_path, MAX_MANIFEST_BYTES)
        .map_err(|e| (None, vec![format!("{MANIFEST}: {e}")]))?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err((None, vec![format!("{MANIFEST}: larger than 1 MB")]));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| (None, vec![format!("{MANIFEST}: not valid UTF-8")]))?;
    let manifest: Manifest = crate::server::render::yaml::parse(&text).map_err(|e| {
        let at = e
            .location()
            .map(|at| format!(" ({at})"))
            .unwrap_or_default();
        (None, vec![format!("{MANIFEST}{at}: {e}")])
    })?;
    let slug = Some(manifest.slug.clone());
    let mut problems = Vec::new();
    if let Err(e) = ApiSlug::parse(&manifest.slug) {
        problems.push(format!("{MANIFEST}: {e}"));
    }
    let edit = ApiEdit {
        name: manifest.name,
        summary: manifest.summary,
        description_md: manifest.description,
        lifecycle: manifest.lifecycle,
        visibility: manifest.visibility,
        tags: manifest.tags.join(","),
        repository_url: manifest.links.repository.unwrap_or_default(),
        runbook_url: manifest.links.runbook.unwrap_or_default(),
        chat_channel: manifest.links.chat.unwrap_or_default(),
        environments: manifest.environments,
        scopes: manifest.scopes,
        revision: None,
    };
    let meta = match ApiMetadata::parse(&edit) {
        Ok(meta) => Some(meta),
        Err(found) => {
            problems.extend(found.into_iter().map(|p| format!("{MANIFEST}: {p}")));
            None
        }
    };
    let team_id: Option<i64> = sqlx::query_scalar("SELECT id FROM teams WHERE slug = $1")
        .bind(&manifest.owner)
        .fetch_optional(store.pool())
        .await
        .map_err(|e| (slug.clone(), vec![format!("store: {e}")]))?;
    if team_id.is_none() {
        problems.push(format!(
            "{MANIFEST}: the owner team '{}' does not exist",
            manifest.owner
        ));
    }
    // An import never moves an API to another team: a folder claiming someone else's slug
    // would otherwise take it over.
    let current_owner: Option<String> = sqlx::query_scalar(
        "SELECT t.slug FROM apis a JOIN teams t ON t.id = a.owner_team_id WHERE a.slug = $1",
    )
    .bind(&manifest.slug)
    .fetch_optional(store.pool())
    .await
    .map_err(|e| (slug.clone(), vec![format!("store: {e}")]))?;
    if let Some(owner) = current_owner.filter(|o| *o != manifest.owner) {
        problems.push(format!(
            "{MANIFEST}: the API '{}' belongs to the team '{owner}', not '{}'; an admin changes an API's owner",
            manifest.slug, manifest.owner
        ));
    }
    // Versions are listed oldest first: a new one goes after those already published.
    let published: Vec<String> = sqlx::query_scalar(
        "SELECT v.label FROM api_versions v JOIN apis a ON a.id = v.api_id WHERE a.slug = $1",
    )
    .bind(&manifest.slug)
    .fetch_all(store.pool())
    .await
    .map_err(|e| (slug.clone(), vec![format!("store: {e}")]))?;
    let mut seen_new: Option<&str> = None;
    for v in &manifest.versions {
        let exists = published.contains(&v.label);
        match (exists, seen_new) {
            (false, None) => seen_new = Some(&v.label),
            (true, Some(new)) => problems.push(format!(
                "{MANIFEST}: the new version '{new}' is listed before '{}', which is already published; list versions oldest first",
                v.label
            )),
            _ => {}
        }
    }

    let (guide_files, assets) = read_docs(folder, &mut problems);
    if !guide_files.is_empty() && manifest.versions.is_empty() {
        problems.push(format!(
            "{MANIFEST}: the guides in docs/ need at least one version to belong to"
        ));
    }
    let guides = match publish::prepare_guides(&manifest.slug, guide_files) {
        Ok(g) => g,
        Err(found) => {
            problems.extend(found.iter().map(|p| problem_text(p, "docs/")));
            Vec::new()
        }
    };
    let base_url = meta
        .as_ref()
        .and_then(|m| m.environments.first())
        .map(|e| e.base_url.clone());
    let mut versions = Vec::new();
    let mut labels: Vec<&str> = Vec::new();
    for v in &manifest.versions {
        if labels.contains(&v.label.as_str()) {
            problems.push(format!(
                "{MANIFEST}: the version '{}' is listed twice",
                v.label
            ));
        }
        labels.push(&v.label);
        let status = match v.status.parse::<VersionStatus>() {
            Ok(s) => s,
            Err(e) => {
                problems.push(format!("{MANIFEST}: version {}: {e}", v.label));
                continue;
            }
        };
        let spec = match &v.spec {
            None => None,
            Some(file) => {
                match inside(folder, file).and_then(|p| read_limited(&p, max_spec_bytes as u64)) {
                    Ok(bytes) => Some((file.clone(), bytes)),
                    Err(e) => {
                        problems.push(format!("version {}: spec {file}: {e}", v.label));
                        continue;
                    }
                }
            }
        };
        let input = VersionInput {
            label: v.label.clone(),
            status,
            release_notes: v.release_notes.clone(),
            spec,
        };
        match publish::prepare_version(&manifest.slug, base_url.as_deref(), input, max_spec_bytes) {
            Ok(p) => versions.push(p),
            Err(found) => problems.extend(
                found
                    .iter()
                    .map(|p| format!("version {}: {}", v.label, problem_text(p, ""))),
            ),
        }
    }
    match (meta, team_id) {
        (Some(meta), Some(team_id)) if problems.is_empty() => Ok(Checked {
            description_html: super::api_edit::render_description(
                &manifest.slug,
                &meta.description_md,
            ),
            slug: manifest.slug,
            team_id,
            meta,
            versions,
            guides,
            assets,
        }),
        _ => Err((slug, problems)),
    }
}

/// Writes one checked API in one transaction.
async fn write(
    store: &Store,
    api: &Checked,
    folder: &str,
    now: i64,
) -> Result<ApiReport, (Vec<String>, Option<sqlx::Error>)> {
    let store_err = |e: sqlx::Error| (Vec::new(), Some(e));
    let mut tx = audit::write_tx(store).await.map_err(store_err)?;
    let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM apis WHERE slug = $1")
        .bind(&api.slug)
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_err)?;
    let api_id = match existing {
        Some(id) => {
            sqlx::query("UPDATE apis SET owner_team_id = $2 WHERE id = $1")
                .bind(id)
                .bind(api.team_id)
                .execute(&mut *tx)
                .await
                .map_err(store_err)?;
            id
        }
        None => sqlx::query_scalar(
            "INSERT INTO apis (slug, name, owner_team_id, lifecycle, visibility, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(&api.slug)
        .bind(&api.meta.name)
        .bind(api.team_id)
        .bind(api.meta.lifecycle.as_str())
        .bind(api.meta.visibility.as_str())
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(store_err)?,
    };
    let removed_meta = match store_metadata(
        &mut tx,
        api_id,
        &api.slug,
        &api.meta,
        &api.description_html,
        now,
    )
    .await
    {
        Ok(r) => r,
        Err(MetadataError::InUse(m)) => return Err((vec![format!("{MANIFEST}: {m}")], None)),
        Err(MetadataError::Store(e)) => return Err(store_err(e)),
    };
    let mut removed: Vec<String> = removed_meta
        .environments
        .into_iter()
        .map(|e| format!("environment {e}"))
        .chain(
            removed_meta
                .scopes
                .into_iter()
                .map(|s| format!("scope {s}")),
        )
        .collect();

    // Versions this import wrote before and no longer lists go, with their guides, renderings
    // and search documents. Versions a team's CI published stay.
    let old_versions: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, label FROM api_versions WHERE api_id = $1 AND origin = 'import' ORDER BY id",
    )
    .bind(api_id)
    .fetch_all(&mut *tx)
    .await
    .map_err(store_err)?;
    let old_guides: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT g.slug FROM guides g JOIN api_versions v ON v.id = g.version_id WHERE v.api_id = $1",
    )
    .bind(api_id)
    .fetch_all(&mut *tx)
    .await
    .map_err(store_err)?;
    for (id, label) in &old_versions {
        if api.versions.iter().any(|v| &v.label == label) {
            continue;
        }
        for sql in [
            "DELETE FROM search_documents WHERE version_id = $1",
            "DELETE FROM version_diffs WHERE from_version_id = $1 OR to_version_id = $1",
            "DELETE FROM api_versions WHERE id = $1",
        ] {
            sqlx::query(sql)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(store_err)?;
        }
        removed.push(format!("version {label}"));
    }
    for slug in old_guides {
        if !api.guides.iter().any(|g| g.slug == slug) {
            removed.push(format!("guide {slug}"));
        }
    }
    for (i, version) in api.versions.iter().enumerate() {
        // Listed oldest first: a new version is published one second after the one before it,
        // so the order survives on both backends.
        let at = now + i as i64 - api.versions.len() as i64 + 1;
        write_version(
            &mut tx,
            api_id,
            &api.slug,
            version,
            Some(&api.guides),
            Origin::Import,
            at,
        )
        .await
        .map_err(store_err)?;
    }

    let old_assets: Vec<String> =
        sqlx::query_scalar("SELECT path FROM api_assets WHERE api_id = $1")
            .bind(api_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(store_err)?;
    sqlx::query("DELETE FROM api_assets WHERE api_id = $1")
        .bind(api_id)
        .execute(&mut *tx)
        .await
        .map_err(store_err)?;
    for a in &api.assets {
        sqlx::query(
            "INSERT INTO api_assets (api_id, path, content_type, bytes, sha256, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(api_id)
        .bind(&a.path)
        .bind(a.content_type)
        .bind(a.bytes.as_slice())
        .bind(sha256_hex(&a.bytes))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(store_err)?;
    }
    for path in old_assets {
        if !api.assets.iter().any(|a| a.path == path) {
            removed.push(format!("image {path}"));
        }
    }
    let operations = api
        .versions
        .last()
        .and_then(|v| v.spec.as_ref())
        .map_or(0, |s| s.reference.operations.len());
    audit::record(
        &mut tx,
        &Event {
            who: Who::Other("gatehouse import".into()),
            action: Action::ApiImported,
            target_kind: "api",
            target_id: api.slug.clone(),
            details: serde_json::json!({
                "created": existing.is_none(),
                "versions": api.versions.iter().map(|v| &v.label).collect::<Vec<_>>(),
                "guides": api.guides.len(),
                "images": api.assets.len(),
                "removed": removed,
            }),
            ip: None,
        },
        now,
    )
    .await
    .map_err(store_err)?;
    tx.commit().await.map_err(store_err)?;
    Ok(ApiReport {
        folder: folder.to_owned(),
        slug: Some(api.slug.clone()),
        outcome: if existing.is_some() {
            Outcome::Updated
        } else {
            Outcome::Created
        },
        versions: api.versions.len(),
        guides: api.guides.len(),
        operations,
        assets: api.assets.len(),
        removed,
    })
}

/// Imports every API folder under `root`, each on its own: one that fails changes nothing and
/// is reported with all its problems.
pub async fn import(
    store: &Store,
    root: &Path,
    max_spec_bytes: usize,
    now: i64,
) -> Result<Vec<ApiReport>, ImportError> {
    let folders = find_folders(root)?;
    let mut reports = Vec::new();
    for folder in folders {
        let name = folder
            .strip_prefix(root)
            .ok()
            .map(|p| p.to_string_lossy().into_owned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| {
                folder
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| ".".into())
            });
        let report = match check(store, &folder, max_spec_bytes).await {
            Err((slug, problems)) => ApiReport::failed(name, slug, problems),
            Ok(api) => match write(store, &api, &name, now).await {
                Ok(report) => report,
                Err((problems, None)) => ApiReport::failed(name, Some(api.slug.clone()), problems),
                // Nothing of this API was written; the others may still import.
                Err((_, Some(e))) => {
                    tracing::error!(error = %e, api = %api.slug, "import: store error");
                    ApiReport::failed(name, Some(api.slug.clone()), vec![format!("store: {e}")])
                }
            },
        };
        reports.push(report);
    }
    Ok(reports)
}
