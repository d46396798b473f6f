//! Sign-in. The company's identity provider comes with the identity work; until then, and for
//! local development, the development sign-in lists the seeded people to act as.

use crate::api::get_sign_in_options;
use crate::components::{ErrorPanel, KindBadge};
use crate::model::DevPerson;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SignInPage() -> impl IntoView {
    let options = Resource::new(|| (), |_| get_sign_in_options());
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".to_owned());
    view! {
        <Title text="Sign in" />
        <section class="sign-in">
            <h1>"Sign in to Gatehouse"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    options
                        .get()
                        .map(|result| match result {
                            Ok(options) => match options.dev_people {
                                Some(people) => view! { <DevPeople people next=next() /> }.into_any(),
                                None => {
                                    view! {
                                        <div class="panel">
                                            <p>"Company sign-in is not configured on this server yet. Ask your platform team."</p>
                                        </div>
                                    }
                                        .into_any()
                                }
                            },
                            Err(error) => view! { <ErrorPanel error /> }.into_any(),
                        })
                }}
            </Suspense>
        </section>
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
