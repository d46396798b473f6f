//! Access screens for an API's owners and for admins: who holds what on an API (and revoking
//! it), the API's approval policy with its preview, and the global limits.

use crate::api::{
    PreviewPolicy, RevokeGrant, SavePolicy, SetAccessLimits, api_grants, get_access_limits,
    get_policy,
};
use crate::components::Title;
use crate::components::{EmptyState, ErrorPanel, RiskBadge, SignedIn};
use crate::domain::access::AccessLimits;
use crate::model::{ApiUsage, AppError, GrantView, KeyView, PolicyEdit};
use crate::pages::access::{GrantsTable, PreviewView};
use crate::pages::areas::{AccessArea, AccessPages};
use leptos::form::ActionForm;
use leptos::prelude::*;

fn loading() -> impl IntoView {
    view! { <p class="muted">"Loading…"</p> }
}

fn crumbs(slug: String, name: String, here: &'static str) -> impl IntoView {
    view! {
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <a href="/">"Catalog"</a>
            <span aria-hidden="true">"/"</span>
            <a href=format!("/apis/{slug}")>{name}</a>
            <span aria-hidden="true">"/"</span>
            <span>{here}</span>
        </nav>
    }
}

#[component]
pub fn ApiAccessPage() -> impl IntoView {
    let slug = crate::components::path_param("slug");
    view! { <AccessArea page=AccessPages::ApiAccess { slug } /> }
}

/// The page's interactive part, in the access area's island.
#[component]
pub fn ApiAccess(slug: String) -> impl IntoView {
    // Above `SignedIn`: see there.
    let slug = StoredValue::new(slug);
    let slug = move || slug.get_value();
    let revoke = ServerAction::<RevokeGrant>::new();
    let revoke_key = ServerAction::<crate::api::RevokeKey>::new();
    let grants = Resource::new(
        move || (slug(), revoke.version().get()),
        |(s, _)| api_grants(s),
    );
    let keys = Resource::new(
        move || (slug(), revoke.version().get(), revoke_key.version().get()),
        |(s, ..)| crate::api::api_keys(s),
    );
    let usage = Resource::new(slug, crate::api::api_usage);
    view! {
        <SignedIn>
            <ApiAccessBody slug=slug() revoke revoke_key grants keys usage />
        </SignedIn>
    }
}

#[component]
fn ApiAccessBody(
    slug: String,
    revoke: ServerAction<RevokeGrant>,
    revoke_key: ServerAction<crate::api::RevokeKey>,
    grants: Resource<Result<Vec<GrantView>, AppError>>,
    keys: Resource<Result<Vec<KeyView>, AppError>>,
    usage: Resource<Result<ApiUsage, AppError>>,
) -> impl IntoView {
    let slug = StoredValue::new(slug);
    let slug = move || slug.get_value();
    view! {
        <Title text="Access" />
        {move || crumbs(slug(), slug(), "Access")}
        <div class="page-head">
            <h1>"Who has access"</h1>
            <a class="button button-quiet" href=move || format!("/apis/{}/policy", slug())>"Approval policy"</a>
        </div>
        {move || revoke.value().get().and_then(Result::err).map(|error| view! { <ErrorPanel error /> })}
        <Suspense fallback=loading>
            {move || {
                grants
                    .get()
                    .map(|result| match result {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(list) if list.is_empty() => {
                            view! { <EmptyState title="Nobody holds access yet"><p>"Approved requests for this API appear here."</p></EmptyState> }
                                .into_any()
                        }
                        Ok(list) => view! { <GrantsTable grants=list revoke show_holder=true /> }.into_any(),
                    })
            }}
        </Suspense>
        <h2>"Calls in the last 14 days"</h2>
        <Suspense fallback=loading>
            {move || {
                usage
                    .get()
                    .and_then(Result::ok)
                    .map(|u| {
                        let allowed: i64 = u.days.iter().map(|d| d.allowed).sum();
                        view! {
                            <div class="api-usage" data-testid="api-usage">
                                <crate::pages::keys::Sparkline usage=u.days.clone() />
                                <span>{format!(" {allowed} allowed")}</span>
                                {u.denials
                                    .into_iter()
                                    .map(|(code, n)| view! { <span class="badge">{format!("{code}: {n}")}</span> })
                                    .collect_view()}
                            </div>
                        }
                    })
            }}
        </Suspense>
        <h2>"Keys"</h2>
        {move || revoke_key.value().get().and_then(Result::err).map(|error| view! { <ErrorPanel error /> })}
        <Suspense fallback=loading>
            {move || {
                keys.get()
                    .map(|result| match result {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No keys for this API yet."</p> }.into_any(),
                        Ok(list) => view! { <crate::pages::keys::KeysTable keys=list rotate=None revoke=revoke_key /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}
#[component]
pub fn PolicyPage() -> impl IntoView {
    let slug = crate::components::path_param("slug");
    view! { <AccessArea page=AccessPages::Policy { slug } /> }
}

/// The page's interactive part, in the access area's island.
#[component]
pub fn Policy(slug: String) -> impl IntoView {
    // Above `SignedIn`: see there.
    let slug = StoredValue::new(slug);
    let slug = move || slug.get_value();
    let save = ServerAction::<SavePolicy>::new();
    let policy = Resource::new(
        move || (slug(), save.version().get()),
        |(s, _)| get_policy(s),
    );
    view! {
        <SignedIn>
            <PolicyBody save policy />
        </SignedIn>
    }
}

#[component]
fn PolicyBody(
    save: ServerAction<SavePolicy>,
    policy: Resource<Result<PolicyEdit, AppError>>,
) -> impl IntoView {
    // Owned here, above the Suspense, so it stays alive when the Suspense's children are
    // rebuilt during hydration.
    let preview = ServerAction::<PreviewPolicy>::new();
    view! {
        <Suspense fallback=loading>
            {move || {
                policy
                    .get()
                    .map(|result| match result {
                        Ok(edit) => view! { <PolicyEditor edit save preview /> }.into_any(),
                        Err(error) => view! { <Title text="Policy" /> <ErrorPanel error /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

#[component]
fn PolicyEditor(
    edit: PolicyEdit,
    save: ServerAction<SavePolicy>,
    preview: ServerAction<PreviewPolicy>,
) -> impl IntoView {
    let PolicyEdit {
        api,
        revision,
        document,
        is_default,
        environments,
        scopes,
        limits,
        updated_at,
        updated_by,
    } = edit;
    let saved = move || matches!(save.value().get(), Some(Ok(())));
    let error = move || save.value().get().and_then(Result::err);
    let (save_slug, preview_slug) = (api.slug.clone(), api.slug.clone());
    view! {
        <Title text=format!("Policy · {}", api.name.clone()) />
        {crumbs(api.slug.clone(), api.name.clone(), "Approval policy")}
        <h1>{format!("Approval policy for {}", api.name.clone())}</h1>
        <p class="lead">
            {if is_default {
                "This API uses the default policy. Save a policy of your own to change it.".to_owned()
            } else {
                format!(
                    "Saved {} by {}.",
                    updated_at.map(crate::domain::time::format_date_time).unwrap_or_default(),
                    updated_by.unwrap_or_else(|| "someone".into()),
                )
            }}
        </p>
        {move || saved().then(|| view! { <p class="notice" role="status" data-testid="policy-saved">"Saved."</p> })}
        {move || {
            error()
                .map(|error| {
                    view! {
                        <div class="panel panel-error" role="alert" data-testid="policy-problems">
                            <p>"The policy was not saved:"</p>
                            <ul>{error.to_string().lines().map(|l| view! { <li>{l.to_owned()}</li> }).collect_view()}</ul>
                        </div>
                    }
                })
        }}
        <div class="policy-layout">
            <ActionForm action=save attr:class="panel policy-form" attr:data-testid="policy-form">
                <input type="hidden" name="slug" value=save_slug />
                <input type="hidden" name="revision" value=revision />
                <label class="field">
                    "Policy (JSON): rules in order; the first that matches a request decides it"
                    <textarea name="document" rows="18" spellcheck="false" class="code-input">{document}</textarea>
                </label>
                <div class="form-actions">
                    <button class="button button-primary" type="submit">"Save policy"</button>
                    {(!is_default).then(|| view! { <button class="button button-quiet" type="submit" name="reset" value="1">"Go back to the default"</button> })}
                </div>
            </ActionForm>
            <aside class="panel policy-help">
                <h2>"How rules read"</h2>
                <ul>
                    <li><code>"requester"</code>": employee, contractor or any"</li>
                    <li><code>"risk"</code>": low (every scope low), high (any scope high) or any"</li>
                    <li><code>"environments"</code>": "{environments.join(", ")}" (leave out for all)"</li>
                    <li><code>"stages"</code>": manager, api_owner, sponsor, security, team:<slug>; or "<code>"\"approve\": \"automatic\""</code></li>
                    <li><code>"max_days"</code>", "<code>"default_days"</code></li>
                    <li>
                        <code>"\"keys\": {\"default_days\": 90, \"max_rate_per_minute\": 6000}"</code>
                        " (optional, beside rules): a new key's expiry when its holder names none, and the highest rate limit a key may have (a key without one gets it)"
                    </li>
                </ul>
                <h3>"Limits set by admins"</h3>
                <ul>
                    <li>{format!("Employees: at most {} days", limits.employee_max_days)}</li>
                    <li>{format!("Contractors: at most {} days", limits.contractor_max_days)}</li>
                    <li>{if limits.allow_auto_high_risk { "High-risk scopes may be approved automatically" } else { "High-risk scopes always need a person" }}</li>
                    <li>{if limits.allow_auto_contractors { "Contractors may be approved automatically" } else { "Contractors always need a person" }}</li>
                    <li>{limits.security_team.clone().map(|t| format!("Security team: {t}")).unwrap_or_else(|| "No security team named".into())}</li>
                </ul>
                <h3>"Scopes"</h3>
                <ul>{scopes.iter().map(|s| view! { <li><code>{s.name.clone()}</code>" "<RiskBadge risk=s.risk /></li> }).collect_view()}</ul>
            </aside>
        </div>
        <section class="section panel" data-testid="policy-preview">
            <h2>"Preview: who would approve?"</h2>
            <ActionForm action=preview attr:class="form-grid">
                <input type="hidden" name="slug" value=preview_slug />
                <label class="field">"Person's email" <input type="email" name="email" required /></label>
                <label class="field">
                    "Environment"
                    <select name="environment">
                        {environments.iter().map(|e| view! { <option value=e.clone()>{e.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <label class="field">"Scopes (comma-separated)" <input type="text" name="scopes" required /></label>
                <div class="form-actions"><button class="button" type="submit">"Preview"</button></div>
            </ActionForm>
            {move || preview.value().get().map(|p| view! { <PreviewView preview=p /> })}
        </section>
    }
}

#[component]
pub fn AdminAccessPage() -> impl IntoView {
    view! { <AccessArea page=AccessPages::AdminAccess /> }
}

/// The page's interactive part, in the access area's island.
#[component]
pub fn AdminAccess() -> impl IntoView {
    // Above `SignedIn`: see there.
    let save = ServerAction::<SetAccessLimits>::new();
    let limits = Resource::new(move || save.version().get(), |_| get_access_limits());
    view! {
        <SignedIn>
            <AdminAccessBody save limits />
        </SignedIn>
    }
}

#[component]
fn AdminAccessBody(
    save: ServerAction<SetAccessLimits>,
    limits: Resource<Result<AccessLimits, AppError>>,
) -> impl IntoView {
    view! {
        <Title text="Access limits" />
        <h1>"Access limits"</h1>
        <p class="lead">"Limits every API's approval policy must keep, and how long requests wait."</p>
        {move || save.value().get().and_then(Result::err).map(|error| view! { <ErrorPanel error /> })}
        {move || matches!(save.value().get(), Some(Ok(()))).then(|| view! { <p class="notice" role="status">"Saved."</p> })}
        <Suspense fallback=loading>
            {move || {
                limits
                    .get()
                    .map(|result| match result {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(l) => view! { <LimitsForm l save /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

#[component]
fn LimitsForm(l: AccessLimits, save: ServerAction<SetAccessLimits>) -> impl IntoView {
    view! {
        <ActionForm action=save attr:class="panel form-grid" attr:data-testid="limits-form">
            <label class="field">"Employees: longest grant (days)" <input type="number" name="employee_max_days" min="1" value=l.employee_max_days /></label>
            <label class="field">"Contractors: longest grant (days)" <input type="number" name="contractor_max_days" min="1" value=l.contractor_max_days /></label>
            <label class="field">"Pending requests expire after (days)" <input type="number" name="request_expiry_days" min="1" value=l.request_expiry_days /></label>
            <label class="field">"Remind approvers (days before expiry)" <input type="number" name="reminder_days_before" min="0" value=l.reminder_days_before /></label>
            <label class="field">"Security team (slug)" <input type="text" name="security_team" value=l.security_team.clone().unwrap_or_default() /></label>
            <label class="field checkbox"><input type="checkbox" name="allow_auto_high_risk" value="1" checked=l.allow_auto_high_risk />" Policies may approve high-risk scopes automatically"</label>
            <label class="field checkbox"><input type="checkbox" name="allow_auto_contractors" value="1" checked=l.allow_auto_contractors />" Policies may approve contractors automatically"</label>
            <div class="form-actions field-wide"><button class="button button-primary" type="submit">"Save limits"</button></div>
        </ActionForm>
    }
}
