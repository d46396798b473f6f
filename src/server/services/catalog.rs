//! Browsing the catalog. What a person may see is decided here, for every caller.

use crate::domain::catalog::{ApiSlug, CatalogQuery};
use crate::model::{ApiDetail, ApiSummary, CatalogFacets, CatalogFilter};
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
    Ok(ApiDetail {
        summary: record.summary,
        description_md: record.description_md,
        environments: record.environments,
        scopes: record.scopes,
        versions: record.versions,
        links: record.links,
    })
}
