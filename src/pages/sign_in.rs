//! Sign-in: the company's identity provider; for invited contractors, where allowed, an email and
//! password; for local development, the list of seeded people to act as. A failed sign-in comes
//! back here with its reason in the URL.

use crate::api::get_sign_in_options;
use crate::components::Title;
use crate::components::{ErrorPanel, KindBadge};
use crate::model::{DevPerson, SignInError, SignInOptions};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SignInPage() -> impl IntoView {
    let options = Resource::new(|| (), |_| get_sign_in_options());
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".to_owned());
    let error = move || {
        query
            .read()
            .get("error")
            .and_then(|code| code.parse::<SignInError>().ok())
    };
    view! {
        <Title text="Sign in" />
        <section class="sign-in">
            <h1>"Sign in to Gatehouse"</h1>
            {move || {
                error()
                    .map(|e| {
                        view! {
                            <div class="panel panel-error" role="alert" data-testid="sign-in-error">
                                <strong>"You are not signed in. "</strong>
                                {e.label()}
                            </div>
                        }
                    })
            }}
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    options
                        .get()
                        .map(|result| match result {
                            Ok(options) => view! { <SignInChoices options next=next() /> }.into_any(),
                            Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        })
                }}
            </Suspense>
        </section>
    }
}

#[component]
fn SignInChoices(options: SignInOptions, next: String) -> impl IntoView {
    let nothing =
        options.provider_name.is_none() && !options.local_passwords && options.dev_people.is_none();
    view! {
        {options
            .provider_name
            .map(|provider| {
                let next = next.clone();
                view! {
                    <form class="panel sign-in-provider" method="post" action="/auth/oidc/start">
                        <input type="hidden" name="next" value=next />
                        <button class="button" type="submit">
                            {format!("Sign in with {provider}")}
                        </button>
                    </form>
                }
            })}
        {options
            .local_passwords
            .then(|| {
                let next = next.clone();
                view! {
                    <details class="panel">
                        <summary>"Contractor with a Gatehouse password?"</summary>
                        <form class="stack" method="post" action="/auth/password">
                            <input type="hidden" name="next" value=next />
                            <label class="field">
                                "Email"
                                <input type="email" name="email" autocomplete="username" required />
                            </label>
                            <label class="field">
                                "Password"
                                <input
                                    type="password"
                                    name="password"
                                    autocomplete="current-password"
                                    required
                                />
                            </label>
                            <button class="button" type="submit">
                                "Sign in with password"
                            </button>
                        </form>
                    </details>
                }
            })}
        {options.dev_people.map(|people| view! { <DevPeople people next=next.clone() /> })}
        {nothing
            .then(|| {
                view! {
                    <div class="panel">
                        <p>
                            "Company sign-in is not configured on this server yet. Ask your platform team."
                        </p>
                    </div>
                }
            })}
    }
}

#[component]
fn DevPeople(people: Vec<DevPerson>, next: String) -> impl IntoView {
    view! {
        <div class="panel panel-warning" role="note">
            <strong>"Development sign-in."</strong>
            " Anyone here can act as anyone. It only runs on a loopback address and is off unless "
            <code>"GATEHOUSE_DEV_LOGIN=true"</code>
            "."
        </div>
        <ul class="person-list" data-testid="dev-people">
            {people
                .into_iter()
                .map(|person| {
                    let next = next.clone();
                    view! {
                        <li class="card person-card">
                            <div>
                                <div class="person-name">{person.name.clone()}</div>
                                <div class="muted">{person.title.clone().unwrap_or_default()} " · " {person.email.clone()}</div>
                            </div>
                            <div class="person-badges">
                                <KindBadge kind=person.kind />
                                {person.is_admin.then(|| view! { <span class="badge badge-admin">"Admin"</span> })}
                            </div>
                            <form method="post" action="/auth/dev-login">
                                <input type="hidden" name="person_id" value=person.id.to_string() />
                                <input type="hidden" name="next" value=next />
                                <button class="button" type="submit" aria-label=format!("Sign in as {}", person.name)>
                                    "Sign in"
                                </button>
                            </form>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}
