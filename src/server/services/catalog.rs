//! Browsing the catalog. What a person may see is decided here, for every caller.

use crate::domain::catalog::{ApiSlug, CatalogQuery};
use crate::model::{
    ApiDetail, ApiSummary, CatalogFacets, CatalogFilter, ChangelogPage, GuidePage, ReferencePage,
};
use crate::server::actor::Actor;
use crate::server::db::{self, Store, catalog::Viewer};
use crate::server::error::ServiceError;

#[tracing::instrument(skip(store, actor), fields(person = actor.person_id))]
pub async fn list(
    store: &Store,
    actor: &Actor,
    filter: &CatalogFilter,
    now: i64,
) -> Result<Vec<ApiSummary>, ServiceError> {
    let query =
        CatalogQuery::parse(filter).map_err(|e| ServiceError::Invalid(format!("Filter: {e}.")))?;
    Ok(db::catalog::list(store.pool(), &Viewer::new(actor, now), &query).await?)
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
    let (guides, has_reference) = match db::catalog::shown_version(store.pool(), record.id).await? {
        Some((version_id, _)) => (
            db::catalog::guides(store.pool(), version_id).await?,
            db::catalog::artifact(store.pool(), version_id, "reference", "")
                .await?
                .is_some(),
        ),
        None => (Vec::new(), false),
    };
    Ok(ApiDetail {
        summary: record.summary,
        description_md: record.description_md,
        environments: record.environments,
        scopes: record.scopes,
        versions: record.versions,
        links: record.links,
        guides,
        has_reference,
    })
}

/// An API's OpenAPI reference, as rendered and stored when its version was published.
#[tracing::instrument(skip(store, actor), fields(person = actor.person_id))]
pub async fn reference(
    store: &Store,
    actor: &Actor,
    slug: &str,
    now: i64,
) -> Result<ReferencePage, ServiceError> {
    let not_found = || ServiceError::NotFound("The API reference".into());
    let slug = ApiSlug::parse(slug).map_err(|_| not_found())?;
    let record = db::catalog::find_visible(store.pool(), &Viewer::new(actor, now), slug.as_str())
        .await?
        .ok_or_else(not_found)?;
    let (version_id, version) = db::catalog::shown_version(store.pool(), record.id)
        .await?
        .ok_or_else(not_found)?;
    let (html, nav_json) = db::catalog::artifact(store.pool(), version_id, "reference", "")
        .await?
        .ok_or_else(not_found)?;
    let first_guide = db::catalog::guides(store.pool(), version_id)
        .await?
        .into_iter()
        .next()
        .map(|g| g.slug);
    Ok(ReferencePage {
        api_slug: record.summary.slug.clone(),
        api_name: record.summary.name.clone(),
        version,
        first_guide,
        html,
        nav: serde_json::from_str(&nav_json).unwrap_or_default(),
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
    now: i64,
) -> Result<GuidePage, ServiceError> {
    let not_found = || ServiceError::NotFound("The guide".into());
    let slug = ApiSlug::parse(slug).map_err(|_| not_found())?;
    let record = db::catalog::find_visible(store.pool(), &Viewer::new(actor, now), slug.as_str())
        .await?
        .ok_or_else(not_found)?;
    let (version_id, version) = db::catalog::shown_version(store.pool(), record.id)
        .await?
        .ok_or_else(not_found)?;
    let guides = db::catalog::guides(store.pool(), version_id).await?;
    let current = guides
        .iter()
        .find(|g| g.slug == guide)
        .cloned()
        .ok_or_else(not_found)?;
    let (html, toc_json) = db::catalog::artifact(store.pool(), version_id, "guide", &current.slug)
        .await?
        .ok_or_else(not_found)?;
    let toc = serde_json::from_str(&toc_json).unwrap_or_default();
    let has_reference = db::catalog::artifact(store.pool(), version_id, "reference", "")
        .await?
        .is_some();
    Ok(GuidePage {
        api_slug: record.summary.slug.clone(),
        api_name: record.summary.name.clone(),
        version,
        guides,
        guide: current,
        html,
        toc,
        has_reference,
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
    let not_found = || ServiceError::NotFound("The changelog".into());
    let slug = ApiSlug::parse(slug).map_err(|_| not_found())?;
    let record = db::catalog::find_visible(store.pool(), &Viewer::new(actor, now), slug.as_str())
        .await?
        .ok_or_else(not_found)?;
    let (first_guide, has_reference) =
        match db::catalog::shown_version(store.pool(), record.id).await? {
            Some((version_id, _)) => (
                db::catalog::guides(store.pool(), version_id)
                    .await?
                    .into_iter()
                    .next()
                    .map(|g| g.slug),
                db::catalog::artifact(store.pool(), version_id, "reference", "")
                    .await?
                    .is_some(),
            ),
            None => (None, false),
        };
    Ok(ChangelogPage {
        api_slug: record.summary.slug.clone(),
        api_name: record.summary.name.clone(),
        first_guide,
        has_reference,
        entries: db::catalog::changelog(store.pool(), record.id).await?,
    })
}
