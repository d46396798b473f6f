//! Any path no route matches.

use crate::components::Title;
use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <div class="empty-state">
            <h1>"Page not found"</h1>
            <p>"Nothing lives at this address."</p>
            <a class="button" href="/">"Back to the catalog"</a>
        </div>
    }
}
