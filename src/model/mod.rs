//! Types that cross the wire between the server and the browser. They compile for wasm too, so
//! nothing here touches the database or the file system.

mod access;
mod error;
mod keys;

pub use access::*;
pub use error::AppError;
pub use keys::*;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A value from outside that names no known variant of an enumeration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{value}' (expected one of: {expected})")]
pub struct UnknownVariant {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

/// Declares a closed set of string-backed values that the database, the URL and the UI share.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($variant:ident => ($text:literal, $label:literal)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and URL form.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The form people read.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownVariant;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                match value {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownVariant {
                        what: $what,
                        value: value.chars().take(40).collect(),
                        expected: concat!($($text, " "),+).trim_ascii_end(),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// Where an API is in its life.
    Lifecycle, "lifecycle", {
        Experimental => ("experimental", "Experimental"),
        Production => ("production", "Production"),
        Deprecated => ("deprecated", "Deprecated"),
        Retired => ("retired", "Retired"),
    }
);

string_enum!(
    /// Who may find an API in the catalog.
    Visibility, "visibility", {
        Everyone => ("everyone", "Everyone"),
        Employees => ("employees", "Employees only"),
        Restricted => ("restricted", "Listed, restricted"),
        Hidden => ("hidden", "Hidden"),
    }
);

string_enum!(
    /// How much harm a scope can do; it decides the approval path.
    Risk, "risk", {
        Low => ("low", "Low risk"),
        High => ("high", "High risk"),
    }
);

string_enum!(
    /// Why a sign-in ended without a session. The code travels in the sign-in page's URL; the
    /// label is what the person reads there.
    SignInError, "sign-in error", {
        Denied => ("denied", "The sign-in was cancelled at the identity provider, or it refused access."),
        Expired => ("expired", "This sign-in took too long, was already used, or was started in another browser. Please try again."),
        State => ("state", "The identity provider's answer did not belong to this sign-in, so it was ignored. Please try again."),
        Provider => ("provider", "The identity provider could not be reached or answered with an error. Try again in a moment; if it goes on, tell the platform team."),
        Token => ("token", "The identity provider's answer could not be verified, so you were not signed in."),
        Unknown => ("unknown", "Your account is not known to Gatehouse. Ask a platform admin to add you, or use the invitation link you were sent."),
        Inactive => ("inactive", "Your access to Gatehouse has ended. Ask your sponsor or a platform admin if this is a mistake."),
        Invitation => ("invitation", "This invitation cannot be used: it was already used, revoked, or has expired. Ask your sponsor for a new one."),
        InvitationEmail => ("invitation-email", "Sign in with the account the invitation was sent to."),
        Unverified => ("unverified", "The identity provider has not verified your email address."),
        Password => ("password", "That email and password do not match."),
        Throttled => ("throttled", "Too many failed attempts for this email. Wait 15 minutes and try again."),
        WeakPassword => ("weak-password", "Choose a password of 12 to 128 characters."),
        Name => ("name", "Enter your name (up to 200 characters)."),
        Disabled => ("disabled", "This way of signing in is not enabled here."),
    }
);

string_enum!(
    /// Employees belong to the company; contractors are invited by a sponsor until an end date.
    PersonKind, "person kind", {
        Employee => ("employee", "Employee"),
        Contractor => ("contractor", "Contractor"),
    }
);

string_enum!(
    /// Whether a version is the one to build against.
    VersionStatus, "version status", {
        Current => ("current", "Current"),
        Deprecated => ("deprecated", "Deprecated"),
    }
);

/// The catalog filter exactly as it stands in the URL; the server parses it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CatalogFilter {
    pub q: String,
    pub team: String,
    pub lifecycle: String,
    pub tag: String,
    /// The page of results, from 1; empty (or left out) is the first.
    #[serde(default)]
    pub page: String,
}

impl CatalogFilter {
    /// The URL's keys, the page last.
    pub const KEYS: [&'static str; 5] = ["q", "team", "lifecycle", "tag", "page"];

    pub fn get(&self, key: &str) -> &str {
        match key {
            "q" => &self.q,
            "team" => &self.team,
            "lifecycle" => &self.lifecycle,
            "tag" => &self.tag,
            "page" => &self.page,
            _ => "",
        }
    }

    /// Sets one key. Changing what is filtered starts again at the first page.
    pub fn set(&mut self, key: &str, value: String) {
        match key {
            "q" => self.q = value,
            "team" => self.team = value,
            "lifecycle" => self.lifecycle = value,
            "tag" => self.tag = value,
            "page" => self.page = value,
            _ => return,
        }
        if key != "page" {
            self.page.clear();
        }
    }

    /// The same filter at another page.
    pub fn at_page(&self, page: u32) -> Self {
        let mut next = self.clone();
        next.page = if page <= 1 {
            String::new()
        } else {
            page.to_string()
        };
        next
    }

    /// Whether nothing narrows the list (the page does not).
    pub fn is_empty(&self) -> bool {
        Self::KEYS
            .iter()
            .filter(|k| **k != "page")
            .all(|k| self.get(k).is_empty())
    }

    /// The catalog URL that shows this filter: empty fields are left out.
    pub fn to_url(&self) -> String {
        let query: Vec<String> = Self::KEYS
            .iter()
            .filter(|k| !self.get(k).is_empty())
            .map(|k| format!("{k}={}", crate::domain::url::encode_component(self.get(k))))
            .collect();
        if query.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{}", query.join("&"))
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamRef {
    pub slug: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiSummary {
    pub slug: String,
    pub name: String,
    pub summary: String,
    pub team: TeamRef,
    pub lifecycle: Lifecycle,
    pub visibility: Visibility,
    pub tags: Vec<String>,
}

/// One page of the catalog: the APIs on it, and how many match in all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogResults {
    pub apis: Vec<ApiSummary>,
    /// How many APIs match the filter, on every page.
    pub total: usize,
    /// This page, from 1.
    pub page: u32,
    pub per_page: u32,
}

impl CatalogResults {
    /// How many pages the matches fill (at least one).
    pub fn pages(&self) -> u32 {
        let per_page = self.per_page.max(1) as usize;
        u32::try_from(self.total.div_ceil(per_page).max(1)).unwrap_or(u32::MAX)
    }
}

/// What the catalog filter offers: the teams and tags among the APIs a person can see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogFacets {
    /// How many APIs the person can see at all, filter aside.
    pub visible_total: usize,
    pub teams: Vec<TeamRef>,
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentView {
    pub name: String,
    pub base_url: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeView {
    pub name: String,
    pub description: String,
    pub risk: Risk,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionView {
    pub label: String,
    pub status: VersionStatus,
    pub published_at: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiLinks {
    pub repository_url: Option<String>,
    pub runbook_url: Option<String>,
    pub chat_channel: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiDetail {
    pub summary: ApiSummary,
    /// The description, rendered from Markdown and sanitized when it was saved.
    pub description_html: String,
    pub environments: Vec<EnvironmentView>,
    pub scopes: Vec<ScopeView>,
    pub versions: Vec<VersionView>,
    pub links: ApiLinks,
    /// The shown version's guides, in reading order.
    pub guides: Vec<GuideLink>,
    /// Whether the shown version has an OpenAPI reference.
    pub has_reference: bool,
    /// Whether the viewer may edit it (an owner of its team, or an admin).
    pub can_edit: bool,
}

/// One version's entry in an API's changelog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangelogEntry {
    pub version: VersionView,
    /// The release notes, rendered and sanitized at publish time.
    pub html: String,
}

/// An API's changelog: every version, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangelogPage {
    pub api_slug: String,
    pub api_name: String,
    pub first_guide: Option<String>,
    pub has_reference: bool,
    pub entries: Vec<ChangelogEntry>,
    /// What changed between each version and the one before it, newest first.
    pub diffs: Vec<VersionDiff>,
}

/// An operation added or removed between two versions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffOperation {
    pub method: String,
    pub path: String,
    pub summary: String,
}

/// A change that breaks existing clients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffBreaking {
    /// `removed_operation`, `removed_response_field`, `new_required_parameter`, `narrowed_enum`
    /// or `changed_type`.
    pub kind: String,
    pub method: String,
    pub path: String,
    pub location: String,
    pub message: String,
}

/// Between two versions of an API's spec: the operations added and removed, and the changes
/// that break clients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionDiff {
    pub from: String,
    pub to: String,
    pub added: Vec<DiffOperation>,
    pub removed: Vec<DiffOperation>,
    pub breaking: Vec<DiffBreaking>,
}

/// A piece of a search result's snippet; `hit` pieces match the query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnippetPart {
    pub text: String,
    pub hit: bool,
}

/// One thing search found: the API itself, a guide section, an operation or a schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    /// `api`, `guide`, `operation` or `schema`.
    pub kind: String,
    pub title: String,
    /// The title with the words that matched marked.
    pub title_parts: Vec<SnippetPart>,
    /// Straight to the section, operation or schema.
    pub link: String,
    pub snippet: Vec<SnippetPart>,
}

/// Search results of one API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchGroup {
    pub api_slug: String,
    pub api_name: String,
    pub hits: Vec<SearchHit>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    pub query: String,
    pub groups: Vec<SearchGroup>,
    /// Whether more was found than is shown.
    pub truncated: bool,
}

/// A team's publish token as listed; the secret itself is shown once, at creation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishTokenView {
    pub id: i64,
    pub name: String,
    /// The token's public start, enough to recognise it.
    pub prefix: String,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishTokenCreated {
    /// The team's slug.
    pub team: String,
    pub token: PublishTokenView,
    /// The whole token: shown this once, stored only as a hash.
    pub secret: String,
}

/// An API's editable metadata, scopes and environments, as the edit form sends them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiEdit {
    pub name: String,
    pub summary: String,
    pub description_md: String,
    pub lifecycle: String,
    pub visibility: String,
    /// Comma-separated.
    pub tags: String,
    pub repository_url: String,
    pub runbook_url: String,
    pub chat_channel: String,
    #[serde(default)]
    pub environments: Vec<EnvironmentInput>,
    #[serde(default)]
    pub scopes: Vec<ScopeInput>,
    /// The metadata revision the form was loaded at. When sent, a save is refused if another
    /// came in between (its changes would be undone); left out, the save applies as is.
    #[serde(default)]
    pub revision: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentInput {
    pub name: String,
    pub base_url: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeInput {
    pub name: String,
    pub description: String,
    pub risk: String,
}

/// An API's OpenAPI reference, as stored at publish time, with its navigation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferencePage {
    pub api_slug: String,
    pub api_name: String,
    pub version: String,
    /// Every version with a reference, for the version selector.
    pub versions: Vec<VersionView>,
    pub first_guide: Option<String>,
    /// The part shown (sanitized when it was published): a tag's operations, the webhooks or
    /// the schemas; the first tag's follows the overview when none is asked for.
    pub html: String,
    /// The anchor of the part shown.
    pub section: String,
    /// Every part's entries: tags (level 2) with their operations (level 3), then schemas.
    pub nav: Vec<ReferenceNavEntry>,
}

/// An entry of the reference's navigation, with the part whose page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceNavEntry {
    pub level: u8,
    pub id: String,
    pub title: String,
    pub section: String,
}

/// A guide in an API's navigation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuideLink {
    pub slug: String,
    pub title: String,
}

/// One guide, as stored at publish time, with the navigation around it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuidePage {
    pub api_slug: String,
    pub api_name: String,
    pub version: String,
    /// Every version, for the version selector.
    pub versions: Vec<VersionView>,
    pub guides: Vec<GuideLink>,
    pub guide: GuideLink,
    /// Sanitized when it was published.
    pub html: String,
    pub toc: Vec<TocEntry>,
    pub has_reference: bool,
}

/// The signed-in person, as the shell shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub kind: PersonKind,
    pub is_admin: bool,
}

/// Another person, as a name to show and an address to reach them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRef {
    pub name: String,
    pub email: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipView {
    pub team: TeamRef,
    pub owner: bool,
}

/// One of the person's live sessions. Carries no identifier: a session id is a secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub started_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub method: String,
    pub user_agent: Option<String>,
    /// The session this request came with.
    pub current: bool,
}

/// What "My profile" shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub me: Me,
    pub title: Option<String>,
    pub department: Option<String>,
    pub company: Option<String>,
    pub manager: Option<PersonRef>,
    pub sponsor: Option<PersonRef>,
    pub contract_ends_at: Option<i64>,
    pub teams: Vec<MembershipView>,
    pub sessions: Vec<SessionView>,
}

string_enum!(
    /// Where an invitation stands.
    InvitationStatus, "invitation status", {
        Pending => ("pending", "Pending"),
        Accepted => ("accepted", "Accepted"),
        Revoked => ("revoked", "Revoked"),
        Expired => ("expired", "Link expired"),
    }
);

/// A contractor invitation, as its inviter, sponsor or an admin sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub id: i64,
    pub email: String,
    pub company: String,
    pub sponsor: PersonRef,
    pub invited_by: PersonRef,
    /// When the engagement ends (for an accepted invitation, the contractor's current end).
    pub ends_at: i64,
    pub created_at: i64,
    /// When the link stops working.
    pub expires_at: i64,
    pub status: InvitationStatus,
    /// The contractor, once accepted.
    pub contractor_id: Option<i64>,
}

/// A new invitation and its link. The link carries the only copy of its secret: shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationCreated {
    pub invitation: InvitationView,
    pub link: String,
}

/// What the invitation page shows to whoever holds the link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationPreview {
    pub email: String,
    pub company: String,
    pub sponsor_name: String,
    pub ends_at: i64,
    pub provider_name: Option<String>,
    pub local_passwords: bool,
}

/// Limits the invitation form needs: the latest end date allowed and the suggested default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationLimits {
    pub max_ends_on: String,
    pub default_ends_on: String,
}

/// One heading in a document's table of contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TocEntry {
    pub level: u8,
    pub id: String,
    pub title: String,
}

/// A person in the admin's list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonSummary {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub kind: PersonKind,
    pub title: Option<String>,
    pub is_admin: bool,
    pub active: bool,
    pub contract_ends_at: Option<i64>,
    pub manager: Option<PersonRef>,
    pub teams: Vec<MembershipView>,
}

/// One person, as the admin edits them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonDetail {
    pub person: PersonSummary,
    pub department: Option<String>,
    pub company: Option<String>,
    pub sponsor: Option<PersonRef>,
    /// Every team, for the membership editor.
    pub all_teams: Vec<TeamRef>,
}

/// A team with its people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamView {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub members: Vec<TeamMember>,
    /// Whether the viewer may change the membership (an admin, or one of its owners).
    pub can_manage: bool,
    /// The team's publish tokens, for those who manage it; empty for everyone else.
    pub publish_tokens: Vec<PublishTokenView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMember {
    pub person_id: i64,
    pub name: String,
    pub email: String,
    pub owner: bool,
}

string_enum!(
    /// A person's place in a team, or none.
    TeamRoleChoice, "team role", {
        Owner => ("owner", "Owner"),
        Member => ("member", "Member"),
        None => ("none", "Not a member"),
    }
);

/// What an org file import changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub memberships_added: usize,
    pub roles_changed: usize,
}

/// A person offered by the development sign-in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevPerson {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub kind: PersonKind,
    pub title: Option<String>,
    pub is_admin: bool,
}

/// What the sign-in page offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInOptions {
    /// Present only when the development sign-in is enabled.
    pub dev_people: Option<Vec<DevPerson>>,
    /// The company sign-in button's label, when an identity provider is configured.
    pub provider_name: Option<String>,
    /// Whether invited contractors may sign in with a local password.
    pub local_passwords: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enumerations_round_trip_through_their_stored_form() {
        for l in Lifecycle::ALL {
            assert_eq!(l.as_str().parse::<Lifecycle>(), Ok(*l));
        }
        for v in Visibility::ALL {
            assert_eq!(v.as_str().parse::<Visibility>(), Ok(*v));
        }
    }

    #[test]
    fn an_unknown_lifecycle_names_the_choices() {
        let err = "beta".parse::<Lifecycle>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown lifecycle 'beta' (expected one of: experimental production deprecated retired)"
        );
    }

    #[test]
    fn catalog_urls_leave_out_empty_fields_and_encode_values() {
        let filter = CatalogFilter {
            q: "pet store&co".into(),
            tag: "payments".into(),
            ..Default::default()
        };
        assert_eq!(filter.to_url(), "/?q=pet%20store%26co&tag=payments");
        assert_eq!(CatalogFilter::default().to_url(), "/");
        // The page goes last; changing the filter starts again at the first page.
        let mut paged = filter.at_page(3);
        assert_eq!(paged.to_url(), "/?q=pet%20store%26co&tag=payments&page=3");
        assert!(!paged.is_empty() && CatalogFilter::default().at_page(2).is_empty());
        paged.set("team", "data".into());
        assert_eq!(
            paged.to_url(),
            "/?q=pet%20store%26co&team=data&tag=payments"
        );
        assert_eq!(filter.at_page(1).to_url(), filter.to_url());
        let results = |total| CatalogResults {
            apis: Vec::new(),
            total,
            page: 1,
            per_page: 48,
        };
        assert_eq!(
            (results(0).pages(), results(48).pages(), results(49).pages()),
            (1, 1, 2)
        );
    }
}

string_enum!(
    /// Where an access request is. Only `pending` ever changes.
    RequestState, "request state", {
        Pending => ("pending", "Pending"),
        Approved => ("approved", "Approved"),
        Rejected => ("rejected", "Rejected"),
        Cancelled => ("cancelled", "Cancelled"),
        Expired => ("expired", "Expired"),
    }
);

string_enum!(
    /// Where one approval stage is: waiting for the stages before it, waiting for its approvers,
    /// or decided.
    StepState, "stage state", {
        Waiting => ("waiting", "Waiting"),
        Pending => ("pending", "Awaiting decision"),
        Approved => ("approved", "Approved"),
        Rejected => ("rejected", "Rejected"),
        ChangesRequested => ("changes_requested", "Changes requested"),
    }
);

string_enum!(
    /// Who approves a stage.
    ApproverKind, "approver", {
        Manager => ("manager", "Manager"),
        ApiOwner => ("api_owner", "API owner"),
        Sponsor => ("sponsor", "Sponsor"),
        Security => ("security", "Security"),
        Team => ("team", "Team"),
    }
);

string_enum!(
    /// What an approver does with a stage.
    Decision, "decision", {
        Approve => ("approve", "Approve"),
        Reject => ("reject", "Reject"),
        RequestChanges => ("request_changes", "Send back for changes"),
    }
);
