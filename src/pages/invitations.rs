//! Contractor invitations: employees invite, and see, revoke and extend what they sent or
//! sponsor (admins see everything); and the page an invitation link opens, where the contractor
//! accepts through the identity provider or, where allowed, with a password.

use crate::api::{
    CreateInvitation, EndEngagement, ExtendInvitation, RevokeInvitation, get_invitation_limits,
    get_invitation_preview, list_invitations,
};
use crate::components::Title;
use crate::components::{EmptyState, ErrorPanel, SignedIn};
use crate::domain::time::format_date;
use crate::model::{AppError, InvitationLimits, InvitationStatus, InvitationView, SignInError};
use crate::pages::areas::{AdminArea, AdminPages};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn InvitationsPage() -> impl IntoView {
    view! { <AdminArea page=AdminPages::Invitations /> }
}

/// The page's interactive part, in the admin area's island.
#[component]
pub fn Invitations() -> impl IntoView {
    // Above `SignedIn`: see there.
    let create = ServerAction::<CreateInvitation>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    let extend = ServerAction::<ExtendInvitation>::new();
    let end = ServerAction::<EndEngagement>::new();
    let limits = Resource::new(|| (), |_| get_invitation_limits());
    let list = Resource::new(
        move || {
            (
                create.version().get(),
                revoke.version().get(),
                extend.version().get(),
                end.version().get(),
            )
        },
        |_| list_invitations(),
    );
    view! {
        <Title text="Contractor invitations" />
        <SignedIn>
            <InvitationsBody create revoke extend end limits list />
        </SignedIn>
    }
}

#[component]
fn InvitationsBody(
    create: ServerAction<CreateInvitation>,
    revoke: ServerAction<RevokeInvitation>,
    extend: ServerAction<ExtendInvitation>,
    end: ServerAction<EndEngagement>,
    limits: Resource<Result<InvitationLimits, AppError>>,
    list: Resource<Result<Vec<InvitationView>, AppError>>,
) -> impl IntoView {
    let outcome = move || {
        let failed = [
            create.value().get().and_then(Result::err),
            revoke.value().get().and_then(Result::err),
            extend.value().get().and_then(Result::err),
            end.value().get().and_then(Result::err),
        ];
        failed
            .into_iter()
            .flatten()
            .next()
            .map(|error| view! { <ErrorPanel error /> })
    };
    view! {
        <section class="invitations">
            <h1>"Contractor invitations"</h1>
            <p class="lead">
                "Invite an outside contractor. They get a one-time link, valid for 7 days, and access until the end date you set. You are their sponsor unless you name another employee."
            </p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    limits
                        .get()
                        .map(|result| match result {
                            Err(error) => view! { <ErrorPanel error /> }.into_any(),
                            Ok(limits) => {
                                view! {
                                    <ActionForm action=create attr:class="panel form-grid" attr:data-testid="invite-form">
                                        <label class="field">
                                            "Contractor's email"
                                            <input type="email" name="email" required autocomplete="off" />
                                        </label>
                                        <label class="field">
                                            "Company"
                                            <input type="text" name="company" required maxlength="200" />
                                        </label>
                                        <label class="field">
                                            "Last day of access"
                                            <input
                                                type="date"
                                                name="ends_on"
                                                required
                                                max=limits.max_ends_on.clone()
                                                value=limits.default_ends_on.clone()
                                            />
                                        </label>
                                        <label class="field">
                                            "Sponsor (optional)"
                                            <input type="email" name="sponsor_email" placeholder="you, unless another employee" />
                                        </label>
                                        <div class="form-actions">
                                            <button class="button" type="submit">
                                                "Create invitation"
                                            </button>
                                        </div>
                                    </ActionForm>
                                }
                                    .into_any()
                            }
                        })
                }}
            </Suspense>
            {outcome}
            {move || {
                create
                    .value()
                    .get()
                    .and_then(Result::ok)
                    .map(|created| {
                        view! {
                            <div class="panel panel-success" role="status">
                                <p>
                                    <strong>"Invitation created for " {created.invitation.email.clone()} ". "</strong>
                                    "Send them this link. It is shown only once and works a single time, for 7 days."
                                </p>
                                <input
                                    class="secret"
                                    readonly
                                    data-testid="invitation-link"
                                    value=created.link.clone()
                                    aria-label="Invitation link"
                                />
                            </div>
                        }
                    })
            }}
            <h2>"Sent and sponsored"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    list.get()
                        .map(|result| match result {
                            Err(error) => view! { <ErrorPanel error /> }.into_any(),
                            Ok(items) if items.is_empty() => {
                                view! {
                                    <EmptyState title="No invitations yet">
                                        <p>"Invitations you send or sponsor appear here."</p>
                                    </EmptyState>
                                }
                                    .into_any()
                            }
                            Ok(items) => view! { <InvitationTable items revoke extend end /> }.into_any(),
                        })
                }}
            </Suspense>
        </section>
    }
}

#[component]
fn InvitationTable(
    items: Vec<InvitationView>,
    revoke: ServerAction<RevokeInvitation>,
    extend: ServerAction<ExtendInvitation>,
    end: ServerAction<EndEngagement>,
) -> impl IntoView {
    view! {
        <table class="table" data-testid="invitations">
            <thead>
                <tr>
                    <th>"Contractor"</th>
                    <th>"Company"</th>
                    <th>"Sponsor"</th>
                    <th>"Access until"</th>
                    <th>"Status"</th>
                    <th>"Actions"</th>
                </tr>
            </thead>
            <tbody>
                {items
                    .into_iter()
                    .map(|inv| {
                        let id = inv.id.to_string();
                        let pending = inv.status == InvitationStatus::Pending;
                        let accepted = inv.status == InvitationStatus::Accepted;
                        let last_day = format_date(inv.ends_at - 1);
                        let extend_label = format!("New last day for {}", inv.email);
                        view! {
                            <tr data-email=inv.email.clone()>
                                <td>{inv.email.clone()}</td>
                                <td>{inv.company.clone()}</td>
                                <td>{inv.sponsor.name.clone()}</td>
                                <td>{last_day.clone()}</td>
                                <td>
                                    <span class=format!("badge invitation-{}", inv.status.as_str())>
                                        {inv.status.label()}
                                    </span>
                                </td>
                                <td class="row-actions">
                                    {pending
                                        .then(|| {
                                            let id = id.clone();
                                            view! {
                                                <ActionForm action=revoke>
                                                    <input type="hidden" name="id" value=id />
                                                    <button class="button button-quiet" type="submit">"Revoke"</button>
                                                </ActionForm>
                                            }
                                        })}
                                    {(pending || accepted)
                                        .then(|| {
                                            let id = id.clone();
                                            view! {
                                                <ActionForm action=extend attr:class="inline-form">
                                                    <input type="hidden" name="id" value=id />
                                                    <input
                                                        type="date"
                                                        name="ends_on"
                                                        required
                                                        value=last_day.clone()
                                                        aria-label=extend_label.clone()
                                                    />
                                                    <button class="button button-quiet" type="submit">"Change end"</button>
                                                </ActionForm>
                                            }
                                        })}
                                    {inv
                                        .contractor_id
                                        .filter(|_| accepted)
                                        .map(|person_id| {
                                            view! {
                                                <ActionForm action=end>
                                                    <input type="hidden" name="person_id" value=person_id.to_string() />
                                                    <button class="button button-danger" type="submit">"End engagement"</button>
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

/// What an invitation link opens. Needs no sign-in: the link is the credential.
#[component]
pub fn AcceptInvitationPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let preview = Resource::new(token, get_invitation_preview);
    let error = move || {
        query
            .read()
            .get("error")
            .and_then(|code| code.parse::<SignInError>().ok())
    };
    view! {
        <Title text="Your invitation" />
        <section class="sign-in">
            <h1>"Your invitation to Gatehouse"</h1>
            {move || {
                error()
                    .map(|e| {
                        view! {
                            <div class="panel panel-error" role="alert" data-testid="sign-in-error">
                                {e.label()}
                            </div>
                        }
                    })
            }}
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    preview
                        .get()
                        .map(|result| match result {
                            Err(error) => view! { <ErrorPanel error /> }.into_any(),
                            Ok(p) => {
                                let token = token();
                                view! {
                                    <div class="panel" data-testid="invitation">
                                        <p>
                                            <strong>{p.sponsor_name.clone()}</strong>
                                            " has invited you ("
                                            {p.email.clone()}
                                            ", "
                                            {p.company.clone()}
                                            ") to Gatehouse, the company's API portal. Your access lasts until "
                                            <strong>{format_date(p.ends_at - 1)}</strong>
                                            "."
                                        </p>
                                    </div>
                                    {p
                                        .provider_name
                                        .clone()
                                        .map(|provider| {
                                            let token = token.clone();
                                            view! {
                                                <form class="panel" method="post" action="/auth/oidc/start">
                                                    <input type="hidden" name="invitation" value=token />
                                                    <p>"Sign in with the guest account the company set up for " {p.email.clone()} "."</p>
                                                    <button class="button" type="submit">
                                                        {format!("Accept and sign in with {provider}")}
                                                    </button>
                                                </form>
                                            }
                                        })}
                                    {p
                                        .local_passwords
                                        .then(|| {
                                            view! {
                                                <form class="panel stack" method="post" action="/auth/invitations/accept">
                                                    <input type="hidden" name="token" value=token.clone() />
                                                    <p>"Or choose a password for Gatehouse (at least 12 characters)."</p>
                                                    <label class="field">
                                                        "Your name"
                                                        <input type="text" name="name" required maxlength="200" autocomplete="name" />
                                                    </label>
                                                    <label class="field">
                                                        "Password"
                                                        <input
                                                            type="password"
                                                            name="password"
                                                            required
                                                            minlength="12"
                                                            maxlength="128"
                                                            autocomplete="new-password"
                                                        />
                                                    </label>
                                                    <button class="button" type="submit">"Accept with a password"</button>
                                                </form>
                                            }
                                        })}
                                }
                                    .into_any()
                            }
                        })
                }}
            </Suspense>
        </section>
    }
}
