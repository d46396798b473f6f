//! Access screens: asking for access to an API, "My requests" with each request's timeline, the
//! approvals inbox, "My access" (grants and delegations), and notifications. Forms are
//! `ActionForm`s, so they also work before the page has hydrated.

use crate::api::{
    AddDelegation, BulkApprove, CancelRequest, CommentRequest, DecideRequest, EndDelegation,
    MarkNotificationsRead, ResubmitRequest, RevokeGrant, SubmitRequest, get_inbox,
    get_notifications, get_request, get_request_form, my_delegations, my_grants, my_requests,
    preview_request,
};
use crate::components::Title;
use crate::components::{EmptyState, ErrorPanel, KindBadge, RiskBadge, SignedIn};
use crate::domain::time::{format_date, format_date_time};
use crate::model::{
    AppError, ApprovalPreview, DelegationView, GrantView, InboxItem, NotificationView, PersonKind,
    RequestForm, RequestInput, RequestState, RequestSummary, RequestView, Risk, ScopeView,
};
use crate::pages::areas::{AccessArea, AccessPages};
use leptos::form::ActionForm;
use leptos::prelude::*;

fn loading() -> impl IntoView {
    view! { <p class="muted">"Loading…"</p> }
}

#[component]
pub fn StateBadge(state: RequestState, #[prop(optional)] awaiting_changes: bool) -> impl IntoView {
    let (class, label) = if state == RequestState::Pending && awaiting_changes {
        ("changes", "Changes requested")
    } else {
        (state.as_str(), state.label())
    };
    view! { <span class=format!("badge request-{class}") data-testid="request-state">{label}</span> }
}

fn waited(seconds: i64) -> String {
    let hours = seconds / 3600;
    match hours {
        h if h < 1 => "under an hour".to_owned(),
        h if h < 48 => format!("{h} h"),
        h => format!("{} days", h / 24),
    }
}

// ---------------------------------------------------------------------------------------------
// Request access

#[component]
pub fn RequestAccessPage() -> impl IntoView {
    let slug = crate::components::path_param("slug");
    view! { <AccessArea page=AccessPages::RequestAccess { slug } /> }
}

/// The page's interactive part, in the access area's island.
#[component]
pub fn RequestAccess(slug: String) -> impl IntoView {
    // Above `SignedIn`: see there.
    let form = Resource::new(move || slug.clone(), get_request_form);
    // What the preview is for: (API, environment, scopes). Set from the form's starting values
    // once the page is live (effects run only in the browser), then by each change. The preview
    // never reads the form resource itself: on the server the page's owner may already be gone
    // when a resource's source runs again.
    let picked = RwSignal::new(None::<(String, String, Vec<String>)>);
    let preview = Resource::new(
        move || picked.get(),
        |key| async move {
            match key {
                Some((slug, env, scopes)) => Some(preview_request(slug, env, scopes).await),
                None => None,
            }
        },
    );
    view! {
        <SignedIn>
            <RequestAccessBody form picked preview />
        </SignedIn>
    }
}

#[component]
fn RequestAccessBody(
    form: Resource<Result<RequestForm, AppError>>,
    picked: RwSignal<Option<(String, String, Vec<String>)>>,
    preview: Resource<Option<Result<ApprovalPreview, AppError>>>,
) -> impl IntoView {
    // Signals, actions and the preview live above the Suspense: its children may be rebuilt
    // while the page hydrates, and state owned by a discarded child would go dead.
    let submit = ServerAction::<SubmitRequest>::new();
    Effect::new(move |_| {
        if let Some(Ok(id)) = submit.value().get() {
            crate::components::go(&format!("/requests/{id}"));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(f)) = form.get() {
            picked.set(Some((f.api.slug, f.prefill.environment, f.prefill.scopes)));
        }
    });
    let state = FormState {
        submit,
        picked,
        preview,
    };
    view! {
        <Suspense fallback=loading>
            {move || {
                form.get()
                    .map(|result| match result {
                        Ok(form) => view! { <RequestFormView form state /> }.into_any(),
                        Err(error) => view! { <Title text="Request access" /> <ErrorPanel error /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

/// The request form's live state, owned above its Suspense.
#[derive(Clone, Copy)]
struct FormState {
    submit: ServerAction<SubmitRequest>,
    picked: RwSignal<Option<(String, String, Vec<String>)>>,
    preview: Resource<Option<Result<ApprovalPreview, crate::model::AppError>>>,
}

#[component]
fn RequestFormView(form: RequestForm, state: FormState) -> impl IntoView {
    let RequestForm {
        api,
        team,
        retired,
        environments,
        scopes,
        kind,
        sponsor,
        prefill,
        held,
        pending_request,
    } = form;
    let FormState {
        submit,
        picked,
        preview,
    } = state;
    let error = move || submit.value().get().and_then(Result::err);
    let title = format!("Request access · {}", api.name);
    view! {
        <Title text=title />
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <a href="/">"Catalog"</a>
            <span aria-hidden="true">"/"</span>
            <a href=format!("/apis/{}", api.slug)>{api.name.clone()}</a>
            <span aria-hidden="true">"/"</span>
            <span>"Request access"</span>
        </nav>
        <h1>{format!("Request access to {}", api.name)}</h1>
        <p class="lead">{format!("Owned by {}.", team.name)}</p>
        {(!held.is_empty())
            .then(|| {
                view! {
                    <div class="notice" data-testid="held">
                        <p>"You already hold:"</p>
                        <ul>
                            {held
                                .iter()
                                .map(|g| {
                                    view! {
                                        <li>
                                            {format!("{} in {} until {}", g.scopes.join(", "), g.environment, format_date(g.ends_at))}
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                        <p class="muted">"The form starts from that grant: ask again to renew or widen it."</p>
                    </div>
                }
            })}
        {pending_request
            .map(|id| {
                view! {
                    <p class="notice">
                        "You have a request for this API waiting: " <a href=format!("/requests/{id}")>{format!("request #{id}")}</a>
                    </p>
                }
            })}
        {if retired {
            view! { <div class="panel panel-error" role="alert"><p>"This API is retired: no new access can be requested."</p></div> }
                .into_any()
        } else {
            view! {
                {move || error().map(|error| view! { <ErrorPanel error /> })}
                <ActionForm action=submit attr:class="panel form-grid request-form" attr:data-testid="request-form">
                    <input type="hidden" name="slug" value=api.slug.clone() />
                    {(kind == PersonKind::Contractor)
                        .then(|| {
                            view! {
                                <p class="field-wide muted" data-testid="sponsor">
                                    {format!(
                                        "As a contractor, your sponsor {} approves first. Contractor access is short and ends with your contract.",
                                        sponsor.as_ref().map(|s| s.name.clone()).unwrap_or_else(|| "(none on record)".into()),
                                    )}
                                </p>
                            }
                        })}
                    <label class="field">
                        "Environment"
                        <select
                            name="request[environment]"
                            required
                            on:change=move |ev| {
                                let env = event_target_value(&ev);
                                picked.update(|p| if let Some(p) = p { p.1 = env });
                            }
                        >
                            {environments
                                .iter()
                                .map(|e| {
                                    let selected = *e == prefill.environment;
                                    view! { <option value=e.clone() selected=selected>{e.clone()}</option> }
                                })
                                .collect_view()}
                        </select>
                    </label>
                    <fieldset class="field field-wide scopes-pick" data-testid="scope-choices">
                        <legend>"Scopes"</legend>
                        {scopes
                            .iter()
                            .enumerate()
                            .map(|(i, s)| scope_choice(i, s.clone(), prefill.scopes.contains(&s.name), picked))
                            .collect_view()}
                    </fieldset>
                    <label class="field field-wide">
                        "Justification"
                        <textarea
                            name="request[justification]"
                            rows="4"
                            required
                            minlength="20"
                            maxlength="2000"
                            placeholder="What you will build with it, and why these scopes."
                        >
                            {prefill.justification.clone()}
                        </textarea>
                    </label>
                    <label class="field">
                        "Duration (days)"
                        <input
                            type="number"
                            name="request[duration_days]"
                            min="1"
                            value=prefill.duration_days.clone()
                            placeholder=move || {
                                preview.get().flatten().and_then(Result::ok).map(|p| p.default_days.to_string()).unwrap_or_default()
                            }
                        />
                    </label>
                    <div class="field-wide" data-testid="approval-preview">
                        <Suspense fallback=|| ()>
                            {move || preview.get().flatten().map(|p| view! { <PreviewView preview=p /> })}
                        </Suspense>
                    </div>
                    <div class="form-actions field-wide">
                        <button class="button button-primary" type="submit" disabled=move || submit.pending().get()>
                            "Send request"
                        </button>
                    </div>
                </ActionForm>
            }
                .into_any()
        }}
    }
}

fn scope_choice(
    i: usize,
    scope: ScopeView,
    checked: bool,
    picked: RwSignal<Option<(String, String, Vec<String>)>>,
) -> impl IntoView + use<> {
    let name = scope.name.clone();
    let toggle = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        let name = name.clone();
        picked.update(|p| {
            if let Some((_, _, list)) = p {
                list.retain(|s| *s != name);
                if on {
                    list.push(name);
                }
            }
        });
    };
    view! {
        <label class="scope-choice">
            <input type="checkbox" name=format!("request[scopes][{i}]") value=scope.name.clone() checked=checked on:change=toggle />
            <code>{scope.name.clone()}</code>
            <RiskBadge risk=scope.risk />
            <span class="muted">{scope.description.clone()}</span>
        </label>
    }
}

#[component]
pub fn PreviewView(preview: Result<ApprovalPreview, crate::model::AppError>) -> impl IntoView {
    match preview {
        Err(error) => view! { <p class="muted">{error.to_string()}</p> }.into_any(),
        Ok(ApprovalPreview { stages: None, message, .. }) => {
            view! { <p class="preview preview-denied">{message.unwrap_or_default()}</p> }.into_any()
        }
        Ok(ApprovalPreview {
            stages: Some(stages),
            max_days,
            default_days,
            message,
            ..
        }) => view! {
            <div class="preview">
                {if stages.is_empty() {
                    view! { <p><strong>"Approved automatically"</strong>" by this API's policy."</p> }.into_any()
                } else {
                    view! {
                        <p>"Who approves, in order:"</p>
                        <ol class="preview-stages">
                            {stages
                                .into_iter()
                                .map(|s| view! { <li><span class="stage-kind">{s.kind.label()}</span>" — "{s.who}</li> })
                                .collect_view()}
                        </ol>
                    }
                        .into_any()
                }}
                <p class="muted">{format!("Up to {max_days} days; {default_days} if you leave the duration empty.")}</p>
                {message.map(|m| view! { <p class="preview-denied">{m}</p> })}
            </div>
        }
        .into_any(),
    }
}

// ---------------------------------------------------------------------------------------------
// My requests

#[component]
pub fn MyRequestsPage() -> impl IntoView {
    view! { <AccessArea page=AccessPages::MyRequests /> }
}

/// The page's interactive part, in the access area's island.
#[component]
pub fn MyRequests() -> impl IntoView {
    // Above `SignedIn`: see there.
    let requests = Resource::new(|| (), |_| my_requests());
    view! {
        <SignedIn>
            <MyRequestsBody requests />
        </SignedIn>
    }
}

#[component]
fn MyRequestsBody(requests: Resource<Result<Vec<RequestSummary>, AppError>>) -> impl IntoView {
    view! {
        <Title text="My requests" />
        <h1>"My requests"</h1>
        <Suspense fallback=loading>
            {move || {
                requests
                    .get()
                    .map(|result| match result {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(list) if list.is_empty() => {
                            view! {
                                <EmptyState title="No requests yet">
                                    <p>"Find an API in the catalog and choose “Request access”."</p>
                                    <a class="button" href="/">"Browse the catalog"</a>
                                </EmptyState>
                            }
                                .into_any()
                        }
                        Ok(list) => {
                            view! {
                                <table class="table" data-testid="my-requests">
                                    <thead>
                                        <tr>
                                            <th>"Request"</th>
                                            <th>"API"</th>
                                            <th>"Environment"</th>
                                            <th>"Scopes"</th>
                                            <th>"State"</th>
                                            <th>"Updated"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list
                                            .into_iter()
                                            .map(|r| {
                                                view! {
                                                    <tr>
                                                        <td><a href=format!("/requests/{}", r.id)>{format!("#{}", r.id)}</a></td>
                                                        <td>{r.api.name}</td>
                                                        <td>{r.environment}</td>
                                                        <td><code>{r.scopes.join(", ")}</code></td>
                                                        <td>
                                                            <StateBadge state=r.state awaiting_changes=r.awaiting_changes />
                                                            {r.waiting_for.map(|w| view! { <span class="muted">{format!(" waiting for {w}")}</span> })}
                                                        </td>
                                                        <td>{format_date_time(r.updated_at)}</td>
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

// ---------------------------------------------------------------------------------------------
// One request

#[component]
pub fn RequestPage() -> impl IntoView {
    let id = crate::components::path_param("id").parse().unwrap_or(0);
    view! { <AccessArea page=AccessPages::Request { id } /> }
}

/// The page's interactive part, in the access area's island.
#[component]
pub fn Request(id: i64) -> impl IntoView {
    // Above `SignedIn`: see there.
    let id = move || id;
    let decide = ServerAction::<DecideRequest>::new();
    let cancel = ServerAction::<CancelRequest>::new();
    let resubmit = ServerAction::<ResubmitRequest>::new();
    let comment = ServerAction::<CommentRequest>::new();
    let request = Resource::new(
        move || {
            (
                id(),
                decide.version().get(),
                cancel.version().get(),
                resubmit.version().get(),
                comment.version().get(),
            )
        },
        |(id, ..)| get_request(id),
    );
    view! {
        <SignedIn>
            <RequestBody decide cancel resubmit comment request />
        </SignedIn>
    }
}

#[component]
fn RequestBody(
    decide: ServerAction<DecideRequest>,
    cancel: ServerAction<CancelRequest>,
    resubmit: ServerAction<ResubmitRequest>,
    comment: ServerAction<CommentRequest>,
    request: Resource<Result<RequestView, AppError>>,
) -> impl IntoView {
    crate::components::counts_follow(move || decide.version().get() + cancel.version().get());
    let error = move || {
        decide
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| cancel.value().get().and_then(Result::err))
            .or_else(|| resubmit.value().get().and_then(Result::err))
            .or_else(|| comment.value().get().and_then(Result::err))
    };
    view! {
        <Suspense fallback=loading>
            {move || {
                request
                    .get()
                    .map(|result| match result {
                        Ok(r) => view! {
                            {move || error().map(|error| view! { <ErrorPanel error /> })}
                            <RequestDetail r decide cancel resubmit comment />
                        }
                            .into_any(),
                        Err(error) => view! { <Title text="Request" /> <ErrorPanel error /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

#[component]
fn RequestDetail(
    r: RequestView,
    decide: ServerAction<DecideRequest>,
    cancel: ServerAction<CancelRequest>,
    resubmit: ServerAction<ResubmitRequest>,
    comment: ServerAction<CommentRequest>,
) -> impl IntoView {
    let id = r.id;
    let position = r.can_decide;
    let revision = r.revision;
    let scope_names: Vec<String> = r.scopes.iter().map(|s| s.name.clone()).collect();
    view! {
        <Title text=format!("Request #{id}") />
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <a href="/requests">"My requests"</a>
            <span aria-hidden="true">"/"</span>
            <span>{format!("#{id}")}</span>
        </nav>
        <header class="request-header">
            <h1>{format!("{} · {}", r.api.name, r.environment)}</h1>
            <StateBadge state=r.state awaiting_changes=r.awaiting_changes />
            <RiskBadge risk=r.risk />
        </header>
        <dl class="facts request-facts" data-testid="request-facts">
            <div><dt>"Requester"</dt><dd>{r.requester.name.clone()}" "<KindBadge kind=r.requester_kind /></dd></div>
            {r.sponsor.clone().map(|s| view! { <div><dt>"Sponsor"</dt><dd>{s.name}</dd></div> })}
            <div>
                <dt>"API"</dt>
                <dd><a href=format!("/apis/{}", r.api.slug)>{r.api.name.clone()}</a></dd>
            </div>
            <div><dt>"Duration"</dt><dd>{format!("{} days", r.duration_days)}</dd></div>
            <div><dt>"Submitted"</dt><dd>{format_date_time(r.created_at)}</dd></div>
            {(r.state == RequestState::Pending)
                .then(|| view! { <div><dt>"Expires if undecided"</dt><dd>{format_date(r.expires_at)}</dd></div> })}
            {r.grant_id.map(|g| view! { <div><dt>"Grant"</dt><dd><a href="/access" data-testid="grant-link">{format!("Grant #{g}")}</a></dd></div> })}
        </dl>
        <section class="section">
            <h2>"Scopes"</h2>
            <ul class="scope-list">
                {r.scopes
                    .iter()
                    .map(|s| view! { <li><code>{s.name.clone()}</code>" "<RiskBadge risk=s.risk />" "<span class="muted">{s.description.clone()}</span></li> })
                    .collect_view()}
            </ul>
            <h2>"Justification"</h2>
            <blockquote class="justification">{r.justification.clone()}</blockquote>
        </section>
        <section class="section">
            <h2>"Stages"</h2>
            <ol class="stages" data-testid="stages">
                {r.stages
                    .iter()
                    .map(|s| {
                        view! {
                            <li class=format!("stage stage-{}", s.state.as_str())>
                                <div class="stage-head">
                                    <strong>{s.kind.label()}</strong>
                                    " — "
                                    {s.approver.clone()}
                                    <span class=format!("badge stage-state-{}", s.state.as_str())>{s.state.label()}</span>
                                </div>
                                {s.decided_by.clone().map(|p| {
                                    view! {
                                        <div class="muted">
                                            {format!("by {} on {}", p.name, s.decided_at.map(format_date_time).unwrap_or_default())}
                                        </div>
                                    }
                                })}
                                {s.comment.clone().map(|c| view! { <blockquote class="stage-comment">{c}</blockquote> })}
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </section>
        {position.map(|position| {
            view! {
                <section class="section panel decide-panel" data-testid="decide">
                    <h2>"Your decision"</h2>
                    <ActionForm action=decide attr:class="form-grid">
                        <input type="hidden" name="id" value=id />
                        <input type="hidden" name="revision" value=revision />
                        <input type="hidden" name="position" value=position />
                        <label class="field field-wide">
                            "Comment (needed to reject or send back)"
                            <textarea name="comment" rows="3" maxlength="2000"></textarea>
                        </label>
                        <div class="form-actions field-wide">
                            <button class="button button-primary" type="submit" name="decision" value="approve">"Approve"</button>
                            <button class="button" type="submit" name="decision" value="request_changes">"Send back for changes"</button>
                            <button class="button button-danger" type="submit" name="decision" value="reject">"Reject"</button>
                        </div>
                    </ActionForm>
                </section>
            }
        })}
        {r.can_resubmit.then(|| {
            let prefill = RequestInput {
                environment: r.environment.clone(),
                scopes: scope_names.clone(),
                justification: r.justification.clone(),
                duration_days: r.duration_days.to_string(),
            };
            view! {
                <section class="section panel" data-testid="resubmit">
                    <h2>"Change and resubmit"</h2>
                    <p class="muted">"An approver sent this back. Change what they asked for; the stages then start again."</p>
                    <ActionForm action=resubmit attr:class="form-grid">
                        <input type="hidden" name="id" value=id />
                        <input type="hidden" name="request[environment]" value=prefill.environment.clone() />
                        <label class="field field-wide">
                            "Scopes (comma-separated)"
                            <ResubmitScopes scopes=prefill.scopes.clone() />
                        </label>
                        <label class="field field-wide">
                            "Justification"
                            <textarea name="request[justification]" rows="4" required minlength="20">{prefill.justification.clone()}</textarea>
                        </label>
                        <label class="field">
                            "Duration (days)"
                            <input type="number" name="request[duration_days]" min="1" value=prefill.duration_days.clone() />
                        </label>
                        <div class="form-actions field-wide">
                            <button class="button button-primary" type="submit">"Resubmit"</button>
                        </div>
                    </ActionForm>
                </section>
            }
        })}
        <section class="section">
            <h2>"Timeline"</h2>
            <ol class="timeline" data-testid="timeline">
                {r.timeline
                    .iter()
                    .map(|e| {
                        let what = match e.kind.as_str() {
                            "submitted" => "submitted the request".to_owned(),
                            "resubmitted" => format!("resubmitted it (revision {})", e.revision),
                            "approved" => format!("approved stage {}", e.position.map(|p| p + 1).unwrap_or(0)),
                            "rejected" => format!("rejected at stage {}", e.position.map(|p| p + 1).unwrap_or(0)),
                            "changes_requested" => "sent it back for changes".to_owned(),
                            "commented" => "commented".to_owned(),
                            "cancelled" => "cancelled it".to_owned(),
                            "expired" => "It expired undecided.".to_owned(),
                            "reminded" => "Approvers were reminded.".to_owned(),
                            "auto_approved" => "Approved automatically by the policy.".to_owned(),
                            other => other.to_owned(),
                        };
                        view! {
                            <li>
                                <time>{format_date_time(e.at)}</time>
                                " "
                                <span>{e.actor.clone().map(|a| format!("{a} {what}")).unwrap_or(what)}</span>
                                {e.comment.clone().map(|c| view! { <blockquote>{c}</blockquote> })}
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </section>
        {(r.state == RequestState::Pending)
            .then(|| {
                view! {
                    <section class="section">
                        <ActionForm action=comment attr:class="comment-form">
                            <input type="hidden" name="id" value=id />
                            <label class="field">
                                "Add a comment"
                                <textarea name="comment" rows="2" maxlength="2000" required></textarea>
                            </label>
                            <button class="button" type="submit">"Comment"</button>
                        </ActionForm>
                    </section>
                }
            })}
        {r.can_cancel.then(|| {
            view! {
                <ActionForm action=cancel attr:class="cancel-form">
                    <input type="hidden" name="id" value=id />
                    <button class="button button-quiet" type="submit">"Cancel this request"</button>
                </ActionForm>
            }
        })}
    }
}

/// The scopes of a request being resubmitted, one checkbox each (ticked as they were).
#[component]
fn ResubmitScopes(scopes: Vec<String>) -> impl IntoView {
    view! {
        <span class="scope-choices">
            {scopes
                .into_iter()
                .enumerate()
                .map(|(i, s)| {
                    view! {
                        <label class="scope-choice">
                            <input type="checkbox" name=format!("request[scopes][{i}]") value=s.clone() checked=true />
                            <code>{s}</code>
                        </label>
                    }
                })
                .collect_view()}
        </span>
    }
}

// ---------------------------------------------------------------------------------------------
// Approvals inbox

#[component]
pub fn ApprovalsPage() -> impl IntoView {
    view! { <AccessArea page=AccessPages::Approvals /> }
}

/// The page's interactive part, in the access area's island.
#[component]
pub fn Approvals() -> impl IntoView {
    // Above `SignedIn`: see there.
    let bulk = ServerAction::<BulkApprove>::new();
    let decide = ServerAction::<DecideRequest>::new();
    let inbox = Resource::new(
        move || (bulk.version().get(), decide.version().get()),
        |_| get_inbox(),
    );
    let add_delegation = ServerAction::<AddDelegation>::new();
    let end_delegation = ServerAction::<EndDelegation>::new();
    let delegations = Resource::new(
        move || {
            (
                add_delegation.version().get(),
                end_delegation.version().get(),
            )
        },
        |_| my_delegations(),
    );
    view! {
        <SignedIn>
            <ApprovalsBody bulk decide inbox add_delegation end_delegation delegations />
        </SignedIn>
    }
}

#[component]
fn ApprovalsBody(
    bulk: ServerAction<BulkApprove>,
    decide: ServerAction<DecideRequest>,
    inbox: Resource<Result<Vec<InboxItem>, AppError>>,
    add_delegation: ServerAction<AddDelegation>,
    end_delegation: ServerAction<EndDelegation>,
    delegations: Resource<Result<Vec<DelegationView>, AppError>>,
) -> impl IntoView {
    crate::components::counts_follow(move || bulk.version().get() + decide.version().get());
    view! {
        <Title text="Approvals" />
        <h1>"Approvals"</h1>
        <p class="lead">"Requests waiting for your decision, oldest first."</p>
        {move || decide.value().get().and_then(Result::err).map(|error| view! { <ErrorPanel error /> })}
        {move || {
            bulk.value()
                .get()
                .map(|result| match result {
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    Ok(outcomes) => {
                        view! {
                            <ul class="notice" role="status" data-testid="bulk-result">
                                {outcomes
                                    .into_iter()
                                    .map(|o| view! { <li>{format!("#{}: {}", o.request_id, o.message)}</li> })
                                    .collect_view()}
                            </ul>
                        }
                            .into_any()
                    }
                })
        }}
        <Suspense fallback=loading>
            {move || {
                inbox
                    .get()
                    .map(|result| match result {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(items) if items.is_empty() => {
                            view! {
                                <EmptyState title="Nothing waits for you">
                                    <p>"When a request needs your approval it appears here, and you hear of it by email."</p>
                                </EmptyState>
                            }
                                .into_any()
                        }
                        Ok(items) => {
                            let any_low = items.iter().any(|i| i.risk == Risk::Low);
                            // Each item decides on its own form; the low-risk checkboxes belong to the
                            // bulk form through their `form` attribute (forms cannot nest).
                            view! {
                                <div class="inbox" data-testid="inbox">
                                    {items.into_iter().enumerate().map(|(n, i)| inbox_item(n, i, decide)).collect_view()}
                                </div>
                                {any_low
                                    .then(|| {
                                        view! {
                                            <ActionForm action=bulk attr:id="bulk-approve" attr:class="form-actions">
                                                <button class="button" type="submit">"Approve the selected low-risk requests"</button>
                                            </ActionForm>
                                        }
                                    })}
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
        <DelegationsSection add=add_delegation end=end_delegation list=delegations />
    }
}

fn inbox_item(n: usize, i: InboxItem, decide: ServerAction<DecideRequest>) -> impl IntoView {
    let chain = i
        .manager_chain
        .iter()
        .map(|p| p.name.clone())
        .collect::<Vec<_>>()
        .join(" → ");
    view! {
        <article class="panel inbox-item" data-testid="inbox-item">
            <header class="inbox-head">
                {(i.risk == Risk::Low)
                    .then(|| {
                        view! {
                            <input
                                type="checkbox"
                                form="bulk-approve"
                                name=format!("items[{n}]")
                                value=format!("{}:{}:{}", i.request_id, i.position, i.revision)
                                aria-label=format!("Select request #{}", i.request_id)
                            />
                        }
                    })}
                <a href=format!("/requests/{}", i.request_id)>
                    <strong>{i.requester.name.clone()}</strong>
                    {format!(" asks for {} · {}", i.api.name, i.environment)}
                </a>
                <KindBadge kind=i.requester_kind />
                <RiskBadge risk=i.risk />
            </header>
            <dl class="facts">
                <div><dt>"Your stage"</dt><dd>{i.stage.label()}{i.on_behalf_of.clone().map(|p| format!(" (for {p})"))}</dd></div>
                <div><dt>"Scopes"</dt><dd><code>{i.scopes.iter().map(|s| s.name.clone()).collect::<Vec<_>>().join(", ")}</code></dd></div>
                <div><dt>"Duration"</dt><dd>{format!("{} days", i.duration_days)}</dd></div>
                <div><dt>"Waiting"</dt><dd>{waited(i.waiting_seconds)}</dd></div>
                {(!chain.is_empty()).then(|| view! { <div><dt>"Manager chain"</dt><dd>{chain.clone()}</dd></div> })}
                {i.sponsor.clone().map(|s| view! { <div><dt>"Sponsor"</dt><dd>{s.name}</dd></div> })}
            </dl>
            <blockquote class="justification">{i.justification.clone()}</blockquote>
            <ActionForm action=decide attr:class="inbox-decide">
                <input type="hidden" name="id" value=i.request_id />
                <input type="hidden" name="revision" value=i.revision />
                <input type="hidden" name="position" value=i.position />
                <input type="text" name="comment" maxlength="2000" placeholder="Comment (needed to reject)" aria-label=format!("Comment on request #{}", i.request_id) />
                <button class="button button-primary" type="submit" name="decision" value="approve">"Approve"</button>
                <button class="button button-danger" type="submit" name="decision" value="reject">"Reject"</button>
                <a class="button button-quiet" href=format!("/requests/{}", i.request_id)>"Review and decide"</a>
            </ActionForm>
        </article>
    }
}

#[component]
fn DelegationsSection(
    add: ServerAction<AddDelegation>,
    end: ServerAction<EndDelegation>,
    list: Resource<Result<Vec<DelegationView>, AppError>>,
) -> impl IntoView {
    let error = move || {
        add.value()
            .get()
            .and_then(Result::err)
            .or_else(|| end.value().get().and_then(Result::err))
    };
    view! {
        <section class="section" data-testid="delegations">
            <h2>"Away? Delegate your approvals"</h2>
            <p class="muted">"The person you name decides the stages addressed to you (as manager or sponsor) for the period."</p>
            {move || error().map(|error| view! { <ErrorPanel error /> })}
            <Suspense fallback=|| ()>
                {move || {
                    list.get()
                        .and_then(Result::ok)
                        .map(|list| {
                            list.into_iter()
                                .map(|d| {
                                    view! {
                                        <ActionForm action=end attr:class="delegation">
                                            <input type="hidden" name="id" value=d.id />
                                            {format!("{} from {} to {}", d.delegate.name, format_date(d.starts_at), format_date(d.ends_at - 1))}
                                            " "
                                            <button class="button button-quiet" type="submit">"End"</button>
                                        </ActionForm>
                                    }
                                })
                                .collect_view()
                        })
                }}
            </Suspense>
            <ActionForm action=add attr:class="form-grid">
                <label class="field">"Delegate's email" <input type="email" name="email" required /></label>
                <label class="field">"From" <input type="date" name="starts_on" required /></label>
                <label class="field">"Until (inclusive)" <input type="date" name="ends_on" required /></label>
                <div class="form-actions"><button class="button" type="submit">"Delegate"</button></div>
            </ActionForm>
        </section>
    }
}

// ---------------------------------------------------------------------------------------------
// My access

#[component]
pub fn MyAccessPage() -> impl IntoView {
    view! { <AccessArea page=AccessPages::MyAccess /> }
}

/// The page's interactive part, in the access area's island.
#[component]
pub fn MyAccess() -> impl IntoView {
    // Above `SignedIn`: see there.
    let revoke = ServerAction::<RevokeGrant>::new();
    let grants = Resource::new(move || revoke.version().get(), |_| my_grants());
    view! {
        <SignedIn>
            <MyAccessBody revoke grants />
        </SignedIn>
    }
}

#[component]
fn MyAccessBody(
    revoke: ServerAction<RevokeGrant>,
    grants: Resource<Result<Vec<GrantView>, AppError>>,
) -> impl IntoView {
    view! {
        <Title text="My access" />
        <h1>"My access"</h1>
        <p class="lead">"What you may call, where, and until when. " <a href="/requests">"My requests"</a></p>
        {move || revoke.value().get().and_then(Result::err).map(|error| view! { <ErrorPanel error /> })}
        <Suspense fallback=loading>
            {move || {
                grants
                    .get()
                    .map(|result| match result {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(list) if list.is_empty() => {
                            view! {
                                <EmptyState title="No access yet">
                                    <p>"Request access from an API's page; approved requests appear here."</p>
                                </EmptyState>
                            }
                                .into_any()
                        }
                        Ok(list) => view! { <GrantsTable grants=list revoke show_holder=false /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

#[component]
pub fn GrantsTable(
    grants: Vec<GrantView>,
    revoke: ServerAction<RevokeGrant>,
    show_holder: bool,
) -> impl IntoView {
    view! {
        <table class="table" data-testid="grants">
            <thead>
                <tr>
                    {show_holder.then(|| view! { <th>"Holder"</th> })}
                    <th>"API"</th>
                    <th>"Environment"</th>
                    <th>"Scopes"</th>
                    <th>"Until"</th>
                    <th>"State"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {grants
                    .into_iter()
                    .map(|g| {
                        let state = if g.active {
                            "Active".to_owned()
                        } else if g.revoked_at.is_some() {
                            format!("Revoked{}", g.revoke_reason.clone().map(|r| format!(": {r}")).unwrap_or_default())
                        } else {
                            "Ended".to_owned()
                        };
                        view! {
                            <tr class=if g.active { "grant-active" } else { "grant-ended" }>
                                {show_holder.then(|| view! { <td>{g.holder.name.clone()}<br /><span class="muted">{g.holder.email.clone()}</span></td> })}
                                <td><a href=format!("/apis/{}", g.api.slug)>{g.api.name.clone()}</a></td>
                                <td>{g.environment.clone()}</td>
                                <td><code>{g.scopes.join(", ")}</code></td>
                                <td>{format_date(g.ends_at)}</td>
                                <td>{state}</td>
                                <td>
                                    {g.can_revoke
                                        .then(|| {
                                            view! {
                                                <ActionForm action=revoke attr:class="revoke-form">
                                                    <input type="hidden" name="id" value=g.id />
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

// ---------------------------------------------------------------------------------------------
// Notifications

#[component]
pub fn NotificationsPage() -> impl IntoView {
    view! { <AccessArea page=AccessPages::Notifications /> }
}

/// The page's interactive part, in the access area's island.
#[component]
pub fn Notifications() -> impl IntoView {
    // Above `SignedIn`: see there.
    let read = ServerAction::<MarkNotificationsRead>::new();
    let list = Resource::new(move || read.version().get(), |_| get_notifications());
    view! {
        <SignedIn>
            <NotificationsBody read list />
        </SignedIn>
    }
}

#[component]
fn NotificationsBody(
    read: ServerAction<MarkNotificationsRead>,
    list: Resource<Result<Vec<NotificationView>, AppError>>,
) -> impl IntoView {
    crate::components::counts_follow(move || read.version().get());
    view! {
        <Title text="Notifications" />
        <div class="page-head">
            <h1>"Notifications"</h1>
            <ActionForm action=read>
                <button class="button button-quiet" type="submit">"Mark all read"</button>
            </ActionForm>
        </div>
        <Suspense fallback=loading>
            {move || {
                list.get()
                    .map(|result| match result {
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        Ok(list) if list.is_empty() => {
                            view! { <EmptyState title="Nothing new"><p>"Decisions, approvals waiting for you and expiring access show up here."</p></EmptyState> }
                                .into_any()
                        }
                        Ok(list) => {
                            view! {
                                <ul class="notifications" data-testid="notifications">
                                    {list
                                        .into_iter()
                                        .map(|n| {
                                            view! {
                                                <li class=if n.read { "notification" } else { "notification unread" }>
                                                    <a href=n.link.clone().unwrap_or_else(|| "#".into())>
                                                        <strong>{n.subject.clone()}</strong>
                                                    </a>
                                                    {(!n.body.is_empty()).then(|| view! { <p>{n.body.clone()}</p> })}
                                                    <time class="muted">{format_date_time(n.created_at)}</time>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}
