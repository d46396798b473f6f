//! Browsing the catalog. What a person may see is decided here, for every caller.

use crate::domain::catalog::{ApiSlug, CatalogQuery};
use crate::model::{
    ApiDetail, CatalogFacets, CatalogFilter, CatalogResults, ChangelogPage, GuideLink, GuidePage,
    ReferenceNavEntry, ReferencePage, TocEntry, VersionDiff,
};
use crate::server::actor::Actor;
use crate::server::db::catalog::StoredDiff;
use crate::server::db::{self, Store, catalog::Viewer};
use crate::server::error::ServiceError;
use crate::server::render::{diff, openapi};

#[tracing::instrument(skip(store, actor), fields(person = actor.person_id))]
pub async fn list(
    store: &Store,
    actor: &Actor,
    filter: &CatalogFilter,
    now: i64,
) -> Result<CatalogResults, ServiceError> {
    let query =
        CatalogQuery::parse(filter).map_err(|e| ServiceError::Invalid(format!("Filter: {e}.")))?;
    let (apis, total) = db::catalog::list(store.pool(), &Viewer::new(actor, now), &query).await?;
    Ok(CatalogResults {
        apis,
        total,
        page: query.page,
        per_page: CatalogQuery::PER_PAGE,
    })
}

/// The filter's choices, drawn only from what the person can see.
#[tracing::instrument(skip(store, actor), fields(person = actor.person_id))]
pub async fn facets(store: &Store, actor: &Actor, now: i64) -> Result<CatalogFacets, ServiceError> {
    let (visible_total, teams, tags) =
        db::catalog::facets(store.pool(), &Viewer::new(actor, now)).await?;
    Ok(CatalogFacets {
        visible_total,
        teams,
        tags,
    })
}

/// What the version an API's pages show offers: its guides and whether it has a reference.
struct Shown {
    version: Option<(i64, String)>,
    guides: Vec<GuideLink>,
    has_reference: bool,
}

/// The version asked for by label, or the one shown by default. An unknown label is not found.
async fn shown_or(
    store: &Store,
    api_id: i64,
    label: Option<&str>,
    what: &str,
) -> Result<Shown, ServiceError> {
    let Some(label) = label.filter(|l| !l.is_empty()) else {
        return shown(store, api_id).await;
    };
    let version = db::catalog::version_by_label(store.pool(), api_id, label)
        .await?
        .ok_or_else(|| {
            ServiceError::NotFound(format!(
                "{what} of version '{}'",
                label.chars().take(64).collect::<String>()
            ))
        })?;
    shown_version(store, version).await
}

async fn shown(store: &Store, api_id: i64) -> Result<Shown, ServiceError> {
    match db::catalog::shown_version(store.pool(), api_id).await? {
        Some(version) => shown_version(store, version).await,
        None => Ok(Shown {
            version: None,
            guides: Vec::new(),
            has_reference: false,
        }),
    }
}

async fn shown_version(
    store: &Store,
    (version_id, label): (i64, String),
) -> Result<Shown, ServiceError> {
    Ok(Shown {
        guides: db::catalog::guides(store.pool(), version_id).await?,
        has_reference: db::catalog::has_artifact(store.pool(), version_id, "reference").await?,
        version: Some((version_id, label)),
    })
}

/// The id, slug and name of an API the person may see. One they may not see is reported as
/// not found (as `what`), so its existence does not leak.
async fn visible(
    store: &Store,
    actor: &Actor,
    slug: &str,
    what: &str,
    now: i64,
) -> Result<(i64, String, String), ServiceError> {
    let not_found = || ServiceError::NotFound(what.to_owned());
    let slug = ApiSlug::parse(slug).map_err(|_| not_found())?;
    db::catalog::find_visible_name(store.pool(), &Viewer::new(actor, now), slug.as_str())
        .await?
        .ok_or_else(not_found)
}

/// One API's overview. An API the person may not see is reported as not found, so its
/// existence does not leak.
#[tracing::instrument(skip(store, actor), fields(person = actor.person_id))]
pub async fn get(
    store: &Store,
    actor: &Actor,
    slug: &str,
    now: i64,
) -> Result<ApiDetail, ServiceError> {
    let not_found = || {
        ServiceError::NotFound(format!(
            "The API '{}'",
            slug.chars().take(64).collect::<String>()
        ))
    };
    let slug = ApiSlug::parse(slug).map_err(|_| not_found())?;
    let record = db::catalog::find_visible(store.pool(), &Viewer::new(actor, now), slug.as_str())
        .await?
        .ok_or_else(not_found)?;
    let shown = shown(store, record.id).await?;
    let can_edit = crate::server::authz::edit_api(actor, record.id, record.owner_team_id).is_some();
    Ok(ApiDetail {
        summary: record.summary,
        description_html: record.description_html,
        environments: record.environments,
        scopes: record.scopes,
        versions: record.versions,
        links: record.links,
        guides: shown.guides,
        has_reference: shown.has_reference,
        can_edit,
    })
}

/// An API's OpenAPI reference, as rendered and stored when its version was published.
#[tracing::instrument(skip(store, actor), fields(person = actor.person_id))]
pub async fn reference(
    store: &Store,
    actor: &Actor,
    slug: &str,
    version: Option<&str>,
    section: Option<&str>,
    now: i64,
) -> Result<ReferencePage, ServiceError> {
    const WHAT: &str = "The API reference";
    let (api_id, api_slug, api_name) = visible(store, actor, slug, WHAT, now).await?;
    let shown = shown_or(store, api_id, version, WHAT).await?;
    let not_found = || ServiceError::NotFound(WHAT.into());
    let (version_id, label) = shown.version.ok_or_else(not_found)?;
    if !shown.has_reference {
        return Err(not_found());
    }
    let mut parts: Vec<(String, String, Vec<TocEntry>)> =
        db::catalog::reference_parts(store.pool(), version_id)
            .await?
            .into_iter()
            .map(|(anchor, title, nav)| {
                (
                    anchor,
                    title,
                    serde_json::from_str(&nav).unwrap_or_default(),
                )
            })
            .collect();
    // Parts are written at publish and filled in at start-up; a version published by a replica
    // still running older code has none yet, and is split here for this answer.
    let mut unsplit: Option<Vec<openapi::Section>> = None;
    if parts.is_empty() {
        let (html, toc_json) = db::catalog::artifact(store.pool(), version_id, "reference", "")
            .await?
            .ok_or_else(not_found)?;
        let toc: Vec<TocEntry> = serde_json::from_str(&toc_json).unwrap_or_default();
        let split = openapi::sections(&html, &toc);
        parts = split
            .iter()
            .map(|p| (p.anchor.clone(), p.title.clone(), p.nav.clone()))
            .collect();
        unsplit = Some(split);
    }
    // Without a part asked for: the overview and the first part after it.
    let asked = section.filter(|s| !s.is_empty());
    let wanted: Vec<&str> = match asked {
        Some(anchor) => {
            if !parts.iter().any(|(a, ..)| a == anchor) {
                return Err(ServiceError::NotFound(format!(
                    "The reference section '{}'",
                    anchor.chars().take(64).collect::<String>()
                )));
            }
            vec![anchor]
        }
        None => parts.iter().take(2).map(|(a, ..)| a.as_str()).collect(),
    };
    let mut html = match &unsplit {
        Some(split) => split
            .iter()
            .filter(|p| wanted.contains(&p.anchor.as_str()))
            .map(|p| p.html.as_str())
            .collect::<String>(),
        None => db::catalog::reference_html(store.pool(), version_id, &wanted)
            .await?
            .concat(),
    };
    // Links to other parts name the version when the page does.
    if let Some(label) = version.filter(|v| !v.is_empty()) {
        html = html.replace(
            "href=\"?section=",
            &format!(
                "href=\"?version={}&amp;section=",
                crate::domain::url::encode_component(label)
            ),
        );
    }
    let section = wanted.last().map(|s| (*s).to_owned()).unwrap_or_default();
    let nav = parts
        .into_iter()
        .flat_map(|(anchor, _, entries)| {
            entries.into_iter().map(move |e| ReferenceNavEntry {
                level: e.level,
                id: e.id,
                title: e.title,
                section: anchor.clone(),
            })
        })
        .collect();
    Ok(ReferencePage {
        versions: db::catalog::versions_with(store.pool(), api_id, Some("reference")).await?,
        api_slug,
        api_name,
        version: label,
        first_guide: shown.guides.into_iter().next().map(|g| g.slug),
        html,
        section,
        nav,
    })
}

/// One guide of an API, as rendered and stored when its version was published. Visibility is
/// the API's: a guide of an API the person may not see is not found either.
#[tracing::instrument(skip(store, actor), fields(person = actor.person_id))]
pub async fn guide(
    store: &Store,
    actor: &Actor,
    slug: &str,
    guide: &str,
    version: Option<&str>,
    now: i64,
) -> Result<GuidePage, ServiceError> {
    const WHAT: &str = "The guide";
    let (api_id, api_slug, api_name) = visible(store, actor, slug, WHAT, now).await?;
    let shown = shown_or(store, api_id, version, WHAT).await?;
    let not_found = || ServiceError::NotFound(WHAT.into());
    let (version_id, version) = shown.version.ok_or_else(not_found)?;
    let current = shown
        .guides
        .iter()
        .find(|g| g.slug == guide)
        .cloned()
        .ok_or_else(not_found)?;
    let (html, toc_json) = db::catalog::artifact(store.pool(), version_id, "guide", &current.slug)
        .await?
        .ok_or_else(not_found)?;
    Ok(GuidePage {
        versions: db::catalog::versions_with(store.pool(), api_id, None).await?,
        api_slug,
        api_name,
        version,
        guides: shown.guides,
        guide: current,
        html,
        toc: serde_json::from_str(&toc_json).unwrap_or_default(),
        has_reference: shown.has_reference,
    })
}

/// An API's changelog: every version with its release notes as stored at publish time.
#[tracing::instrument(skip(store, actor), fields(person = actor.person_id))]
pub async fn changelog(
    store: &Store,
    actor: &Actor,
    slug: &str,
    now: i64,
) -> Result<ChangelogPage, ServiceError> {
    let (api_id, api_slug, api_name) = visible(store, actor, slug, "The changelog", now).await?;
    let shown = shown(store, api_id).await?;
    Ok(ChangelogPage {
        api_slug,
        api_name,
        first_guide: shown.guides.into_iter().next().map(|g| g.slug),
        has_reference: shown.has_reference,
        entries: db::catalog::changelog(store.pool(), api_id).await?,
        diffs: db::catalog::stored_diffs(store.pool(), api_id).await?,
    })
}

/// What changed between two versions of an API's spec: operations added and removed, and the
/// changes that break clients. Both versions need a spec.
#[tracing::instrument(skip(store, actor), fields(person = actor.person_id))]
pub async fn diff(
    store: &Store,
    actor: &Actor,
    slug: &str,
    from: Option<&str>,
    to: Option<&str>,
    now: i64,
) -> Result<VersionDiff, ServiceError> {
    let (api_id, _, _) = visible(store, actor, slug, "The API", now).await?;
    let (Some(from), Some(to)) = (from.filter(|f| !f.is_empty()), to.filter(|t| !t.is_empty()))
    else {
        return Err(ServiceError::Invalid(
            "Name the two versions: ?from=LABEL&to=LABEL".into(),
        ));
    };
    let mut versions = Vec::with_capacity(2);
    for label in [from, to] {
        let short: String = label.chars().take(64).collect();
        let (id, source) = db::catalog::version_spec(store.pool(), api_id, label)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("The version '{short}'")))?;
        let source = source.ok_or_else(|| {
            ServiceError::Invalid(format!(
                "The version '{short}' has no OpenAPI document to compare."
            ))
        })?;
        versions.push((id, short, source));
    }
    // Two neighbours were diffed at publish time; anything else is computed now, off the
    // async workers.
    if let Some(stored) =
        db::catalog::stored_diff(store.pool(), versions[0].0, versions[1].0).await?
    {
        return Ok(stored.into_view(from, to));
    }
    let [(_, from_short, old), (_, to_short, new)] =
        <[(i64, String, String); 2]>::try_from(versions)
            .map_err(|_| ServiceError::Invalid("two versions".into()))?;
    let found = tokio::task::spawn_blocking(move || {
        let parse = |short: &str, source: &str| {
            openapi::parse(source.as_bytes(), usize::MAX)
                .map(|(v, _)| v)
                .map_err(|p| ServiceError::Invalid(format!("The version '{short}': {p}")))
        };
        let old = parse(&from_short, &old)?;
        let new = parse(&to_short, &new)?;
        Ok::<_, ServiceError>(diff::diff(&old, &new))
    })
    .await
    .map_err(|e| ServiceError::Invalid(format!("The versions could not be compared: {e}")))??;
    let stored: StoredDiff =
        serde_json::from_value(serde_json::to_value(&found).unwrap_or_default())
            .unwrap_or_default();
    Ok(stored.into_view(from, to))
}

/// An image from an API's docs folder.
pub struct Asset {
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
}

/// An image from an API's docs folder, for those who may see the API; for anyone else, and for
/// a path that is not there, not found.
pub async fn asset(
    store: &Store,
    actor: &Actor,
    slug: &str,
    path: &str,
    now: i64,
) -> Result<Asset, ServiceError> {
    const WHAT: &str = "The image";
    let (api_id, _, _) = visible(store, actor, slug, WHAT, now).await?;
    let (content_type, bytes, sha256) = db::catalog::asset(store.pool(), api_id, path)
        .await?
        .ok_or_else(|| ServiceError::NotFound(WHAT.into()))?;
    Ok(Asset {
        content_type,
        bytes,
        sha256,
    })
}
