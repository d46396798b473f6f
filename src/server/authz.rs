//! Authorization as values. A check returns a capability only the check can make (its field is
//! private), and the action demands that capability: code that skipped the check cannot call it.

use super::actor::Actor;
use crate::model::PersonKind;

/// Proof that the holder may end every session of one person: their own, or anyone's as an admin.
#[derive(Debug)]
pub struct EndSessionsOf {
    person_id: i64,
    by_admin: bool,
}

impl EndSessionsOf {
    pub fn person_id(&self) -> i64 {
        self.person_id
    }

    /// True when an admin ends someone else's sessions.
    pub fn by_admin(&self) -> bool {
        self.by_admin
    }
}

pub fn end_sessions_of(actor: &Actor, person_id: i64) -> Option<EndSessionsOf> {
    if actor.person_id == person_id {
        Some(EndSessionsOf {
            person_id,
            by_admin: false,
        })
    } else if actor.is_admin {
        Some(EndSessionsOf {
            person_id,
            by_admin: true,
        })
    } else {
        None
    }
}

/// Proof that the holder may change the organisation (people, managers, teams): admins only.
#[derive(Debug)]
pub struct ManageOrg(());

pub fn manage_org(actor: &Actor) -> Option<ManageOrg> {
    actor.is_admin.then_some(ManageOrg(()))
}

/// Proof that the holder may invite contractors: employees may, contractors may not.
#[derive(Debug)]
pub struct InviteContractors(());

pub fn invite_contractors(actor: &Actor) -> Option<InviteContractors> {
    (actor.kind == PersonKind::Employee).then_some(InviteContractors(()))
}

/// Proof that the holder may revoke or extend one invitation: whoever sent it, its sponsor, or
/// an admin. Nobody else, whatever their role.
#[derive(Debug)]
pub struct ManageInvitation {
    invitation_id: i64,
}

impl ManageInvitation {
    pub fn invitation_id(&self) -> i64 {
        self.invitation_id
    }
}

pub fn manage_invitation(
    actor: &Actor,
    invitation_id: i64,
    invited_by: i64,
    sponsor_id: i64,
) -> Option<ManageInvitation> {
    let involved = actor.person_id == invited_by || actor.person_id == sponsor_id;
    (actor.kind == PersonKind::Employee && (involved || actor.is_admin))
        .then_some(ManageInvitation { invitation_id })
}

/// Proof that the holder may end one contractor's engagement: their sponsor or an admin.
#[derive(Debug)]
pub struct EndEngagement {
    person_id: i64,
}

impl EndEngagement {
    pub fn person_id(&self) -> i64 {
        self.person_id
    }
}

pub fn end_engagement(
    actor: &Actor,
    contractor_id: i64,
    sponsor_id: Option<i64>,
) -> Option<EndEngagement> {
    let sponsor = sponsor_id == Some(actor.person_id) && actor.kind == PersonKind::Employee;
    (sponsor || actor.is_admin).then_some(EndEngagement {
        person_id: contractor_id,
    })
}

/// Proof that the holder may change one team's membership: an admin, or an owner of that team.
#[derive(Debug)]
pub struct ManageTeam {
    team_id: i64,
}

impl ManageTeam {
    pub fn team_id(&self) -> i64 {
        self.team_id
    }
}

pub fn manage_team(actor: &Actor, team_id: i64) -> Option<ManageTeam> {
    (actor.is_admin || (actor.kind == PersonKind::Employee && actor.owns_team(team_id)))
        .then_some(ManageTeam { team_id })
}

/// Proof that the holder may edit one API's metadata, scopes and environments: an admin, or an
/// owner of the team that owns it.
#[derive(Debug)]
pub struct EditApi {
    api_id: i64,
}

impl EditApi {
    pub fn api_id(&self) -> i64 {
        self.api_id
    }
}

pub fn edit_api(actor: &Actor, api_id: i64, owner_team_id: i64) -> Option<EditApi> {
    (actor.is_admin || (actor.kind == PersonKind::Employee && actor.owns_team(owner_team_id)))
        .then_some(EditApi { api_id })
}

/// Proof that the holder may revoke one grant: its holder, the holder's manager, an owner of
/// the API's team, or an admin.
#[derive(Debug)]
pub struct RevokeGrant {
    grant_id: i64,
}

impl RevokeGrant {
    pub fn grant_id(&self) -> i64 {
        self.grant_id
    }
}

pub fn revoke_grant(
    actor: &Actor,
    grant_id: i64,
    holder_id: i64,
    holder_manager_id: Option<i64>,
    owner_team_id: i64,
) -> Option<RevokeGrant> {
    let employee = actor.kind == PersonKind::Employee;
    (actor.person_id == holder_id
        || actor.is_admin
        || (employee && holder_manager_id == Some(actor.person_id))
        || (employee && actor.owns_team(owner_team_id)))
    .then_some(RevokeGrant { grant_id })
}
