//! The acting person, as every service receives them: who they are, what kind, their roles.

use crate::model::{Me, PersonKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TeamRole {
    Owner,
    Member,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub team_id: i64,
    pub role: TeamRole,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub person_id: i64,
    pub name: String,
    pub email: String,
    pub kind: PersonKind,
    pub is_admin: bool,
    pub teams: Vec<Membership>,
}

impl Actor {
    pub fn owns_team(&self, team_id: i64) -> bool {
        self.teams
            .iter()
            .any(|m| m.team_id == team_id && m.role == TeamRole::Owner)
    }

    pub fn me(&self) -> Me {
        Me {
            id: self.person_id,
            name: self.name.clone(),
            email: self.email.clone(),
            kind: self.kind,
            is_admin: self.is_admin,
        }
    }
}
