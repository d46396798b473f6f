//! API keys under grants: created by the grant's holder (scopes within the grant's, an expiry
//! within the grant's, an optional IP allowlist and rate limit), shown once, stored only as a
//! keyed hash; rotated with a grace period for the old secret; revoked by the holder, the API's
//! team owners or admins. A revoked grant revokes its keys in the same transaction; a grant that
//! ends, a deactivated person or an ended contract stop them at verification.

use crate::domain::access::KEY_RATE_CEILING;
use crate::model::{ApiRef, KeyCreated, KeyInput, KeyUsageDay, KeyView, PersonKind, PersonRef};
use crate::server::actor::Actor;
use crate::server::db::Store;
use crate::server::error::ServiceError;
use crate::server::keys;
use crate::server::services::audit::{self, Action, Event, Who};
use sqlx::{AnyConnection, Row};

const DAY: i64 = 86_400;
/// Live keys one grant may hold.
pub const MAX_LIVE_KEYS_PER_GRANT: i64 = 10;

/// Parses an IP allowlist: CIDRs (or single addresses) separated by commas, spaces or lines.
pub fn parse_allowlist(text: &str) -> Result<Vec<ipnet::IpNet>, String> {
    let mut out = Vec::new();
    for item in text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        let net = item
            .parse::<ipnet::IpNet>()
            .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| {
                format!(
                    "'{}' is not an IP address or CIDR (like 10.0.0.0/8 or 2001:db8::/32).",
                    item.chars().take(60).collect::<String>()
                )
            })?;
        if !out.contains(&net) {
            out.push(net);
        }
    }
    if out.len() > 50 {
        return Err("At most 50 entries in an IP allowlist.".into());
    }
    Ok(out)
}

fn store_err(e: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Protocol(e.to_string())
}

struct GrantRow {
    person_id: i64,
    api_id: i64,
    environment: String,
    base_url: String,
    ends_at: i64,
    active: bool,
}

async fn grant(
    conn: &mut AnyConnection,
    id: i64,
    now: i64,
) -> Result<Option<GrantRow>, sqlx::Error> {
    sqlx::query(
        "SELECT g.person_id, g.api_id, g.expires_at, g.revoked_at, e.name AS env, e.base_url,
                p.kind, p.contract_ends_at, p.deactivated_at
         FROM grants g JOIN environments e ON e.id = g.environment_id
              JOIN people p ON p.id = g.person_id WHERE g.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| {
        let ends_at: i64 = crate::server::db::contract_capped(&r, r.try_get("expires_at")?)?;
        Ok(GrantRow {
            person_id: r.try_get("person_id")?,
            api_id: r.try_get("api_id")?,
            environment: r.try_get("env")?,
            base_url: r.try_get("base_url")?,
            active: r.try_get::<Option<i64>, _>("revoked_at")?.is_none()
                && r.try_get::<Option<i64>, _>("deactivated_at")?.is_none()
                && ends_at > now,
            ends_at,
        })
    })
    .transpose()
}

/// Creates a key under one of the actor's own grants.
#[tracing::instrument(skip(store, pepper, actor, input), fields(person = actor.person_id))]
pub async fn create(
    store: &Store,
    pepper: &[u8],
    actor: &Actor,
    input: &KeyInput,
    now: i64,
) -> Result<KeyCreated, ServiceError> {
    let mut tx = audit::write_tx(store).await?;
    let not_found = || ServiceError::NotFound("The grant".into());
    let g = grant(&mut tx, input.grant_id, now)
        .await?
        .ok_or_else(not_found)?;
    // Only the holder creates keys under a grant; to anyone else it does not exist.
    if g.person_id != actor.person_id {
        return Err(not_found());
    }
    if !g.active {
        return Err(ServiceError::Conflict(
            "This grant has ended or was revoked: ask for access again.".into(),
        ));
    }
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(ServiceError::Invalid(
            "Name the key after the app that uses it, in at most 80 characters.".into(),
        ));
    }
    let granted: Vec<(i64, String)> = sqlx::query_as(
        "SELECT s.id, s.name FROM grant_scopes gs JOIN scopes s ON s.id = gs.scope_id WHERE gs.grant_id = $1 ORDER BY s.name",
    )
    .bind(input.grant_id)
    .fetch_all(&mut *tx)
    .await?;
    let mut scopes: Vec<(i64, String)> = Vec::new();
    for asked in &input.scopes {
        match granted.iter().find(|(_, n)| n == asked.trim()) {
            Some(s) if !scopes.contains(s) => scopes.push(s.clone()),
            Some(_) => {}
            None => {
                return Err(ServiceError::Invalid(format!(
                    "'{}' is not a scope of this grant (it has {}).",
                    asked.chars().take(60).collect::<String>(),
                    granted
                        .iter()
                        .map(|(_, n)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
    }
    if scopes.is_empty() {
        return Err(ServiceError::Invalid("Choose at least one scope.".into()));
    }
    // The API's policy gives the key's default expiry and its highest rate limit.
    let rules = crate::server::services::access::policy_of(&mut tx, g.api_id)
        .await?
        .0
        .keys;
    let expires_at = match input.expires_on.trim() {
        "" => g.ends_at.min(now + i64::from(rules.default_days) * DAY),
        text => {
            let day = crate::domain::time::parse_date(text).ok_or_else(|| {
                ServiceError::Invalid("The expiry must be a date like 2027-01-31.".into())
            })?;
            let at = day + DAY;
            if at <= now {
                return Err(ServiceError::Invalid("The expiry is in the past.".into()));
            }
            if at > g.ends_at {
                return Err(ServiceError::Invalid(format!(
                    "A key cannot outlive its grant, which ends {}.",
                    crate::domain::time::format_date_time(g.ends_at)
                )));
            }
            at
        }
    };
    let allowlist = parse_allowlist(&input.ip_allowlist).map_err(ServiceError::Invalid)?;
    let max_rate = rules.max_rate_per_minute.unwrap_or(KEY_RATE_CEILING);
    let rate: Option<i64> = match input.rate_limit_per_minute.trim() {
        // Where the policy sets a maximum, a key without a limit of its own gets that maximum.
        "" => rules.max_rate_per_minute.map(i64::from),
        text => Some(
            text.parse::<u32>()
                .ok()
                .filter(|r| (1..=max_rate).contains(r))
                .map(i64::from)
                .ok_or_else(|| {
                    ServiceError::Invalid(if rules.max_rate_per_minute.is_some() {
                        format!(
                            "The rate limit must be a whole number of requests per minute from 1 to {max_rate} (the API's policy)."
                        )
                    } else {
                        format!(
                            "The rate limit must be a whole number of requests per minute from 1 to {max_rate}."
                        )
                    })
                })?,
        ),
    };
    let live: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM api_keys WHERE grant_id = $1 AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(input.grant_id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    if live >= MAX_LIVE_KEYS_PER_GRANT {
        return Err(ServiceError::Conflict(format!(
            "This grant already has {MAX_LIVE_KEYS_PER_GRANT} live keys; revoke one first."
        )));
    }
    let allowlist_text = allowlist
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(",");
    // A lookup id that is taken (one in 62^8) is drawn again.
    let (secret, lookup, key_id) = loop {
        let (secret, lookup) = keys::generate(&g.environment);
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM api_keys WHERE lookup_id = $1")
            .bind(&lookup)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            continue;
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_keys (grant_id, person_id, name, lookup_id, secret_hash, ip_allowlist,
                                   rate_limit_per_minute, created_at, expires_at, environment_marker)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(input.grant_id)
        .bind(actor.person_id)
        .bind(name)
        .bind(&lookup)
        .bind(keys::keyed_hash(pepper, &secret))
        .bind((!allowlist_text.is_empty()).then_some(&allowlist_text))
        .bind(rate)
        .bind(now)
        .bind(expires_at)
        .bind(keys::environment_marker(&g.environment))
        .fetch_one(&mut *tx)
        .await?;
        break (secret, lookup, id);
    };
    for (scope_id, _) in &scopes {
        sqlx::query("INSERT INTO api_key_scopes (key_id, scope_id) VALUES ($1, $2)")
            .bind(key_id)
            .bind(scope_id)
            .execute(&mut *tx)
            .await?;
    }
    audit::record(
        &mut tx,
        &Event {
            who: Who::actor(actor),
            action: Action::KeyCreated,
            target_kind: "api_key",
            target_id: key_id.to_string(),
            details: serde_json::json!({
                "grant": input.grant_id, "prefix": keys::public_prefix(&g.environment, &lookup),
                "scopes": scopes.iter().map(|(_, n)| n).collect::<Vec<_>>(), "expires_at": expires_at,
                "ip_allowlist": allowlist_text, "rate_limit_per_minute": rate,
            }),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    let key = one(store, key_id, now).await?;
    Ok(KeyCreated {
        curl: curl(&g.base_url, &secret),
        secret,
        key,
    })
}

fn curl(base_url: &str, secret: &str) -> String {
    format!(
        "curl -H 'Authorization: Bearer {secret}' {}/",
        base_url.trim_end_matches('/')
    )
}

const SELECT: &str = "SELECT k.id, k.name, k.lookup_id, k.grant_id, k.created_at, k.expires_at, k.last_used_at,
        k.revoked_at, k.revoke_reason, k.previous_valid_until, k.rotations, k.ip_allowlist, k.rate_limit_per_minute,
        a.slug, a.name AS api_name, e.name AS env, p.name AS holder, p.email, p.kind, p.contract_ends_at,
        p.deactivated_at, g.revoked_at AS grant_revoked, g.expires_at AS grant_expires
     FROM api_keys k JOIN grants g ON g.id = k.grant_id JOIN apis a ON a.id = g.api_id
          JOIN environments e ON e.id = g.environment_id JOIN people p ON p.id = k.person_id";

async fn views(
    conn: &mut AnyConnection,
    condition: &str,
    param: i64,
    now: i64,
) -> Result<Vec<KeyView>, sqlx::Error> {
    let rows = sqlx::query(&format!("{SELECT} WHERE {condition} ORDER BY k.revoked_at IS NOT NULL, k.created_at DESC, k.id DESC LIMIT 500"))
        .bind(param)
        .fetch_all(&mut *conn)
        .await?;
    let today = now - now.rem_euclid(DAY);
    let mut out = Vec::new();
    for r in rows {
        let id: i64 = r.try_get("id")?;
        let env: String = r.try_get("env")?;
        let ends = crate::server::db::contract_capped(
            &r,
            r.try_get::<i64, _>("expires_at")?
                .min(r.try_get("grant_expires")?),
        )?;
        let revoked_at: Option<i64> = r.try_get("revoked_at")?;
        let active = revoked_at.is_none()
            && r.try_get::<Option<i64>, _>("grant_revoked")?.is_none()
            && r.try_get::<Option<i64>, _>("deactivated_at")?.is_none()
            && ends > now;
        let usage_rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT day, result, count FROM key_usage WHERE key_id = $1 AND day > $2",
        )
        .bind(id)
        .bind(today - 14 * DAY)
        .fetch_all(&mut *conn)
        .await?;
        let usage = (0..14)
            .rev()
            .map(|back| {
                let day = today - back * DAY;
                let (allowed, denied) = usage_rows.iter().filter(|(d, _, _)| *d == day).fold(
                    (0, 0),
                    |(a, d), (_, result, count)| {
                        if result == "ok" {
                            (a + count, d)
                        } else {
                            (a, d + count)
                        }
                    },
                );
                KeyUsageDay {
                    day,
                    allowed,
                    denied,
                }
            })
            .collect();
        out.push(KeyView {
            id,
            name: r.try_get("name")?,
            prefix: keys::public_prefix(&env, &r.try_get::<String, _>("lookup_id")?),
            api: ApiRef {
                slug: r.try_get("slug")?,
                name: r.try_get("api_name")?,
            },
            environment: env,
            scopes: sqlx::query_scalar(
                "SELECT s.name FROM api_key_scopes ks JOIN scopes s ON s.id = ks.scope_id WHERE ks.key_id = $1 ORDER BY s.name",
            )
            .bind(id)
            .fetch_all(&mut *conn)
            .await?,
            holder: PersonRef {
                name: r.try_get("holder")?,
                email: r.try_get("email")?,
            },
            grant_id: r.try_get("grant_id")?,
            created_at: r.try_get("created_at")?,
            expires_at: ends,
            last_used_at: r.try_get("last_used_at")?,
            revoked_at,
            revoke_reason: r.try_get("revoke_reason")?,
            rotations: r.try_get("rotations")?,
            previous_valid_until: r
                .try_get::<Option<i64>, _>("previous_valid_until")?
                .filter(|t| *t > now),
            ip_allowlist: r
                .try_get::<Option<String>, _>("ip_allowlist")?
                .map(|t| t.split(',').map(str::to_owned).collect())
                .unwrap_or_default(),
            rate_limit_per_minute: r.try_get("rate_limit_per_minute")?,
            active,
            usage,
        });
    }
    Ok(out)
}

async fn one(store: &Store, id: i64, now: i64) -> Result<KeyView, ServiceError> {
    let mut conn = store.pool().acquire().await?;
    views(&mut conn, "k.id = $1", id, now)
        .await?
        .pop()
        .ok_or_else(|| ServiceError::Store(store_err("the key just written")))
}

/// The actor's own keys.
pub async fn mine(store: &Store, actor: &Actor, now: i64) -> Result<Vec<KeyView>, ServiceError> {
    let mut conn = store.pool().acquire().await?;
    Ok(views(&mut conn, "k.person_id = $1", actor.person_id, now).await?)
}

/// The keys for one API: for its team's owners and admins (never the secrets).
pub async fn for_api(
    store: &Store,
    actor: &Actor,
    slug: &str,
    now: i64,
) -> Result<Vec<KeyView>, ServiceError> {
    let not_found = || ServiceError::NotFound("The API".into());
    let slug = crate::domain::catalog::ApiSlug::parse(slug).map_err(|_| not_found())?;
    let (api_id, team_id) = crate::server::db::catalog::id_and_owner(store.pool(), slug.as_str())
        .await?
        .ok_or_else(not_found)?;
    if crate::server::authz::edit_api(actor, api_id, team_id).is_none() {
        return Err(ServiceError::Forbidden);
    }
    let mut conn = store.pool().acquire().await?;
    Ok(views(&mut conn, "g.api_id = $1", api_id, now).await?)
}

/// An API's usage over the last 14 days: for its team's owners and admins.
pub async fn api_usage(
    store: &Store,
    actor: &Actor,
    slug: &str,
    now: i64,
) -> Result<crate::model::ApiUsage, ServiceError> {
    let not_found = || ServiceError::NotFound("The API".into());
    let slug = crate::domain::catalog::ApiSlug::parse(slug).map_err(|_| not_found())?;
    let (api_id, team_id) = crate::server::db::catalog::id_and_owner(store.pool(), slug.as_str())
        .await?
        .ok_or_else(not_found)?;
    if crate::server::authz::edit_api(actor, api_id, team_id).is_none() {
        return Err(ServiceError::Forbidden);
    }
    let today = now - now.rem_euclid(DAY);
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT u.day, u.result, CAST(SUM(u.count) AS BIGINT) FROM key_usage u
         JOIN api_keys k ON k.id = u.key_id JOIN grants g ON g.id = k.grant_id
         WHERE g.api_id = $1 AND u.day > $2 GROUP BY u.day, u.result",
    )
    .bind(api_id)
    .bind(today - 14 * DAY)
    .fetch_all(store.pool())
    .await?;
    let days = (0..14)
        .rev()
        .map(|back| {
            let day = today - back * DAY;
            let (allowed, denied) = rows.iter().filter(|(d, _, _)| *d == day).fold(
                (0, 0),
                |(a, d), (_, result, count)| {
                    if result == "ok" {
                        (a + count, d)
                    } else {
                        (a, d + count)
                    }
                },
            );
            KeyUsageDay {
                day,
                allowed,
                denied,
            }
        })
        .collect();
    let mut denials: Vec<(String, i64)> = Vec::new();
    for (_, result, count) in rows.iter().filter(|(_, r, _)| r != "ok") {
        match denials.iter_mut().find(|(r, _)| r == result) {
            Some((_, c)) => *c += count,
            None => denials.push((result.clone(), *count)),
        }
    }
    denials.sort_by_key(|d| std::cmp::Reverse(d.1));
    Ok(crate::model::ApiUsage { days, denials })
}

struct KeyRow {
    lookup_id: String,
    person_id: i64,
    grant_id: i64,
    revoked: bool,
    owner_team_id: i64,
}

async fn key_row(conn: &mut AnyConnection, id: i64) -> Result<Option<KeyRow>, sqlx::Error> {
    sqlx::query(
        "SELECT k.lookup_id, k.person_id, k.grant_id, k.revoked_at, a.owner_team_id
         FROM api_keys k JOIN grants g ON g.id = k.grant_id JOIN apis a ON a.id = g.api_id WHERE k.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| {
        Ok(KeyRow {
            lookup_id: r.try_get("lookup_id")?,
            person_id: r.try_get("person_id")?,
            grant_id: r.try_get("grant_id")?,
            revoked: r.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
            owner_team_id: r.try_get("owner_team_id")?,
        })
    })
    .transpose()
}

/// A new secret for a key; the old one keeps working for `grace_seconds`. The holder only.
/// `seen_rotations` is the key's rotation count the holder saw (`KeyView::rotations`): a second
/// request made on the same view (a double click, another tab) is refused, since rotating again
/// would put the unused first new secret in the grace slot and cut off the one in use at once.
pub async fn rotate(
    store: &Store,
    pepper: &[u8],
    actor: &Actor,
    id: i64,
    seen_rotations: i64,
    grace_seconds: i64,
    now: i64,
) -> Result<KeyCreated, ServiceError> {
    let mut tx = audit::write_tx(store).await?;
    let not_found = || ServiceError::NotFound("The key".into());
    let k = key_row(&mut tx, id).await?.ok_or_else(not_found)?;
    if k.person_id != actor.person_id {
        return Err(not_found());
    }
    if k.revoked {
        return Err(ServiceError::Conflict(
            "A revoked key cannot be rotated.".into(),
        ));
    }
    let g = grant(&mut tx, k.grant_id, now)
        .await?
        .ok_or_else(not_found)?;
    if !g.active {
        return Err(ServiceError::Conflict(
            "This key's grant has ended or was revoked.".into(),
        ));
    }
    // Same lookup id, new secret: the key keeps its identity and history.
    let marker = keys::environment_marker(&g.environment);
    let secret = keys::with_lookup(&marker, &k.lookup_id);
    let rotated = sqlx::query(
        "UPDATE api_keys SET previous_secret_hash = secret_hash, previous_valid_until = $2, secret_hash = $3,
                rotated_at = $4, rotations = rotations + 1
         WHERE id = $1 AND rotations = $5",
    )
    .bind(id)
    .bind(now + grace_seconds)
    .bind(keys::keyed_hash(pepper, &secret))
    .bind(now)
    .bind(seen_rotations)
    .execute(&mut *tx)
    .await?;
    if rotated.rows_affected() != 1 {
        return Err(ServiceError::Conflict(
            "This key was rotated again after your page was loaded: its newest secret was shown \
             then. Reload to see the key as it is, and rotate again only if you must."
                .into(),
        ));
    }
    notify_change(&mut tx, store, &k.lookup_id).await?;
    audit::record(
        &mut tx,
        &Event {
            who: Who::actor(actor),
            action: Action::KeyRotated,
            target_kind: "api_key",
            target_id: id.to_string(),
            details: serde_json::json!({ "previous_valid_until": now + grace_seconds }),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    store.key_changed(Some(&k.lookup_id));
    Ok(KeyCreated {
        key: one(store, id, now).await?,
        curl: curl(&g.base_url, &secret),
        secret,
    })
}

/// Revokes a key at once: by its holder, the API's team owners or admins.
pub async fn revoke(
    store: &Store,
    actor: &Actor,
    id: i64,
    reason: &str,
    now: i64,
) -> Result<(), ServiceError> {
    let reason = crate::domain::access::parse_comment(reason).map_err(ServiceError::Invalid)?;
    let mut tx = audit::write_tx(store).await?;
    let not_found = || ServiceError::NotFound("The key".into());
    let k = key_row(&mut tx, id).await?.ok_or_else(not_found)?;
    let holder = k.person_id == actor.person_id;
    let owner =
        actor.is_admin || (actor.kind == PersonKind::Employee && actor.owns_team(k.owner_team_id));
    if !holder && !owner {
        return Err(not_found());
    }
    let done = sqlx::query(
        "UPDATE api_keys SET revoked_at = $2, revoked_by = $3, revoke_reason = $4 WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .bind(actor.person_id)
    .bind(reason.as_deref())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(ServiceError::Conflict(
            "This key was already revoked.".into(),
        ));
    }
    notify_change(&mut tx, store, &k.lookup_id).await?;
    audit::record(
        &mut tx,
        &Event {
            who: Who::actor(actor),
            action: Action::KeyRevoked,
            target_kind: "api_key",
            target_id: id.to_string(),
            details: serde_json::json!({ "reason": reason, "by_holder": holder }),
            ip: None,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    store.key_changed(Some(&k.lookup_id));
    Ok(())
}

/// Revokes every live key under a grant, inside the caller's transaction (the grant is being
/// revoked). The caller announces the change after commit.
pub async fn revoke_for_grant(
    conn: &mut AnyConnection,
    store: &Store,
    grant_id: i64,
    by: i64,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE api_keys SET revoked_at = $2, revoked_by = $3, revoke_reason = 'grant revoked'
         WHERE grant_id = $1 AND revoked_at IS NULL",
    )
    .bind(grant_id)
    .bind(now)
    .bind(by)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() > 0 {
        notify_change(conn, store, "*").await?;
    }
    Ok(done.rows_affected())
}

/// A person's state changed (deactivated, engagement ended): every verifier forgets what it
/// cached, here at once after commit (`announce`) and on other replicas through NOTIFY.
pub async fn people_changed(conn: &mut AnyConnection, store: &Store) -> Result<(), sqlx::Error> {
    notify_change(conn, store, "*").await
}

/// After the commit of a change made with [`people_changed`].
pub fn announce_people_changed(store: &Store) {
    store.key_changed(None);
}

/// On PostgreSQL, tells every replica (on commit) that a key changed; `*` means "forget all".
async fn notify_change(
    conn: &mut AnyConnection,
    store: &Store,
    lookup_id: &str,
) -> Result<(), sqlx::Error> {
    if store.backend() == crate::server::db::Backend::Postgres {
        sqlx::query("SELECT pg_notify('gatehouse_keys', $1)")
            .bind(lookup_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Tells holders 7 days and 1 day before a live key expires; each notice goes once, also with
/// several replicas (conditional updates).
pub async fn run_due(store: &Store, now: i64) -> Result<usize, ServiceError> {
    let mut sent = 0;
    for (column, days) in [("notified_7d_at", 7), ("notified_1d_at", 1)] {
        let due: Vec<(i64, i64, String)> = sqlx::query_as(&format!(
            "SELECT id, person_id, name FROM api_keys
             WHERE revoked_at IS NULL AND {column} IS NULL AND expires_at > $1 AND expires_at <= $2
             ORDER BY id LIMIT 500"
        ))
        .bind(now)
        .bind(now + days * DAY)
        .fetch_all(store.pool())
        .await?;
        for (id, holder, name) in due {
            let mut tx = store.pool().begin().await?;
            let claimed = sqlx::query(&format!(
                "UPDATE api_keys SET {column} = $2 WHERE id = $1 AND {column} IS NULL"
            ))
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() != 1 {
                continue;
            }
            let when = if days == 1 { "tomorrow" } else { "in 7 days" };
            crate::server::services::notify::note(
                &mut tx,
                &crate::server::services::notify::Note {
                    people: &[holder],
                    kind: "key_expiring",
                    subject: format!("Your API key \u{201c}{name}\u{201d} expires {when}"),
                    body:
                        "Create a new key under the grant (or ask for access again) before it ends."
                            .into(),
                    link: "/keys".into(),
                    team_event: None,
                },
                now,
            )
            .await?;
            tx.commit().await?;
            sent += 1;
        }
    }
    Ok(sent)
}
