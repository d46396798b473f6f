//! Authorization as values. A check returns a capability only the check can make (its field is
//! private), and the action demands that capability: code that skipped the check cannot call it.

use super::actor::Actor;

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
