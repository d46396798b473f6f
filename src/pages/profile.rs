//! My profile: who Gatehouse thinks I am, my teams, and where I am signed in.

use crate::api::get_profile;
use crate::components::Title;
use crate::components::{EmptyState, ErrorPanel, KindBadge, SignedIn};
use crate::domain::time::{format_date, format_date_time};
use crate::model::{AppError, MembershipView, PersonRef, Profile, SessionView};
use leptos::prelude::*;

#[component]
pub fn ProfilePage() -> impl IntoView {
    // Above `SignedIn`: see there.
    let profile = Resource::new(|| (), |_| get_profile());
    view! {
        <Title text="My profile" />
        <SignedIn>
            <ProfileBody profile />
        </SignedIn>
    }
}

#[component]
fn ProfileBody(profile: Resource<Result<Profile, AppError>>) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                profile
                    .get()
                    .map(|result| match result {
                        Ok(profile) => view! { <ProfileView profile /> }.into_any(),
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

fn person(p: Option<PersonRef>) -> AnyView {
    match p {
        Some(p) => view! { <a href=format!("mailto:{}", p.email)>{p.name}</a> }.into_any(),
        None => view! { <span class="muted">"None"</span> }.into_any(),
    }
}

fn method_label(method: &str) -> &'static str {
    match method {
        "oidc" => "Company sign-in",
        "password" => "Password",
        "dev" => "Development sign-in",
        _ => "Other",
    }
}

#[component]
fn ProfileView(profile: Profile) -> impl IntoView {
    let Profile {
        me,
        title,
        department,
        company,
        manager,
        sponsor,
        contract_ends_at,
        teams,
        sessions,
    } = profile;
    let role = [title, department.or(company)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
    view! {
        <article class="profile" data-testid="profile">
            <header class="api-header">
                <div class="api-title">
                    <h1>{me.name.clone()}</h1>
                    <KindBadge kind=me.kind />
                    {me.is_admin.then(|| view! { <span class="badge badge-admin">"Admin"</span> })}
                </div>
                <p class="lead">{role}</p>
                <dl class="facts">
                    <div>
                        <dt>"Email"</dt>
                        <dd>{me.email.clone()}</dd>
                    </div>
                    <div>
                        <dt>"Manager"</dt>
                        <dd data-testid="manager">{person(manager)}</dd>
                    </div>
                    {sponsor
                        .map(|s| {
                            view! {
                                <div>
                                    <dt>"Sponsor"</dt>
                                    <dd data-testid="sponsor">{person(Some(s))}</dd>
                                </div>
                            }
                        })}
                    {contract_ends_at
                        .map(|at| {
                            view! {
                                <div>
                                    <dt>"Engagement ends"</dt>
                                    <dd data-testid="contract-end">{format_date(at)}</dd>
                                </div>
                            }
                        })}
                </dl>
            </header>
            <Teams teams />
            <Sessions sessions />
        </article>
    }
}

#[component]
fn Teams(teams: Vec<MembershipView>) -> impl IntoView {
    let body = if teams.is_empty() {
        view! {
            <EmptyState title="No teams">
                <p>"You are not a member of any team yet."</p>
            </EmptyState>
        }
        .into_any()
    } else {
        view! {
            <table class="table" data-testid="teams">
                <thead>
                    <tr>
                        <th>"Team"</th>
                        <th>"Role"</th>
                    </tr>
                </thead>
                <tbody>
                    {teams
                        .into_iter()
                        .map(|m| {
                            view! {
                                <tr>
                                    <td>{m.team.name}</td>
                                    <td>{if m.owner { "Owner" } else { "Member" }}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <section class="section">
            <h2>"Teams"</h2>
            {body}
        </section>
    }
    .into_any()
}

#[component]
fn Sessions(sessions: Vec<SessionView>) -> impl IntoView {
    let count = sessions.len();
    view! {
        <section class="section">
            <div class="section-head">
                <h2>"Where you are signed in"</h2>
                <form method="post" action="/auth/sign-out-everywhere">
                    <button class="button button-danger" type="submit">
                        "Sign out everywhere"
                    </button>
                </form>
            </div>
            <p class="muted">
                {format!("{count} active {}. Signing out everywhere ends all of them, this one included.", if count == 1 { "session" } else { "sessions" })}
            </p>
            <table class="table" data-testid="sessions">
                <thead>
                    <tr>
                        <th>"Signed in"</th>
                        <th>"Last active"</th>
                        <th>"Method"</th>
                        <th>"Browser"</th>
                    </tr>
                </thead>
                <tbody>
                    {sessions
                        .into_iter()
                        .map(|s| {
                            view! {
                                <tr>
                                    <td>
                                        {format_date_time(s.started_at)}
                                        {s.current.then(|| view! { " " <span class="badge lifecycle-production">"This browser"</span> })}
                                    </td>
                                    <td>{format_date_time(s.last_seen_at)}</td>
                                    <td>{method_label(&s.method)}</td>
                                    <td class="muted">{s.user_agent.unwrap_or_default()}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>
    }
    .into_any()
}
