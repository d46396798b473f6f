//! Admin screens: people (search; kind, manager, teams, admin role, sessions, deactivation) and
//! teams (owners and members; a team's owners manage their own team here too).

use crate::api::{
    AdminEndSessions, AdminSetActive, AdminSetAdmin, AdminSetKind, AdminSetManager,
    CreatePublishToken, ImportOrg, RevokePublishToken, SetTeamRole, admin_people, admin_person,
    list_teams,
};
use crate::app::use_me;
use crate::components::Title;
use crate::components::{EmptyState, ErrorPanel, KindBadge, SignedIn};
use crate::domain::time::format_date;
use crate::model::{
    AppError, OrgImportReport, PersonDetail, PersonKind, PersonSummary, PublishTokenView, TeamView,
};
use crate::pages::areas::{AdminArea, AdminPages};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The first error among the actions' latest results, shown once above the page.
fn first_error(errors: Vec<Option<AppError>>) -> Option<impl IntoView> {
    errors
        .into_iter()
        .flatten()
        .next()
        .map(|error| view! { <ErrorPanel error /> })
}

#[component]
pub fn AdminPeoplePage() -> impl IntoView {
    let query = use_query_map();
    let q = query.read_untracked().get("q").unwrap_or_default();
    view! { <AdminArea page=AdminPages::AdminPeople { q } /> }
}

/// The page's interactive part, in the admin area's island.
#[component]
pub fn AdminPeople(q: String) -> impl IntoView {
    // Above `SignedIn`: see there.
    let q = StoredValue::new(q);
    let q = move || q.get_value();
    let import = ServerAction::<ImportOrg>::new();
    // Read again after an import, which may have added or changed anyone listed.
    let people = Resource::new(
        move || (q(), import.version().get()),
        |(q, _)| admin_people(q),
    );
    view! {
        <Title text="People" />
        <SignedIn>
            <PeopleBody q=q() people import />
        </SignedIn>
    }
}

#[component]
fn PeopleBody(
    q: String,
    people: Resource<Result<Vec<PersonSummary>, AppError>>,
    import: ServerAction<ImportOrg>,
) -> impl IntoView {
    let q = StoredValue::new(q);
    let q = move || q.get_value();
    let me = use_me();
    let is_admin = move || {
        me.try_get()
            .flatten()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|me| me.is_admin)
    };
    view! {
        <section>
            <h1>"People"</h1>
            <form class="panel form-grid" method="get" action="/admin/people" role="search">
                <label class="field field-grow">
                    "Search by name or email"
                    <input type="search" name="q" value=q aria-label="Search people" />
                </label>
                <div class="form-actions">
                    <button class="button" type="submit">"Search"</button>
                </div>
            </form>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    people
                        .get()
                        .map(|result| match result {
                            Err(error) => view! { <ErrorPanel error /> }.into_any(),
                            Ok(list) if list.is_empty() => {
                                view! {
                                    <EmptyState title="Nobody matches">
                                        <p>"Try part of a name or an email address."</p>
                                    </EmptyState>
                                }
                                    .into_any()
                            }
                            Ok(list) => view! { <PeopleTable list /> }.into_any(),
                        })
                }}
            </Suspense>
            <Show when=is_admin>
                <OrgImport import />
            </Show>
        </section>
    }
}

/// The org file: chosen from disk (read in the browser into the text box) or pasted, checked
/// whole on the server, and either applied with a report of what changed or refused with every
/// problem by line.
#[component]
fn OrgImport(import: ServerAction<ImportOrg>) -> impl IntoView {
    let content = NodeRef::<leptos::html::Textarea>::new();
    let format = RwSignal::new("csv".to_owned());
    let read_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use leptos::wasm_bindgen::JsCast;
            let Some(file) = ev
                .target()
                .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlInputElement>().ok())
                .and_then(|input| input.files())
                .and_then(|files| files.get(0))
            else {
                return;
            };
            if file.name().to_lowercase().ends_with(".json") {
                format.set("json".to_owned());
            } else {
                format.set("csv".to_owned());
            }
            leptos::task::spawn_local(async move {
                let text = wasm_bindgen_futures::JsFuture::from(file.text()).await;
                if let (Ok(text), Some(area)) = (text, content.get_untracked()) {
                    area.set_value(&text.as_string().unwrap_or_default());
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    let outcome = move || {
        import.value().get().map(|result| match result {
            Ok(OrgImportReport {
                created,
                updated,
                unchanged,
                memberships_added,
                roles_changed,
            }) => view! {
                <div class="panel panel-success" role="status" data-testid="org-import-report">
                    {format!(
                        "Imported: {created} created, {updated} updated, {unchanged} unchanged; \
                         {memberships_added} team membership(s) added, {roles_changed} role(s) changed."
                    )}
                </div>
            }
                .into_any(),
            Err(error) => view! {
                <div class="panel panel-error org-import-problems" role="alert" data-testid="org-import-problems">
                    {error.to_string()}
                </div>
            }
                .into_any(),
        })
    };
    view! {
        <ActionForm action=import attr:class="panel stack org-import" attr:data-testid="org-import">
            <h2>"Import the org file"</h2>
            <p class="muted">
                "People, their managers and teams, from your HR system: CSV with the header "
                <code>"email,name,manager_email,teams"</code>
                " (teams as " <code>"slug"</code> " or " <code>"slug:owner"</code>
                ", separated by " <code>";"</code>
                "), or a JSON array of the same fields. The file is checked whole first; nothing changes unless it is clean. People it leaves out are left as they are."
            </p>
            <div class="form-grid">
                <label class="field">
                    "File"
                    <input type="file" accept=".csv,.json,text/csv,application/json" on:change=read_file />
                </label>
                <label class="field">
                    "Format"
                    <select name="format" prop:value=move || format.get() on:change=move |ev| format.set(event_target_value(&ev))>
                        <option value="csv">"CSV"</option>
                        <option value="json">"JSON"</option>
                    </select>
                </label>
            </div>
            <label class="field">
                "Org file contents (filled from the file, or pasted)"
                <textarea class="code-input" name="content" rows="10" required node_ref=content spellcheck="false"></textarea>
            </label>
            <button class="button" type="submit" disabled=move || import.pending().get()>
                {move || if import.pending().get() { "Importing…" } else { "Import" }}
            </button>
            {outcome}
        </ActionForm>
    }
}

#[component]
fn PeopleTable(list: Vec<PersonSummary>) -> impl IntoView {
    view! {
        <table class="table" data-testid="people">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Kind"</th>
                    <th>"Manager"</th>
                    <th>"Teams"</th>
                    <th>"Status"</th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|p| {
                        let teams = p
                            .teams
                            .iter()
                            .map(|m| if m.owner { format!("{} (owner)", m.team.name) } else { m.team.name.clone() })
                            .collect::<Vec<_>>()
                            .join(", ");
                        view! {
                            <tr>
                                <td>
                                    <a href=format!("/admin/people/{}", p.id)>{p.name.clone()}</a>
                                    <div class="muted">{p.email.clone()}</div>
                                </td>
                                <td>
                                    <KindBadge kind=p.kind />
                                    {p.is_admin.then(|| view! { <span class="badge badge-admin">"Admin"</span> })}
                                </td>
                                <td>{p.manager.map(|m| m.name).unwrap_or_default()}</td>
                                <td>{teams}</td>
                                <td>
                                    {if p.active {
                                        view! { <span class="badge invitation-accepted">"Active"</span> }.into_any()
                                    } else {
                                        view! { <span class="badge invitation-revoked">"Deactivated"</span> }.into_any()
                                    }}
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
pub fn AdminPersonPage() -> impl IntoView {
    let id = crate::components::path_param("id").parse().unwrap_or(0);
    view! { <AdminArea page=AdminPages::AdminPerson { id } /> }
}

/// The page's interactive part, in the admin area's island.
#[component]
pub fn AdminPerson(id: i64) -> impl IntoView {
    // Above `SignedIn`: see there.
    let id = move || id;
    let actions = PersonActions {
        set_kind: ServerAction::new(),
        set_manager: ServerAction::new(),
        set_admin: ServerAction::new(),
        set_active: ServerAction::new(),
        end_sessions: ServerAction::new(),
        set_team: ServerAction::new(),
    };
    let PersonActions {
        set_kind,
        set_manager,
        set_admin,
        set_active,
        set_team,
        ..
    } = actions;
    let person = Resource::new(
        move || {
            (
                id(),
                set_kind.version().get(),
                set_manager.version().get(),
                set_admin.version().get(),
                set_active.version().get(),
                set_team.version().get(),
            )
        },
        |(id, ..)| admin_person(id),
    );
    view! {
        <Title text="Person" />
        <SignedIn>
            <PersonBody actions person />
        </SignedIn>
    }
}

/// What an admin can do on a person's page; the page refetches after each.
#[derive(Clone, Copy)]
struct PersonActions {
    set_kind: ServerAction<AdminSetKind>,
    set_manager: ServerAction<AdminSetManager>,
    set_admin: ServerAction<AdminSetAdmin>,
    set_active: ServerAction<AdminSetActive>,
    end_sessions: ServerAction<AdminEndSessions>,
    set_team: ServerAction<SetTeamRole>,
}

impl PersonActions {
    /// A failed action's error as a panel (the first in this order, when several failed).
    fn first_error(self) -> Option<impl IntoView> {
        first_error(vec![
            self.set_kind.value().get().and_then(Result::err),
            self.set_manager.value().get().and_then(Result::err),
            self.set_admin.value().get().and_then(Result::err),
            self.set_active.value().get().and_then(Result::err),
            self.end_sessions.value().get().and_then(Result::err),
            self.set_team.value().get().and_then(Result::err),
        ])
    }
}

#[component]
fn PersonBody(
    actions: PersonActions,
    person: Resource<Result<PersonDetail, AppError>>,
) -> impl IntoView {
    let errors = move || actions.first_error();
    let ended = move || {
        actions
            .end_sessions
            .value()
            .get()
            .and_then(Result::ok)
            .map(|n| view! { <div class="panel panel-success" role="status">{format!("{n} session(s) ended.")}</div> })
    };
    view! {
        {errors}
        {ended}
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                person
                    .get()
                    .map(|result| match result {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(detail) => {
                            view! {
                                <PersonEditor detail actions />
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

#[component]
fn PersonEditor(detail: PersonDetail, actions: PersonActions) -> impl IntoView {
    let PersonActions {
        set_kind,
        set_manager,
        set_admin,
        set_active,
        end_sessions,
        set_team,
    } = actions;
    let p = detail.person;
    let id = p.id.to_string();
    let (id_manager, id_kind, id_admin, id_sessions, id_active) =
        (id.clone(), id.clone(), id.clone(), id.clone(), id);
    let contractor = p.kind == PersonKind::Contractor;
    let email = p.email.clone();
    view! {
        <article data-testid="person">
            <header class="api-header">
                <div class="api-title">
                    <h1>{p.name.clone()}</h1>
                    <KindBadge kind=p.kind />
                    {p.is_admin.then(|| view! { <span class="badge badge-admin">"Admin"</span> })}
                    {(!p.active).then(|| view! { <span class="badge invitation-revoked">"Deactivated"</span> })}
                </div>
                <p class="lead">
                    {p.email.clone()}
                    {p.title.clone().map(|t| format!(" · {t}"))}
                    {detail.department.clone().or(detail.company.clone()).map(|d| format!(" · {d}"))}
                </p>
                {contractor
                    .then(|| {
                        view! {
                            <p>
                                "Sponsor: " {detail.sponsor.clone().map(|s| s.name).unwrap_or_default()}
                                " · access until "
                                {p.contract_ends_at.map(|e| format_date(e - 1)).unwrap_or_default()}
                            </p>
                        }
                    })}
            </header>

            <div class="admin-grid">
                <ActionForm action=set_manager attr:class="panel stack">
                    <h2>"Manager"</h2>
                    <input type="hidden" name="id" value=id_manager />
                    <label class="field">
                        "Manager's email (empty for none)"
                        <input
                            type="email"
                            name="manager_email"
                            value=p.manager.clone().map(|m| m.email).unwrap_or_default()
                        />
                    </label>
                    <button class="button" type="submit">"Save manager"</button>
                </ActionForm>

                <ActionForm action=set_kind attr:class="panel stack">
                    <h2>"Kind"</h2>
                    <input type="hidden" name="id" value=id_kind />
                    <label class="field">
                        "Kind"
                        <select name="kind">
                            <option value="employee" selected=!contractor>"Employee"</option>
                            <option value="contractor" selected=contractor>"Contractor"</option>
                        </select>
                    </label>
                    <label class="field">
                        "Sponsor's email (contractors)"
                        <input
                            type="email"
                            name="sponsor_email"
                            value=detail.sponsor.clone().map(|s| s.email).unwrap_or_default()
                        />
                    </label>
                    <label class="field">
                        "Last day of access (contractors)"
                        <input
                            type="date"
                            name="ends_on"
                            value=p.contract_ends_at.map(|e| format_date(e - 1)).unwrap_or_default()
                        />
                    </label>
                    <button class="button" type="submit">"Save kind"</button>
                </ActionForm>

                <div class="panel stack">
                    <h2>"Access"</h2>
                    <ActionForm action=set_admin>
                        <input type="hidden" name="id" value=id_admin />
                        <input type="hidden" name="admin" value=(!p.is_admin).to_string() />
                        <button class="button button-quiet" type="submit">
                            {if p.is_admin { "Remove admin role" } else { "Make admin" }}
                        </button>
                    </ActionForm>
                    <ActionForm action=end_sessions>
                        <input type="hidden" name="id" value=id_sessions />
                        <button class="button button-quiet" type="submit">"End all sessions"</button>
                    </ActionForm>
                    <ActionForm action=set_active>
                        <input type="hidden" name="id" value=id_active />
                        <input type="hidden" name="active" value=(!p.active).to_string() />
                        <button
                            class=if p.active { "button button-danger" } else { "button" }
                            type="submit"
                        >
                            {if p.active { "Deactivate" } else { "Reactivate" }}
                        </button>
                    </ActionForm>
                </div>
            </div>

            <h2>"Teams"</h2>
            <table class="table" data-testid="person-teams">
                <thead>
                    <tr>
                        <th>"Team"</th>
                        <th>"Role"</th>
                    </tr>
                </thead>
                <tbody>
                    {detail
                        .all_teams
                        .into_iter()
                        .map(|team| {
                            let current = p
                                .teams
                                .iter()
                                .find(|m| m.team.slug == team.slug)
                                .map(|m| if m.owner { "owner" } else { "member" })
                                .unwrap_or("none");
                            let email = email.clone();
                            view! {
                                <tr>
                                    <td>{team.name.clone()}</td>
                                    <td>
                                        <ActionForm action=set_team attr:class="inline-form">
                                            <input type="hidden" name="team" value=team.slug.clone() />
                                            <input type="hidden" name="email" value=email />
                                            <select name="role" aria-label=format!("Role in {}", team.name)>
                                                <option value="none" selected=current == "none">"Not a member"</option>
                                                <option value="member" selected=current == "member">"Member"</option>
                                                <option value="owner" selected=current == "owner">"Owner"</option>
                                            </select>
                                            <button class="button button-quiet" type="submit">"Save"</button>
                                        </ActionForm>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </article>
    }
}

#[component]
pub fn TeamsPage() -> impl IntoView {
    view! { <AdminArea page=AdminPages::Teams /> }
}

/// The page's interactive part, in the admin area's island.
#[component]
pub fn Teams() -> impl IntoView {
    // Above `SignedIn`: see there.
    let set_team = ServerAction::<SetTeamRole>::new();
    let create_token = ServerAction::<CreatePublishToken>::new();
    let revoke_token = ServerAction::<RevokePublishToken>::new();
    let teams = Resource::new(
        move || {
            (
                set_team.version().get(),
                create_token.version().get(),
                revoke_token.version().get(),
            )
        },
        |_| list_teams(),
    );
    let save_webhook = ServerAction::<crate::api::SetTeamWebhook>::new();
    let webhooks = Resource::new(
        move || save_webhook.version().get(),
        |_| crate::api::list_team_webhooks(),
    );
    view! {
        <Title text="Teams" />
        <SignedIn>
            <TeamsBody set_team create_token revoke_token teams save_webhook webhooks />
        </SignedIn>
    }
}

#[component]
fn TeamsBody(
    set_team: ServerAction<SetTeamRole>,
    create_token: ServerAction<CreatePublishToken>,
    revoke_token: ServerAction<RevokePublishToken>,
    teams: Resource<Result<Vec<TeamView>, AppError>>,
    save_webhook: ServerAction<crate::api::SetTeamWebhook>,
    webhooks: Resource<Result<Vec<crate::model::WebhookView>, AppError>>,
) -> impl IntoView {
    let tokens = TokenActions {
        create: create_token,
        revoke: revoke_token,
    };
    let hooks = WebhookState {
        save: save_webhook,
        list: webhooks,
    };
    view! {
        <section>
            <h1>"Teams"</h1>
            {move || {
                first_error(vec![
                    set_team.value().get().and_then(Result::err),
                    create_token.value().get().and_then(Result::err),
                    revoke_token.value().get().and_then(Result::err),
                    save_webhook.value().get().and_then(Result::err),
                ])
            }}
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    teams
                        .get()
                        .map(|result| match result {
                            Err(error) => view! { <ErrorPanel error /> }.into_any(),
                            Ok(list) if list.is_empty() => {
                                view! {
                                    <EmptyState title="No teams">
                                        <p>"You are not in any team yet."</p>
                                    </EmptyState>
                                }
                                    .into_any()
                            }
                            Ok(list) => {
                                list.into_iter()
                                    .map(|team| view! { <TeamCard team set_team tokens hooks /> })
                                    .collect_view()
                                    .into_any()
                            }
                        })
                }}
            </Suspense>
        </section>
    }
}

#[component]
fn TeamCard(
    team: TeamView,
    set_team: ServerAction<SetTeamRole>,
    tokens: TokenActions,
    hooks: WebhookState,
) -> impl IntoView {
    let slug = team.slug.clone();
    let tokens_team = team.slug.clone();
    let token_list = team.publish_tokens.clone();
    let manage = team.can_manage;
    view! {
        <article class="panel team" data-team=team.slug.clone()>
            <h2>{team.name.clone()}</h2>
            <p class="muted">{team.description.clone()}</p>
            <ul class="member-list">
                {team
                    .members
                    .into_iter()
                    .map(|m| {
                        let slug = slug.clone();
                        view! {
                            <li>
                                <span>{m.name.clone()}</span>
                                " "
                                <span class="muted">{m.email.clone()}</span>
                                {m.owner.then(|| view! { " " <span class="badge badge-admin">"Owner"</span> })}
                                {manage
                                    .then(|| {
                                        view! {
                                            <ActionForm action=set_team attr:class="inline-form">
                                                <input type="hidden" name="team" value=slug />
                                                <input type="hidden" name="email" value=m.email.clone() />
                                                <input type="hidden" name="role" value="none" />
                                                <button class="button button-quiet" type="submit" aria-label=format!("Remove {}", m.name)>
                                                    "Remove"
                                                </button>
                                            </ActionForm>
                                        }
                                    })}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            {manage
                .then(|| {
                    view! {
                        <ActionForm action=set_team attr:class="inline-form">
                            <input type="hidden" name="team" value=slug.clone() />
                            <input type="email" name="email" required placeholder="email" aria-label=format!("Add to {}", team.name) />
                            <select name="role" aria-label="Role">
                                <option value="member">"Member"</option>
                                <option value="owner">"Owner"</option>
                            </select>
                            <button class="button" type="submit">"Add"</button>
                        </ActionForm>
                        <PublishTokens team=tokens_team.clone() list=token_list.clone() actions=tokens />
                        <TeamWebhook team=tokens_team.clone() hooks />
                    }
                })}
        </article>
    }
}

/// The webhook action and list, owned by the page (above its Suspense) and shared by the cards.
#[derive(Clone, Copy)]
struct WebhookState {
    save: ServerAction<crate::api::SetTeamWebhook>,
    list: Resource<Result<Vec<crate::model::WebhookView>, AppError>>,
}

/// A team's outgoing webhook: access requests for its APIs and stages waiting for it are posted
/// there as Slack-compatible JSON, signed with the secret shown here.
#[component]
fn TeamWebhook(team: String, hooks: WebhookState) -> impl IntoView {
    let WebhookState { save, list } = hooks;
    view! {
        <section class="team-webhook" data-testid="team-webhook">
            <h3>"Webhook"</h3>
            <p class="muted">
                "Requests for this team's APIs are posted here (Slack-compatible JSON). Verify "
                <code>"X-Gatehouse-Signature"</code>
                ": HMAC-SHA256 of "<code>"timestamp.body"</code>" with the secret below."
            </p>
            <Suspense fallback=|| ()>
                {move || {
                    let team = team.clone();
                    list.get()
                        .and_then(Result::ok)
                        .map(move |all| {
                            let hook = all.into_iter().find(|h| h.team == team);
                            let url = hook.as_ref().map(|h| h.url.clone()).unwrap_or_default();
                            view! {
                                <ActionForm action=save attr:class="inline-form">
                                    <input type="hidden" name="team" value=team />
                                    <input type="url" name="url" value=url placeholder="https://hooks.slack.com/services/…" aria-label="Webhook URL" />
                                    <button class="button" type="submit">"Save webhook"</button>
                                </ActionForm>
                                {hook
                                    .map(|h| {
                                        view! {
                                            <label class="field">
                                                "Signing secret"
                                                <input type="text" readonly value=h.secret />
                                            </label>
                                            {(h.recent_failures > 0)
                                                .then(|| view! { <p class="muted">{format!("{} deliveries failed after every retry.", h.recent_failures)}</p> })}
                                        }
                                    })}
                            }
                        })
                }}
            </Suspense>
        </section>
    }
}

/// The publish-token actions, shared by every team card so the list reloads with the teams.
#[derive(Clone, Copy)]
struct TokenActions {
    create: ServerAction<CreatePublishToken>,
    revoke: ServerAction<RevokePublishToken>,
}

/// A team's publish tokens, for its CI to publish new versions of the team's APIs.
#[component]
fn PublishTokens(
    team: String,
    list: Vec<PublishTokenView>,
    actions: TokenActions,
) -> impl IntoView {
    let TokenActions { create, revoke } = actions;
    let form_team = team.clone();
    let created = {
        let team = team.clone();
        move || {
            create
                .value()
                .get()
                .and_then(Result::ok)
                .filter(|c| c.team == team)
        }
    };
    view! {
        <section class="publish-tokens" data-testid="publish-tokens">
            <h3>"Publish tokens"</h3>
            <p class="muted">
                "CI publishes new versions of this team's APIs with "
                <code>"POST /api/v1/apis/{slug}/versions"</code>
                " and one of these as a bearer token."
            </p>
            {move || {
                created()
                    .map(|c| {
                        view! {
                            <div class="notice secret-once" role="status" data-testid="new-token">
                                <p>
                                    <strong>{format!("Token “{}” created.", c.token.name)}</strong>
                                    " Copy it now: it is shown only this once."
                                </p>
                                <input class="secret" type="text" readonly value=c.secret.clone() aria-label="The new token" on:focus=crate::components::select_all />
                            </div>
                        }
                    })
            }}
            <ActionForm action=create attr:class="inline-form">
                <input type="hidden" name="team" value=form_team />
                <input type="text" name="name" required maxlength="60" placeholder="where it is used, e.g. GitHub Actions" aria-label="Token name" />
                <button class="button" type="submit">"Create token"</button>
            </ActionForm>
            {if list.is_empty() {
                view! { <p class="muted">"No tokens yet."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead>
                            <tr>
                                <th>"Name"</th>
                                <th>"Token"</th>
                                <th>"Created"</th>
                                <th>"Last used"</th>
                                <th></th>
                            </tr>
                        </thead>
                        <tbody>
                            {list
                                .into_iter()
                                .map(|t| {
                                    let team = team.clone();
                                    view! {
                                        <tr>
                                            <td>{t.name.clone()}</td>
                                            <td><code>{t.prefix.clone()}</code></td>
                                            <td>
                                                {format_date(t.created_at)}
                                                {t.created_by.clone().map(|by| format!(" by {by}"))}
                                            </td>
                                            <td>{t.last_used_at.map(format_date).unwrap_or_else(|| "never".into())}</td>
                                            <td>
                                                {match t.revoked_at {
                                                    Some(at) => view! { <span class="muted">{format!("revoked {}", format_date(at))}</span> }.into_any(),
                                                    None => view! {
                                                        <ActionForm action=revoke attr:class="inline-form">
                                                            <input type="hidden" name="team" value=team />
                                                            <input type="hidden" name="id" value=t.id.to_string() />
                                                            <button class="button button-quiet" type="submit" aria-label=format!("Revoke {}", t.name)>"Revoke"</button>
                                                        </ActionForm>
                                                    }.into_any(),
                                                }}
                                            </td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }}
        </section>
    }
}
