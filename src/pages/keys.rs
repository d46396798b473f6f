//! API keys: "My keys" (create under a grant, see the secret once, rotate, revoke, usage), and
//! the admins' gateway credentials. Actions and resources are owned by each page, above
//! `SignedIn`'s Suspense, so they stay alive however the Suspense's children are rebuilt and the
//! server creates (and fetches) each resource once per render.

use crate::api::{
    CreateGateway, CreateKey, RevokeGateway, RevokeKey, RotateKey, list_gateways, my_grants,
    my_keys,
};
use crate::components::Title;
use crate::components::{EmptyState, ErrorPanel, SignedIn};
use crate::domain::access::KEY_RATE_CEILING;
use crate::domain::time::{format_date, format_date_time};
use crate::model::{AppError, GatewayCredentialView, GrantView, KeyCreated, KeyUsageDay, KeyView};
use crate::pages::areas::{KeysArea, KeysPages};
use leptos::form::ActionForm;
use leptos::prelude::*;

fn loading() -> impl IntoView {
    view! { <p class="muted">"Loading…"</p> }
}

/// Fourteen days of calls as a sparkline: allowed in the accent colour, denied in red.
#[component]
pub fn Sparkline(usage: Vec<KeyUsageDay>) -> impl IntoView {
    let max = usage
        .iter()
        .map(|d| d.allowed.max(d.denied))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let points = |pick: fn(&KeyUsageDay) -> i64| {
        usage
            .iter()
            .enumerate()
            .map(|(i, d)| format!("{},{:.1}", i * 8, 22.0 - pick(d) as f64 / max * 20.0))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let total: i64 = usage.iter().map(|d| d.allowed).sum();
    let denied: i64 = usage.iter().map(|d| d.denied).sum();
    view! {
        <svg class="sparkline" viewBox="0 0 104 24" width="104" height="24" role="img"
            aria-label=format!("{total} calls allowed and {denied} denied in 14 days")>
            <polyline points=points(|d| d.allowed) class="spark-allowed" />
            <polyline points=points(|d| d.denied) class="spark-denied" />
        </svg>
    }
}

/// A secret shown once, with a copy button and an example call.
#[component]
fn ShowOnce(created: KeyCreated) -> impl IntoView {
    let copied = RwSignal::new(false);
    let secret = created.secret.clone();
    let copy = move |_| {
        crate::components::copy_to_clipboard(&secret);
        copied.set(true);
    };
    view! {
        <div class="panel secret-once" role="status" data-testid="new-key">
            <p><strong>"Copy this key now: it is shown only once."</strong></p>
            <div class="copy-row">
                <input type="text" readonly value=created.secret.clone() aria-label="The new key" on:focus=crate::components::select_all />
                <button class="button" type="button" on:click=copy>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
            <p class="muted">"Try it:"</p>
            <pre class="curl">{created.curl.clone()}</pre>
        </div>
    }
}

#[component]
pub fn KeysPage() -> impl IntoView {
    view! { <KeysArea page=KeysPages::Keys /> }
}

/// The page's interactive part, in the keys area's island.
#[component]
pub fn Keys() -> impl IntoView {
    let create = ServerAction::<CreateKey>::new();
    let rotate = ServerAction::<RotateKey>::new();
    let revoke = ServerAction::<RevokeKey>::new();
    let keys = Resource::new(
        move || {
            (
                create.version().get(),
                rotate.version().get(),
                revoke.version().get(),
            )
        },
        |_| my_keys(),
    );
    let grants = Resource::new(|| (), |_| my_grants());
    view! {
        <SignedIn>
            <KeysBody create rotate revoke keys grants />
        </SignedIn>
    }
}

#[component]
fn KeysBody(
    create: ServerAction<CreateKey>,
    rotate: ServerAction<RotateKey>,
    revoke: ServerAction<RevokeKey>,
    keys: Resource<Result<Vec<KeyView>, AppError>>,
    grants: Resource<Result<Vec<GrantView>, AppError>>,
) -> impl IntoView {
    let error = move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| rotate.value().get().and_then(Result::err))
            .or_else(|| revoke.value().get().and_then(Result::err))
    };
    let shown = move || {
        create
            .value()
            .get()
            .and_then(Result::ok)
            .or_else(|| rotate.value().get().and_then(Result::ok))
    };
    view! {
        <Title text="My keys" />
        <h1>"My keys"</h1>
        <p class="lead">"Keys for the APIs you were granted. Gateways check each call's key against Gatehouse."</p>
        {move || error().map(|error| view! { <ErrorPanel error /> })}
        {move || shown().map(|created| view! { <ShowOnce created /> })}
        <Suspense fallback=loading>
            {move || {
                keys.get()
                    .map(|result| match result {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(list) if list.is_empty() => {
                            view! {
                                <EmptyState title="No keys yet">
                                    <p>"Create one below, under a grant you hold."</p>
                                </EmptyState>
                            }
                                .into_any()
                        }
                        Ok(list) => view! { <KeysTable keys=list rotate=Some(rotate) revoke /> }.into_any(),
                    })
            }}
        </Suspense>
        <section class="section">
            <h2>"New key"</h2>
            <Suspense fallback=loading>
                {move || {
                    grants
                        .get()
                        .map(|result| match result {
                            Err(error) => view! { <ErrorPanel error /> }.into_any(),
                            Ok(list) => {
                                let live: Vec<GrantView> = list.into_iter().filter(|g| g.active).collect();
                                if live.is_empty() {
                                    view! {
                                        <p class="muted">"You hold no access yet: request it from an API's page, then create keys here."</p>
                                    }
                                        .into_any()
                                } else {
                                    live.into_iter().map(|g| new_key_form(g, create)).collect_view().into_any()
                                }
                            }
                        })
                }}
            </Suspense>
        </section>
    }
}

fn new_key_form(g: GrantView, create: ServerAction<CreateKey>) -> impl IntoView {
    view! {
        <ActionForm action=create attr:class="panel form-grid new-key" attr:data-testid=format!("new-key-{}", g.api.slug)>
            <h3 class="field-wide">{format!("{} · {}", g.api.name, g.environment)}<span class="muted">{format!(" until {}", format_date(g.ends_at))}</span></h3>
            <input type="hidden" name="key[grant_id]" value=g.id />
            <label class="field">"Name (the app using it)" <input type="text" name="key[name]" required maxlength="80" /></label>
            <fieldset class="field scopes-pick">
                <legend>"Scopes"</legend>
                {g.scopes
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        view! {
                            <label class="scope-choice">
                                <input type="checkbox" name=format!("key[scopes][{i}]") value=s.clone() checked=true />
                                <code>{s.clone()}</code>
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <label class="field">
                "Expires on (optional)"
                <input type="date" name="key[expires_on]" />
                <span class="hint">{format!("Empty: {} days, or the grant's end if sooner.", g.key_default_days)}</span>
            </label>
            <label class="field">"IP allowlist (optional CIDRs)" <input type="text" name="key[ip_allowlist]" placeholder="10.0.0.0/8, 192.0.2.7" /></label>
            <label class="field">
                "Rate limit per minute (optional)"
                <input type="number" name="key[rate_limit_per_minute]" min="1" max=g.key_max_rate.unwrap_or(KEY_RATE_CEILING) />
                <span class="hint">
                    {match g.key_max_rate {
                        Some(max) => format!("At most {max} (the API's policy); empty: {max}."),
                        None => "Empty: no limit.".to_owned(),
                    }}
                </span>
            </label>
            <div class="form-actions field-wide"><button class="button button-primary" type="submit">"Create key"</button></div>
        </ActionForm>
    }
}

/// Keys as a table; the holder may rotate (`rotate` given), the holder and owners revoke.
#[component]
pub fn KeysTable(
    keys: Vec<KeyView>,
    rotate: Option<ServerAction<RotateKey>>,
    revoke: ServerAction<RevokeKey>,
) -> impl IntoView {
    view! {
        <table class="table keys" data-testid="keys">
            <thead>
                <tr>
                    <th>"Key"</th>
                    <th>"API"</th>
                    <th>"Scopes"</th>
                    <th>"Expires"</th>
                    <th>"Last used"</th>
                    <th>"14 days"</th>
                    <th>"State"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {keys
                    .into_iter()
                    .map(|k| {
                        let state = if let Some(at) = k.revoked_at {
                            format!("Revoked {}{}", format_date(at), k.revoke_reason.clone().map(|r| format!(": {r}")).unwrap_or_default())
                        } else if !k.active {
                            "Ended".to_owned()
                        } else if let Some(until) = k.previous_valid_until {
                            format!("Active; the old secret works until {}", format_date_time(until))
                        } else {
                            "Active".to_owned()
                        };
                        let active = k.active;
                        view! {
                            <tr class=if active { "key-active" } else { "key-ended" } data-key=k.prefix.clone()>
                                <td><strong>{k.name.clone()}</strong><br /><code>{format!("{}…", k.prefix)}</code><br /><span class="muted">{k.holder.name.clone()}</span></td>
                                <td>{k.api.name.clone()}<br /><span class="muted">{k.environment.clone()}</span></td>
                                <td><code>{k.scopes.join(" ")}</code></td>
                                <td>{format_date(k.expires_at)}</td>
                                <td>{k.last_used_at.map(format_date_time).unwrap_or_else(|| "never".into())}</td>
                                <td><Sparkline usage=k.usage.clone() /></td>
                                <td data-testid="key-state">{state}</td>
                                <td class="key-actions">
                                    {rotate
                                        .filter(|_| active)
                                        .map(|rotate| {
                                            view! {
                                                <ActionForm action=rotate attr:class="inline-form">
                                                    <input type="hidden" name="id" value=k.id />
                                                    <input type="hidden" name="rotations" value=k.rotations />
                                                    <button class="button" type="submit">"Rotate"</button>
                                                </ActionForm>
                                            }
                                        })}
                                    {active
                                        .then(|| {
                                            view! {
                                                <ActionForm action=revoke attr:class="revoke-form">
                                                    <input type="hidden" name="id" value=k.id />
                                                    <input type="text" name="reason" placeholder="Reason" maxlength="500" aria-label="Reason" />
                                                    <button class="button button-danger" type="submit">"Revoke"</button>
                                                </ActionForm>
                                            }
                                        })}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn GatewaysPage() -> impl IntoView {
    view! { <KeysArea page=KeysPages::Gateways /> }
}

/// The page's interactive part, in the keys area's island.
#[component]
pub fn Gateways() -> impl IntoView {
    let create = ServerAction::<CreateGateway>::new();
    let revoke = ServerAction::<RevokeGateway>::new();
    let list = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_gateways(),
    );
    view! {
        <SignedIn>
            <GatewaysBody create revoke list />
        </SignedIn>
    }
}

#[component]
fn GatewaysBody(
    create: ServerAction<CreateGateway>,
    revoke: ServerAction<RevokeGateway>,
    list: Resource<Result<Vec<GatewayCredentialView>, AppError>>,
) -> impl IntoView {
    view! {
        <Title text="Gateways" />
        <h1>"Gateway credentials"</h1>
        <p class="lead">"Gateways present one of these to verify keys: "<code>"Authorization: Bearer"</code>" on "<code>"/api/v1/keys/verify"</code>", "<code>"X-Gatehouse-Gateway"</code>" on "<code>"/api/v1/authz"</code>"."</p>
        {move || create.value().get().and_then(Result::err).or_else(|| revoke.value().get().and_then(Result::err)).map(|error| view! { <ErrorPanel error /> })}
        {move || {
            create
                .value()
                .get()
                .and_then(Result::ok)
                .map(|c| {
                    view! {
                        <div class="panel secret-once" role="status" data-testid="new-gateway">
                            <p><strong>"Copy this credential now: it is shown only once."</strong></p>
                            <input type="text" readonly value=c.secret aria-label="The new credential" />
                        </div>
                    }
                })
        }}
        <ActionForm action=create attr:class="inline-form">
            <input type="text" name="name" required maxlength="80" placeholder="nginx eu-west" aria-label="Gateway name" />
            <button class="button button-primary" type="submit">"Create credential"</button>
        </ActionForm>
        <Suspense fallback=loading>
            {move || {
                list.get()
                    .map(|result| match result {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(list) => {
                            view! {
                                <table class="table" data-testid="gateways">
                                    <thead><tr><th>"Name"</th><th>"Prefix"</th><th>"Created"</th><th>"State"</th><th></th></tr></thead>
                                    <tbody>
                                        {list
                                            .into_iter()
                                            .map(|g| {
                                                let live = g.revoked_at.is_none();
                                                view! {
                                                    <tr>
                                                        <td>{g.name}</td>
                                                        <td><code>{g.prefix}</code></td>
                                                        <td>{format_date_time(g.created_at)}</td>
                                                        <td>{if live { "Active".to_owned() } else { "Revoked".to_owned() }}</td>
                                                        <td>
                                                            {live.then(|| view! {
                                                                <ActionForm action=revoke>
                                                                    <input type="hidden" name="id" value=g.id />
                                                                    <button class="button button-danger" type="submit">"Revoke"</button>
                                                                </ActionForm>
                                                            })}
                                                        </td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}
