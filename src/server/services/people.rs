//! People: what a person sees of themself.

use super::sessions::{self, Timeouts};
use crate::model::{PersonRef, Profile};
use crate::server::actor::Actor;
use crate::server::db::{self, Store};
use crate::server::error::ServiceError;

/// "My profile": the acting person's own record, teams and live sessions. It takes no person
/// id, so nobody can ask for someone else's.
pub async fn my_profile(
    store: &Store,
    actor: &Actor,
    current_token: Option<&str>,
    timeouts: Timeouts,
    now: i64,
) -> Result<Profile, ServiceError> {
    let row = db::people::profile(store.pool(), actor.person_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("Your profile".into()))?;
    let person = |name: Option<String>, email: Option<String>| {
        Some(PersonRef {
            name: name?,
            email: email?,
        })
    };
    Ok(Profile {
        me: actor.me(),
        title: row.title,
        department: row.department,
        company: row.company,
        manager: person(row.manager_name, row.manager_email),
        sponsor: person(row.sponsor_name, row.sponsor_email),
        contract_ends_at: row.contract_ends_at,
        teams: db::people::memberships(store.pool(), actor.person_id).await?,
        sessions: sessions::list_live(store, actor.person_id, current_token, timeouts, now).await?,
    })
}
