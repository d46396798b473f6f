//! Access requests, approvals, grants and notifications as they cross the wire.

use super::{
    ApproverKind, PersonKind, PersonRef, RequestState, Risk, ScopeView, StepState, TeamRef,
};
use serde::{Deserialize, Serialize};

/// An API as the access screens name it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiRef {
    pub slug: String,
    pub name: String,
}

/// What someone asks for, exactly as the form sent it; the server parses it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestInput {
    pub environment: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    pub justification: String,
    pub duration_days: String,
}

/// Everything the request form shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestForm {
    pub api: ApiRef,
    pub team: TeamRef,
    pub retired: bool,
    pub environments: Vec<String>,
    pub scopes: Vec<ScopeView>,
    pub kind: PersonKind,
    pub sponsor: Option<PersonRef>,
    /// Starting values: from the grant held now, when there is one.
    pub prefill: RequestInput,
    /// The grants the person holds on this API now.
    pub held: Vec<GrantView>,
    /// A request of theirs for this API still pending.
    pub pending_request: Option<i64>,
}

/// One stage as a preview shows it: what kind, and who that is for this person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagePreview {
    pub kind: ApproverKind,
    pub who: String,
}

/// Who would approve a request, and for how long at most.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalPreview {
    /// `None` when the policy allows no such request; `message` says why.
    pub stages: Option<Vec<StagePreview>>,
    pub max_days: u32,
    pub default_days: u32,
    pub rule: Option<usize>,
    pub message: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageView {
    pub position: usize,
    pub kind: ApproverKind,
    /// Who may decide it, as people read it ("Morgan Lee", "owners of Commerce").
    pub approver: String,
    pub state: StepState,
    pub decided_by: Option<PersonRef>,
    pub decided_at: Option<i64>,
    pub comment: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEvent {
    pub at: i64,
    pub actor: Option<String>,
    pub kind: String,
    pub revision: i64,
    pub position: Option<usize>,
    pub comment: Option<String>,
}

/// One request in full, as its requester and its approvers see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestView {
    pub id: i64,
    pub api: ApiRef,
    pub environment: String,
    pub scopes: Vec<ScopeView>,
    pub risk: Risk,
    pub justification: String,
    pub duration_days: u32,
    pub state: RequestState,
    pub awaiting_changes: bool,
    pub requester: PersonRef,
    pub requester_kind: PersonKind,
    pub sponsor: Option<PersonRef>,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: i64,
    pub decided_at: Option<i64>,
    pub revision: i64,
    /// The current revision's stages, in order.
    pub stages: Vec<StageView>,
    pub timeline: Vec<TimelineEvent>,
    pub grant_id: Option<i64>,
    pub can_cancel: bool,
    pub can_resubmit: bool,
    /// The stage the viewer may decide now, if any.
    pub can_decide: Option<usize>,
}

/// A line of "My requests".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestSummary {
    pub id: i64,
    pub api: ApiRef,
    pub environment: String,
    pub scopes: Vec<String>,
    pub state: RequestState,
    pub awaiting_changes: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// The stage waiting now, as people read it.
    pub waiting_for: Option<String>,
}

/// A stage waiting for the viewer, with what they need to decide it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxItem {
    pub request_id: i64,
    /// The revision shown: a decision names it (see `decide_request`).
    pub revision: i64,
    pub position: usize,
    pub stage: ApproverKind,
    pub requester: PersonRef,
    pub requester_kind: PersonKind,
    /// The requester's manager, their manager, and so on up.
    pub manager_chain: Vec<PersonRef>,
    pub sponsor: Option<PersonRef>,
    pub api: ApiRef,
    pub environment: String,
    pub scopes: Vec<ScopeView>,
    pub risk: Risk,
    pub justification: String,
    pub duration_days: u32,
    pub waiting_since: i64,
    /// How long it has waited, in seconds, as of the answer.
    pub waiting_seconds: i64,
    /// Set when the viewer acts for someone who delegated to them.
    pub on_behalf_of: Option<String>,
}

/// The outcome of a bulk approval, one line per request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkOutcome {
    pub request_id: i64,
    pub ok: bool,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantView {
    pub id: i64,
    pub api: ApiRef,
    pub environment: String,
    pub scopes: Vec<String>,
    pub holder: PersonRef,
    pub granted_at: i64,
    /// When it ends: its own expiry, or a contractor's contract end if sooner.
    pub ends_at: i64,
    pub revoked_at: Option<i64>,
    pub revoke_reason: Option<String>,
    pub request_id: Option<i64>,
    pub active: bool,
    pub can_revoke: bool,
    /// From the API's policy: a new key's expiry in days when its holder names none, and the
    /// highest rate limit per minute a key may have.
    pub key_default_days: u32,
    pub key_max_rate: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationView {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub link: Option<String>,
    pub created_at: i64,
    pub read: bool,
}

/// What the header shows: unread notifications and stages waiting for the viewer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub unread: i64,
    pub approvals: i64,
}

/// An API's policy as its owners edit it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyEdit {
    pub api: ApiRef,
    /// What the editor was loaded with (`default` or a fingerprint of the API's own policy);
    /// a save sends it back and is refused if the policy changed meanwhile.
    pub revision: String,
    pub document: String,
    /// True while the API has no policy of its own and the default applies.
    pub is_default: bool,
    pub environments: Vec<String>,
    pub scopes: Vec<ScopeView>,
    pub limits: crate::domain::access::AccessLimits,
    pub updated_at: Option<i64>,
    pub updated_by: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegationView {
    pub id: i64,
    pub delegate: PersonRef,
    pub starts_at: i64,
    pub ends_at: i64,
}

/// A team's outgoing webhook. The signing secret is shown to the team's owners.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookView {
    /// The team's slug.
    pub team: String,
    pub url: String,
    pub secret: String,
    pub created_at: i64,
    pub recent_failures: i64,
}
