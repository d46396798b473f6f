//! Editing an API's metadata, scopes and environments: its team's owners and admins. A row left
//! empty is ignored, so clearing a row removes that environment or scope (unless requests or
//! grants still name it, which the server refuses with a reason).

use crate::api::{UpdateApi, get_api_edit};
use crate::components::Title;
use crate::components::{ErrorPanel, SignedIn};
use crate::model::{ApiEdit, AppError, EnvironmentInput, Lifecycle, Risk, ScopeInput, Visibility};
use crate::pages::areas::{AdminArea, AdminPages};
use leptos::form::ActionForm;
use leptos::prelude::*;

/// Empty rows offered for adding environments and scopes.
const SPARE_ROWS: usize = 2;

#[component]
pub fn ApiEditPage() -> impl IntoView {
    let slug = crate::components::path_param("slug");
    view! { <AdminArea page=AdminPages::ApiEdit { slug } /> }
}

/// The page's interactive part, in the admin area's island.
#[component]
pub fn ApiEdit(slug: String) -> impl IntoView {
    // Above `SignedIn`: see there.
    let slug = StoredValue::new(slug);
    let slug = move || slug.get_value();
    let save = ServerAction::<UpdateApi>::new();
    let current = Resource::new(
        move || (slug(), save.version().get()),
        |(s, _)| get_api_edit(s),
    );
    view! {
        <SignedIn>
            <EditBody slug=slug() save current />
        </SignedIn>
    }
}

#[component]
fn EditBody(
    slug: String,
    save: ServerAction<UpdateApi>,
    current: Resource<Result<ApiEdit, AppError>>,
) -> impl IntoView {
    let slug = StoredValue::new(slug);
    let slug = move || slug.get_value();
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                current
                    .get()
                    .map(|result| match result {
                        Ok(edit) => view! { <EditForm slug=slug() edit save /> }.into_any(),
                        Err(error) => view! { <Title text="Edit API" /> <ErrorPanel error /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

fn options<T: Copy + PartialEq + 'static>(
    all: &'static [T],
    selected: String,
    value: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> impl IntoView + use<T> {
    all.iter()
        .map(|&v| {
            let is = value(v) == selected;
            view! { <option value=value(v) selected=is>{label(v)}</option> }
        })
        .collect_view()
}

#[component]
fn EditForm(slug: String, edit: ApiEdit, save: ServerAction<UpdateApi>) -> impl IntoView {
    let ApiEdit {
        name,
        summary,
        description_md,
        lifecycle,
        visibility,
        tags,
        repository_url,
        runbook_url,
        chat_channel,
        mut environments,
        mut scopes,
        revision,
    } = edit;
    environments.extend(std::iter::repeat_n(EnvironmentInput::default(), SPARE_ROWS));
    scopes.extend(std::iter::repeat_n(
        ScopeInput {
            risk: "low".into(),
            ..ScopeInput::default()
        },
        SPARE_ROWS,
    ));
    let saved = move || matches!(save.value().get(), Some(Ok(())));
    let back = format!("/apis/{slug}");
    let error = move || save.value().get().and_then(Result::err);
    view! {
        <Title text=format!("Edit · {name}") />
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <a href="/">"Catalog"</a>
            <span aria-hidden="true">"/"</span>
            <a href=format!("/apis/{slug}")>{name.clone()}</a>
            <span aria-hidden="true">"/"</span>
            <span>"Edit"</span>
        </nav>
        <h1>{format!("Edit {name}")}</h1>
        {move || error().map(|error| view! { <ErrorPanel error /> })}
        {move || {
            saved()
                .then(|| {
                    view! {
                        <p class="notice" role="status" data-testid="saved">
                            "Saved. " <a href=back.clone()>"Back to the API"</a>
                        </p>
                    }
                })
        }}
        <ActionForm action=save attr:class="panel form-grid api-edit" attr:data-testid="api-edit-form">
            <input type="hidden" name="slug" value=slug.clone() />
            {revision.map(|r| view! { <input type="hidden" name="edit[revision]" value=r /> })}
            <label class="field">
                "Name"
                <input type="text" name="edit[name]" required maxlength="120" value=name.clone() />
            </label>
            <label class="field">
                "Summary"
                <input type="text" name="edit[summary]" maxlength="300" value=summary />
            </label>
            <label class="field field-wide">
                "Description (Markdown)"
                <textarea name="edit[description_md]" rows="8">{description_md}</textarea>
            </label>
            <label class="field">
                "Lifecycle"
                <select name="edit[lifecycle]">{options(Lifecycle::ALL, lifecycle, Lifecycle::as_str, Lifecycle::label)}</select>
            </label>
            <label class="field">
                "Visibility"
                <select name="edit[visibility]">{options(Visibility::ALL, visibility, Visibility::as_str, Visibility::label)}</select>
            </label>
            <label class="field">
                "Tags (comma-separated)"
                <input type="text" name="edit[tags]" value=tags />
            </label>
            <label class="field">
                "Repository"
                <input type="url" name="edit[repository_url]" value=repository_url placeholder="https://…" />
            </label>
            <label class="field">
                "Runbook"
                <input type="url" name="edit[runbook_url]" value=runbook_url placeholder="https://…" />
            </label>
            <label class="field">
                "Chat channel"
                <input type="text" name="edit[chat_channel]" value=chat_channel />
            </label>
            <fieldset class="field-wide" data-testid="environments-edit">
                <legend>"Environments"</legend>
                <p class="muted">"Clear a row to remove it."</p>
                {environments
                    .into_iter()
                    .enumerate()
                    .map(|(i, e)| {
                        view! {
                            <div class="row-inputs">
                                <input type="text" name=format!("edit[environments][{i}][name]") value=e.name placeholder="name" aria-label=format!("Environment {} name", i + 1) />
                                <input type="url" name=format!("edit[environments][{i}][base_url]") value=e.base_url placeholder="https://…" aria-label=format!("Environment {} base URL", i + 1) />
                            </div>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <fieldset class="field-wide" data-testid="scopes-edit">
                <legend>"Scopes"</legend>
                <p class="muted">"Clear a row to remove it."</p>
                {scopes
                    .into_iter()
                    .enumerate()
                    .map(|(i, s)| {
                        view! {
                            <div class="row-inputs">
                                <input type="text" name=format!("edit[scopes][{i}][name]") value=s.name placeholder="orders:read" aria-label=format!("Scope {} name", i + 1) />
                                <input type="text" name=format!("edit[scopes][{i}][description]") value=s.description placeholder="what it allows" aria-label=format!("Scope {} description", i + 1) />
                                <select name=format!("edit[scopes][{i}][risk]") aria-label=format!("Scope {} risk", i + 1)>
                                    {options(Risk::ALL, s.risk, Risk::as_str, Risk::label)}
                                </select>
                            </div>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <div class="form-actions">
                <button class="button" type="submit">"Save"</button>
                <a class="button button-quiet" href=format!("/apis/{slug}")>"Cancel"</a>
            </div>
        </ActionForm>
    }
}
