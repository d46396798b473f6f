//! Access requests as pure rules: the justification, an API's approval policy (parsed, checked
//! against the admins' global limits, evaluated), and the request's state machine. Nothing here
//! reads the store; the service loads a request, asks these rules, and writes what they allow.

use crate::model::{ApproverKind, Decision, PersonKind, RequestState, Risk, StepState};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why someone wants access, in their own words: 20 to 2,000 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Justification(String);

impl Justification {
    pub const MIN_CHARS: usize = 20;
    pub const MAX_CHARS: usize = 2000;

    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let chars = text.chars().count();
        if chars == 0 {
            return Err("Say why you need this access.".into());
        }
        if chars < Self::MIN_CHARS {
            return Err(format!(
                "Say a little more about why you need this access (at least {} characters; you wrote {chars}).",
                Self::MIN_CHARS
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(format!(
                "Keep the justification under {} characters (you wrote {chars}).",
                Self::MAX_CHARS
            ));
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            return Err("The justification contains control characters.".into());
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An approver's comment: optional, up to 2,000 characters.
pub fn parse_comment(text: &str) -> Result<Option<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > 2000 {
        return Err("Keep the comment under 2000 characters.".into());
    }
    Ok(Some(text.to_owned()))
}

/// Limits that admins set for every API's policy, and the timing of pending requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessLimits {
    /// The longest any employee's grant may run, whatever an API's policy says.
    pub employee_max_days: u32,
    /// The longest any contractor's grant may run (it also ends with the contract).
    pub contractor_max_days: u32,
    /// Whether a policy may approve high-risk scopes without a person.
    pub allow_auto_high_risk: bool,
    /// Whether a policy may approve contractors' requests without a person.
    pub allow_auto_contractors: bool,
    /// The team that `security` stages go to; without one, policies cannot name `security`.
    pub security_team: Option<String>,
    /// A pending request expires this many days after it was submitted.
    pub request_expiry_days: u32,
    /// Approvers are reminded this many days before a pending request expires.
    pub reminder_days_before: u32,
}

impl Default for AccessLimits {
    fn default() -> Self {
        Self {
            employee_max_days: 365,
            contractor_max_days: 90,
            allow_auto_high_risk: false,
            allow_auto_contractors: false,
            security_team: None,
            request_expiry_days: 14,
            reminder_days_before: 2,
        }
    }
}

impl AccessLimits {
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if !(1..=3650).contains(&self.employee_max_days) {
            problems.push("The employees' maximum must be 1 to 3650 days.".to_owned());
        }
        if !(1..=3650).contains(&self.contractor_max_days) {
            problems.push("The contractors' maximum must be 1 to 3650 days.".to_owned());
        }
        if !(1..=90).contains(&self.request_expiry_days) {
            problems.push("Pending requests must expire after 1 to 90 days.".to_owned());
        }
        if self.reminder_days_before >= self.request_expiry_days {
            problems.push(
                "The reminder must come before the request expires (fewer days than the expiry)."
                    .to_owned(),
            );
        }
        if let Some(team) = &self.security_team
            && crate::domain::catalog::ApiSlug::parse(team).is_err()
        {
            problems.push(format!("'{team}' is not a team slug."));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    pub fn max_days_for(&self, kind: PersonKind) -> u32 {
        match kind {
            PersonKind::Employee => self.employee_max_days,
            PersonKind::Contractor => self.contractor_max_days,
        }
    }
}

/// Who approves one stage of a request.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Approver {
    /// The requester's manager (then their manager's manager, then the owning team).
    Manager,
    /// Any owner of the team that owns the API.
    ApiOwner,
    /// The contractor's sponsor.
    Sponsor,
    /// Any member of the security team the admins configured.
    Security,
    /// Any member of the named team.
    Team(String),
}

impl Approver {
    pub fn kind(&self) -> ApproverKind {
        match self {
            Approver::Manager => ApproverKind::Manager,
            Approver::ApiOwner => ApproverKind::ApiOwner,
            Approver::Sponsor => ApproverKind::Sponsor,
            Approver::Security => ApproverKind::Security,
            Approver::Team(_) => ApproverKind::Team,
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "manager" => Ok(Approver::Manager),
            "api_owner" => Ok(Approver::ApiOwner),
            "sponsor" => Ok(Approver::Sponsor),
            "security" => Ok(Approver::Security),
            other => match other.strip_prefix("team:") {
                Some(slug) if crate::domain::catalog::ApiSlug::parse(slug).is_ok() => {
                    Ok(Approver::Team(slug.to_owned()))
                }
                _ => Err(format!(
                    "'{}' is not an approver (use manager, api_owner, sponsor, security or team:<slug>)",
                    other.chars().take(60).collect::<String>()
                )),
            },
        }
    }
}

impl fmt::Display for Approver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Approver::Team(slug) => write!(f, "team:{slug}"),
            other => f.write_str(other.kind().as_str()),
        }
    }
}

/// Which requesters a rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequesterMatch {
    Any,
    Employee,
    Contractor,
}

impl RequesterMatch {
    fn matches(self, kind: PersonKind) -> bool {
        match self {
            RequesterMatch::Any => true,
            RequesterMatch::Employee => kind == PersonKind::Employee,
            RequesterMatch::Contractor => kind == PersonKind::Contractor,
        }
    }
}

/// Which requests a rule matches by the risk of the scopes asked for: `low` when every scope is
/// low risk, `high` when any is high risk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskMatch {
    Any,
    Low,
    High,
}

impl RiskMatch {
    fn matches(self, risk: Risk) -> bool {
        match self {
            RiskMatch::Any => true,
            RiskMatch::Low => risk == Risk::Low,
            RiskMatch::High => risk == Risk::High,
        }
    }
}

/// One rule as written in the policy document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDocument {
    #[serde(default = "any_requester")]
    requester: RequesterMatch,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    environments: Option<Vec<String>>,
    #[serde(default = "any_risk")]
    risk: RiskMatch,
    /// `"automatic"`, or absent when `stages` names the approvers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    approve: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stages: Option<Vec<String>>,
    max_days: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default_days: Option<u32>,
}

fn any_requester() -> RequesterMatch {
    RequesterMatch::Any
}

fn any_risk() -> RiskMatch {
    RiskMatch::Any
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyDocument {
    rules: Vec<RuleDocument>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keys: Option<KeysDocument>,
}

/// The policy's `keys` section: how keys under its grants start and what they may allow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysDocument {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_rate_per_minute: Option<u32>,
}

/// Every key's rate limit stays at or under this, whatever a policy says.
pub const KEY_RATE_CEILING: u32 = 100_000;
/// A key's expiry when neither its holder nor the policy names one (capped at the grant's end).
pub const KEY_DEFAULT_DAYS: u32 = 90;

/// What a policy says about keys under its grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRules {
    /// A new key's expiry when the holder leaves it empty (never past the grant's end).
    pub default_days: u32,
    /// The highest rate limit a key may have; with one set, a key without a limit gets it.
    pub max_rate_per_minute: Option<u32>,
}

impl Default for KeyRules {
    fn default() -> Self {
        KeyRules {
            default_days: KEY_DEFAULT_DAYS,
            max_rate_per_minute: None,
        }
    }
}

/// A checked rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub requester: RequesterMatch,
    pub environments: Option<Vec<String>>,
    pub risk: RiskMatch,
    /// Empty: approved automatically.
    pub stages: Vec<Approver>,
    pub max_days: u32,
    pub default_days: u32,
}

/// An API's approval policy: ordered rules, the first that matches a request decides it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub rules: Vec<Rule>,
    pub keys: KeyRules,
}

/// What a policy makes of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    /// Which rule matched (0-based).
    pub rule: usize,
    pub stages: Vec<Approver>,
    /// The policy's maximum, lowered to the global limit for the requester's kind.
    pub max_days: u32,
    pub default_days: u32,
}

pub const MAX_RULES: usize = 50;
pub const MAX_STAGES: usize = 5;

impl Policy {
    /// The policy for APIs whose owners have not written one.
    pub fn default_document() -> &'static str {
        r#"{
  "rules": [
    { "requester": "employee", "risk": "low", "stages": ["manager"], "max_days": 365, "default_days": 90 },
    { "requester": "employee", "risk": "high", "stages": ["manager", "api_owner"], "max_days": 180, "default_days": 30 },
    { "requester": "contractor", "stages": ["sponsor", "api_owner"], "max_days": 30, "default_days": 30 }
  ]
}"#
    }

    /// The default policy, read through the same checks as any other, without limits.
    pub fn default_policy() -> Self {
        // A constant that a test parses through every check; stricter global limits lower its
        // durations at evaluation.
        Self::parse_unchecked(Self::default_document())
            .map(|(policy, _)| policy)
            .unwrap_or(Policy {
                rules: Vec::new(),
                keys: KeyRules::default(),
            })
    }

    /// A policy as stored: it was checked when it was saved. `None` if it no longer reads.
    pub fn read_stored(text: &str) -> Option<Self> {
        match Self::parse_unchecked(text) {
            Ok((policy, problems)) if problems.is_empty() && !policy.rules.is_empty() => {
                Some(policy)
            }
            _ => None,
        }
    }

    /// Reads the document's shape; the problems found in rules that could still be read are
    /// returned beside them, so that one pass reports everything.
    fn parse_unchecked(text: &str) -> Result<(Self, Vec<String>), Vec<String>> {
        let doc: PolicyDocument = serde_json::from_str(text).map_err(|e| {
            vec![format!(
                "The policy is not valid JSON for a policy (line {}, column {}): {}",
                e.line(),
                e.column(),
                strip_position(&e.to_string())
            )]
        })?;
        let mut problems = Vec::new();
        let mut rules = Vec::new();
        for (i, r) in doc.rules.into_iter().enumerate() {
            let at = format!("Rule {}", i + 1);
            let stages = match (&r.approve, &r.stages) {
                (Some(a), None) if a == "automatic" => Vec::new(),
                (Some(a), None) => {
                    problems.push(format!(
                        "{at}: approve must be \"automatic\" (or give stages instead), not '{}'",
                        a.chars().take(40).collect::<String>()
                    ));
                    continue;
                }
                (None, Some(stages)) => {
                    let mut parsed = Vec::new();
                    for s in stages {
                        match Approver::parse(s) {
                            Ok(a) if parsed.contains(&a) => {
                                problems.push(format!("{at}: '{a}' is named twice"))
                            }
                            Ok(a) => parsed.push(a),
                            Err(e) => problems.push(format!("{at}: {e}")),
                        }
                    }
                    if stages.is_empty() {
                        problems.push(format!(
                            "{at}: stages is empty (write \"approve\": \"automatic\" for no approvers)"
                        ));
                    }
                    if parsed.is_empty() {
                        // Nothing readable: checking it as automatic would only mislead.
                        continue;
                    }
                    parsed
                }
                (Some(_), Some(_)) => {
                    problems.push(format!("{at}: give either approve or stages, not both"));
                    continue;
                }
                (None, None) => {
                    problems.push(format!(
                        "{at}: say who approves: stages, or \"approve\": \"automatic\""
                    ));
                    continue;
                }
            };
            let default_days = r.default_days.unwrap_or(r.max_days.min(30));
            rules.push(Rule {
                requester: r.requester,
                environments: r.environments,
                risk: r.risk,
                stages,
                max_days: r.max_days,
                default_days,
            });
        }
        let keys = match doc.keys {
            None => KeyRules::default(),
            Some(k) => {
                let rules = KeyRules {
                    default_days: k.default_days.unwrap_or(KEY_DEFAULT_DAYS),
                    max_rate_per_minute: k.max_rate_per_minute,
                };
                if !(1..=3650).contains(&rules.default_days) {
                    problems.push("keys: default_days must be between 1 and 3650".to_owned());
                }
                if rules
                    .max_rate_per_minute
                    .is_some_and(|r| !(1..=KEY_RATE_CEILING).contains(&r))
                {
                    problems.push(format!(
                        "keys: max_rate_per_minute must be between 1 and {KEY_RATE_CEILING}"
                    ));
                }
                rules
            }
        };
        Ok((Policy { rules, keys }, problems))
    }

    /// Parses and checks a policy document against the global limits and the API's environments.
    /// `team_exists` answers whether a `team:<slug>` approver names a real team.
    pub fn parse(
        text: &str,
        limits: &AccessLimits,
        environments: &[String],
        team_exists: impl Fn(&str) -> bool,
    ) -> Result<Self, Vec<String>> {
        if text.len() > 64 * 1024 {
            return Err(vec!["The policy is larger than 64 KB.".into()]);
        }
        let (policy, mut problems) = Self::parse_unchecked(text)?;
        if policy.rules.is_empty() {
            problems.push("The policy needs at least one rule.".to_owned());
        }
        if policy.rules.len() > MAX_RULES {
            problems.push(format!("The policy has more than {MAX_RULES} rules."));
        }
        for (i, r) in policy.rules.iter().enumerate() {
            let at = format!("Rule {}", i + 1);
            let may_match_contractors = r.requester != RequesterMatch::Employee;
            let may_match_employees = r.requester != RequesterMatch::Contractor;
            if r.stages.len() > MAX_STAGES {
                problems.push(format!("{at}: at most {MAX_STAGES} stages"));
            }
            if let Some(envs) = &r.environments {
                if envs.is_empty() {
                    problems.push(format!(
                        "{at}: environments is empty (leave it out to match every environment)"
                    ));
                }
                for e in envs {
                    if !environments.contains(e) {
                        problems.push(format!(
                            "{at}: the API has no environment '{}'",
                            e.chars().take(60).collect::<String>()
                        ));
                    }
                }
            }
            if r.max_days == 0 {
                problems.push(format!("{at}: max_days must be at least 1"));
            }
            if may_match_employees && r.max_days > limits.employee_max_days {
                problems.push(format!(
                    "{at}: max_days {} is over the admins' limit of {} days for employees",
                    r.max_days, limits.employee_max_days
                ));
            }
            if may_match_contractors && r.max_days > limits.contractor_max_days {
                problems.push(format!(
                    "{at}: max_days {} is over the admins' limit of {} days for contractors",
                    r.max_days, limits.contractor_max_days
                ));
            }
            if r.default_days == 0 || r.default_days > r.max_days {
                problems.push(format!(
                    "{at}: default_days must be between 1 and max_days ({})",
                    r.max_days
                ));
            }
            if r.stages.is_empty() {
                if may_match_contractors && !limits.allow_auto_contractors {
                    problems.push(format!(
                        "{at}: the admins do not allow automatic approval for contractors (set requester to employee, or name stages)"
                    ));
                }
                if r.risk != RiskMatch::Low && !limits.allow_auto_high_risk {
                    problems.push(format!(
                        "{at}: the admins do not allow automatic approval of high-risk scopes (set risk to low, or name stages)"
                    ));
                }
            }
            for stage in &r.stages {
                match stage {
                    Approver::Sponsor if r.requester != RequesterMatch::Contractor => problems
                        .push(format!(
                            "{at}: only contractors have a sponsor (set requester to contractor)"
                        )),
                    Approver::Security if limits.security_team.is_none() => {
                        problems.push(format!("{at}: the admins have not named a security team"))
                    }
                    Approver::Team(slug) if !team_exists(slug) => {
                        problems.push(format!("{at}: there is no team '{slug}'"))
                    }
                    _ => {}
                }
            }
        }
        if problems.is_empty() {
            Ok(policy)
        } else {
            Err(problems)
        }
    }

    /// The policy as its owners edit it.
    pub fn to_document(&self) -> String {
        let doc = PolicyDocument {
            rules: self
                .rules
                .iter()
                .map(|r| RuleDocument {
                    requester: r.requester,
                    environments: r.environments.clone(),
                    risk: r.risk,
                    approve: r.stages.is_empty().then(|| "automatic".to_owned()),
                    stages: (!r.stages.is_empty())
                        .then(|| r.stages.iter().map(|s| s.to_string()).collect()),
                    max_days: r.max_days,
                    default_days: Some(r.default_days),
                })
                .collect(),
            keys: (self.keys != KeyRules::default()).then_some(KeysDocument {
                default_days: Some(self.keys.default_days),
                max_rate_per_minute: self.keys.max_rate_per_minute,
            }),
        };
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }

    /// The first rule that matches a request, with its durations lowered to the global limit.
    /// `None`: the policy allows no such request.
    pub fn evaluate(
        &self,
        kind: PersonKind,
        environment: &str,
        risk: Risk,
        limits: &AccessLimits,
    ) -> Option<Evaluation> {
        self.rules.iter().enumerate().find_map(|(i, r)| {
            let env_ok = r
                .environments
                .as_ref()
                .is_none_or(|envs| envs.iter().any(|e| e == environment));
            (r.requester.matches(kind) && r.risk.matches(risk) && env_ok).then(|| {
                let max_days = r.max_days.min(limits.max_days_for(kind)).max(1);
                Evaluation {
                    rule: i,
                    stages: r.stages.clone(),
                    max_days,
                    default_days: r.default_days.min(max_days),
                }
            })
        })
    }
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// The highest risk among the scopes asked for.
pub fn overall_risk(risks: impl IntoIterator<Item = Risk>) -> Risk {
    if risks.into_iter().any(|r| r == Risk::High) {
        Risk::High
    } else {
        Risk::Low
    }
}

/// One stage as the state machine sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    pub state: StepState,
    pub decided_by: Option<i64>,
}

/// A request's state as the state machine sees it: who asked, where it is, and its current
/// revision's stages in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workflow {
    pub requester: i64,
    pub state: RequestState,
    /// Sent back for changes: pending, but waiting for the requester, not for approvers.
    pub awaiting_changes: bool,
    pub stages: Vec<Stage>,
}

/// What a decision led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The stage at this position now waits for its approvers.
    NextStage(usize),
    Approved,
    Rejected,
    ChangesRequested,
}

/// Why the state machine refused a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("This request has already been decided ({0}); it cannot change any more.")]
    Decided(RequestState),
    #[error("That stage is not the one awaiting a decision.")]
    NotCurrentStage,
    #[error("Nobody may approve their own request.")]
    OwnRequest,
    #[error(
        "You already decided another stage of this request; another approver must decide this one."
    )]
    SecondStage,
    #[error("Only the person who asked can do that.")]
    NotRequester,
    #[error("This request was sent back for changes; the requester must resubmit it first.")]
    AwaitingChanges,
    #[error("This request is not waiting for changes.")]
    NotAwaitingChanges,
}

impl Workflow {
    /// A new request with these many stages; with none it is approved at once.
    pub fn submit(requester: i64, stages: usize) -> Self {
        let mut wf = Workflow {
            requester,
            state: RequestState::Pending,
            awaiting_changes: false,
            stages: Vec::new(),
        };
        wf.start_stages(stages);
        wf
    }

    fn start_stages(&mut self, stages: usize) {
        self.stages = (0..stages)
            .map(|i| Stage {
                state: if i == 0 {
                    StepState::Pending
                } else {
                    StepState::Waiting
                },
                decided_by: None,
            })
            .collect();
        if stages == 0 {
            self.state = RequestState::Approved;
        }
    }

    /// The stage awaiting a decision.
    pub fn current(&self) -> Option<usize> {
        if self.state != RequestState::Pending || self.awaiting_changes {
            return None;
        }
        self.stages
            .iter()
            .position(|s| s.state == StepState::Pending)
    }

    fn pending(&self) -> Result<(), Refusal> {
        if self.state != RequestState::Pending {
            return Err(Refusal::Decided(self.state));
        }
        Ok(())
    }

    /// `by` decides the stage at `position`. Whether `by` is one of that stage's approvers is the
    /// service's question; the rules here are those of every request.
    pub fn decide(
        &mut self,
        position: usize,
        by: i64,
        decision: Decision,
    ) -> Result<Outcome, Refusal> {
        self.pending()?;
        if self.awaiting_changes {
            return Err(Refusal::AwaitingChanges);
        }
        if self.current() != Some(position) {
            return Err(Refusal::NotCurrentStage);
        }
        if by == self.requester {
            return Err(Refusal::OwnRequest);
        }
        if self
            .stages
            .iter()
            .enumerate()
            .any(|(i, s)| i != position && s.decided_by == Some(by))
        {
            return Err(Refusal::SecondStage);
        }
        let stage = &mut self.stages[position];
        stage.decided_by = Some(by);
        Ok(match decision {
            Decision::Approve => {
                stage.state = StepState::Approved;
                match self.stages.get_mut(position + 1) {
                    Some(next) => {
                        next.state = StepState::Pending;
                        Outcome::NextStage(position + 1)
                    }
                    None => {
                        self.state = RequestState::Approved;
                        Outcome::Approved
                    }
                }
            }
            Decision::Reject => {
                stage.state = StepState::Rejected;
                self.state = RequestState::Rejected;
                Outcome::Rejected
            }
            Decision::RequestChanges => {
                stage.state = StepState::ChangesRequested;
                self.awaiting_changes = true;
                Outcome::ChangesRequested
            }
        })
    }

    /// The requester resubmits after being asked for changes; the stages start again.
    pub fn resubmit(&mut self, by: i64, stages: usize) -> Result<(), Refusal> {
        self.pending()?;
        if by != self.requester {
            return Err(Refusal::NotRequester);
        }
        if !self.awaiting_changes {
            return Err(Refusal::NotAwaitingChanges);
        }
        self.awaiting_changes = false;
        self.start_stages(stages);
        Ok(())
    }

    /// The requester withdraws a pending request.
    pub fn cancel(&mut self, by: i64) -> Result<(), Refusal> {
        self.pending()?;
        if by != self.requester {
            return Err(Refusal::NotRequester);
        }
        self.state = RequestState::Cancelled;
        Ok(())
    }

    /// A pending request ran out of time.
    pub fn expire(&mut self) -> Result<(), Refusal> {
        self.pending()?;
        self.state = RequestState::Expired;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> AccessLimits {
        AccessLimits::default()
    }

    fn parse(text: &str) -> Result<Policy, Vec<String>> {
        Policy::parse(
            text,
            &limits(),
            &["production".to_owned(), "staging".to_owned()],
            |slug| slug == "payments",
        )
    }

    #[test]
    fn justification_needs_substance() {
        assert!(Justification::parse("   ").is_err());
        assert!(Justification::parse("need it").is_err());
        assert!(Justification::parse(&"x".repeat(2001)).is_err());
        assert!(Justification::parse("need it\u{7}for the billing report job").is_err());
        let ok = Justification::parse("  Nightly reconciliation of refunds.  ").unwrap();
        assert_eq!(ok.as_str(), "Nightly reconciliation of refunds.");
    }

    #[test]
    fn the_default_policy_routes_by_kind_and_risk() {
        let p = Policy::default_policy();
        let l = limits();
        let e = |kind, risk| p.evaluate(kind, "production", risk, &l).unwrap();
        assert_eq!(
            e(PersonKind::Employee, Risk::Low).stages,
            vec![Approver::Manager]
        );
        assert_eq!(
            e(PersonKind::Employee, Risk::High).stages,
            vec![Approver::Manager, Approver::ApiOwner]
        );
        for risk in [Risk::Low, Risk::High] {
            let c = e(PersonKind::Contractor, risk);
            assert_eq!(c.stages, vec![Approver::Sponsor, Approver::ApiOwner]);
            assert_eq!(c.max_days, 30);
        }
        // The default policy itself passes the checks every owner's policy must pass.
        assert!(parse(Policy::default_document()).is_ok());
    }

    #[test]
    fn every_requester_kind_risk_and_environment_gets_the_expected_stages() {
        let p = parse(
            r#"{"rules": [
              {"requester": "employee", "risk": "low", "environments": ["staging"], "approve": "automatic", "max_days": 90},
              {"requester": "employee", "risk": "low", "stages": ["manager"], "max_days": 60},
              {"requester": "employee", "risk": "high", "environments": ["production"], "stages": ["manager", "api_owner", "team:payments"], "max_days": 30},
              {"requester": "employee", "risk": "high", "stages": ["manager", "api_owner"], "max_days": 30},
              {"requester": "contractor", "environments": ["staging"], "stages": ["sponsor"], "max_days": 14},
              {"requester": "contractor", "stages": ["sponsor", "api_owner"], "max_days": 7}
            ]}"#,
        )
        .unwrap();
        use Approver::*;
        let cases = [
            (PersonKind::Employee, Risk::Low, "staging", vec![], 90),
            (
                PersonKind::Employee,
                Risk::Low,
                "production",
                vec![Manager],
                60,
            ),
            (
                PersonKind::Employee,
                Risk::High,
                "production",
                vec![Manager, ApiOwner, Team("payments".into())],
                30,
            ),
            (
                PersonKind::Employee,
                Risk::High,
                "staging",
                vec![Manager, ApiOwner],
                30,
            ),
            (
                PersonKind::Contractor,
                Risk::Low,
                "staging",
                vec![Sponsor],
                14,
            ),
            (
                PersonKind::Contractor,
                Risk::High,
                "staging",
                vec![Sponsor],
                14,
            ),
            (
                PersonKind::Contractor,
                Risk::Low,
                "production",
                vec![Sponsor, ApiOwner],
                7,
            ),
            (
                PersonKind::Contractor,
                Risk::High,
                "production",
                vec![Sponsor, ApiOwner],
                7,
            ),
        ];
        for (kind, risk, env, stages, max) in cases {
            let ev = p.evaluate(kind, env, risk, &limits()).unwrap();
            assert_eq!(ev.stages, stages, "{kind} {risk} {env}");
            assert_eq!(ev.max_days, max, "{kind} {risk} {env}");
        }
    }

    #[test]
    fn the_keys_section_sets_key_defaults_and_is_checked() {
        let rule = r#"{"requester": "employee", "stages": ["manager"], "max_days": 30}"#;
        let without = parse(&format!(r#"{{"rules": [{rule}]}}"#)).unwrap();
        assert_eq!(without.keys, KeyRules::default());
        let with = parse(&format!(
            r#"{{"rules": [{rule}], "keys": {{"default_days": 14, "max_rate_per_minute": 600}}}}"#
        ))
        .unwrap();
        assert_eq!(
            with.keys,
            KeyRules {
                default_days: 14,
                max_rate_per_minute: Some(600)
            }
        );
        let problems = parse(&format!(
            r#"{{"rules": [{rule}], "keys": {{"default_days": 0, "max_rate_per_minute": 100001}}}}"#
        ))
        .unwrap_err();
        assert_eq!(
            problems,
            vec![
                "keys: default_days must be between 1 and 3650".to_owned(),
                "keys: max_rate_per_minute must be between 1 and 100000".to_owned()
            ]
        );
        // An unknown field in the section is refused rather than ignored.
        assert!(
            parse(&format!(r#"{{"rules": [{rule}], "keys": {{"rate": 5}}}}"#)).unwrap_err()[0]
                .contains("unknown field")
        );
    }

    #[test]
    fn a_request_no_rule_matches_is_not_allowed() {
        let p = parse(
            r#"{"rules": [{"requester": "employee", "stages": ["manager"], "max_days": 30}]}"#,
        )
        .unwrap();
        assert!(
            p.evaluate(PersonKind::Contractor, "production", Risk::Low, &limits())
                .is_none()
        );
    }

    #[test]
    fn stricter_global_limits_apply_to_existing_policies() {
        let p = Policy::default_policy();
        let strict = AccessLimits {
            employee_max_days: 10,
            contractor_max_days: 5,
            ..limits()
        };
        let e = p
            .evaluate(PersonKind::Employee, "x", Risk::Low, &strict)
            .unwrap();
        assert_eq!((e.max_days, e.default_days), (10, 10));
        let c = p
            .evaluate(PersonKind::Contractor, "x", Risk::Low, &strict)
            .unwrap();
        assert_eq!(c.max_days, 5);
    }

    #[test]
    fn invalid_policies_are_refused_with_every_problem() {
        let problems = parse(
            r#"{"rules": [
              {"requester": "any", "approve": "automatic", "max_days": 400},
              {"requester": "employee", "stages": ["sponsor", "security", "team:nope", "boss"], "max_days": 10, "default_days": 20},
              {"requester": "employee", "environments": ["moon"], "stages": ["manager", "manager"], "max_days": 10}
            ]}"#,
        )
        .unwrap_err();
        let all = problems.join("\n");
        for expected in [
            "Rule 1: max_days 400 is over the admins' limit of 365 days for employees",
            "Rule 1: max_days 400 is over the admins' limit of 90 days for contractors",
            "Rule 1: the admins do not allow automatic approval for contractors",
            "Rule 1: the admins do not allow automatic approval of high-risk scopes",
            "Rule 2: 'boss' is not an approver",
            "Rule 2: default_days must be between 1 and max_days (10)",
            "Rule 2: only contractors have a sponsor",
            "Rule 2: the admins have not named a security team",
            "Rule 2: there is no team 'nope'",
            "Rule 3: the API has no environment 'moon'",
            "Rule 3: 'manager' is named twice",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in\n{all}");
        }
        for bad in [
            "",
            "{}",
            r#"{"rules": []}"#,
            r#"{"rules": [{"stages": ["manager"]}]}"#,
            r#"{"rules": [{"stages": [], "max_days": 3}]}"#,
            r#"{"rules": [{"approve": "yes", "max_days": 3}]}"#,
            r#"{"rules": [{"approve": "automatic", "stages": ["manager"], "max_days": 3}]}"#,
            r#"{"rules": [{"stages": ["manager"], "max_days": 3, "colour": "red"}]}"#,
            r#"{"rules": [{"requester": "robot", "stages": ["manager"], "max_days": 3}]}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_policy_survives_its_own_document() {
        let p = parse(Policy::default_document()).unwrap();
        assert_eq!(parse(&p.to_document()).unwrap(), p);
    }

    #[test]
    fn the_happy_path_through_two_stages() {
        let mut wf = Workflow::submit(1, 2);
        assert_eq!(wf.current(), Some(0));
        assert_eq!(
            wf.decide(1, 2, Decision::Approve),
            Err(Refusal::NotCurrentStage)
        );
        assert_eq!(wf.decide(0, 1, Decision::Approve), Err(Refusal::OwnRequest));
        assert_eq!(
            wf.decide(0, 2, Decision::Approve),
            Ok(Outcome::NextStage(1))
        );
        assert_eq!(
            wf.decide(1, 2, Decision::Approve),
            Err(Refusal::SecondStage)
        );
        assert_eq!(wf.decide(1, 3, Decision::Approve), Ok(Outcome::Approved));
        assert_eq!(wf.state, RequestState::Approved);
        assert_eq!(wf.cancel(1), Err(Refusal::Decided(RequestState::Approved)));
    }

    #[test]
    fn changes_requested_then_resubmitted_starts_the_stages_again() {
        let mut wf = Workflow::submit(1, 2);
        wf.decide(0, 2, Decision::Approve).unwrap();
        assert_eq!(
            wf.decide(1, 3, Decision::RequestChanges),
            Ok(Outcome::ChangesRequested)
        );
        assert_eq!(wf.current(), None);
        assert_eq!(
            wf.decide(1, 4, Decision::Approve),
            Err(Refusal::AwaitingChanges)
        );
        assert_eq!(wf.resubmit(2, 2), Err(Refusal::NotRequester));
        wf.resubmit(1, 2).unwrap();
        assert_eq!(wf.current(), Some(0));
        // A new revision: who decided the old one does not count.
        assert_eq!(
            wf.decide(0, 3, Decision::Approve),
            Ok(Outcome::NextStage(1))
        );
        assert_eq!(wf.decide(1, 2, Decision::Reject), Ok(Outcome::Rejected));
        assert_eq!(
            wf.resubmit(1, 2),
            Err(Refusal::Decided(RequestState::Rejected))
        );
    }

    #[test]
    fn no_stages_means_approved_at_once() {
        let wf = Workflow::submit(1, 0);
        assert_eq!(wf.state, RequestState::Approved);
        assert_eq!(wf.current(), None);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        #[derive(Clone, Debug)]
        enum Op {
            Decide(usize, i64, Decision),
            Resubmit(i64, usize),
            Cancel(i64),
            Expire,
        }

        fn op() -> impl Strategy<Value = Op> {
            let decision = prop_oneof![
                4 => Just(Decision::Approve),
                1 => Just(Decision::Reject),
                1 => Just(Decision::RequestChanges),
            ];
            prop_oneof![
                8 => (0usize..4, 1i64..5, decision).prop_map(|(p, by, d)| Op::Decide(p, by, d)),
                1 => (1i64..3, 0usize..4).prop_map(|(by, n)| Op::Resubmit(by, n)),
                1 => (1i64..3).prop_map(Op::Cancel),
                1 => Just(Op::Expire),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn the_state_machine_keeps_its_promises(stages in 0usize..4, ops in prop::collection::vec(op(), 0..30)) {
                let requester = 1;
                let mut wf = Workflow::submit(requester, stages);
                for op in ops {
                    let before = wf.clone();
                    let result = match op {
                        Op::Decide(p, by, d) => wf.decide(p, by, d).map(|_| ()),
                        Op::Resubmit(by, n) => wf.resubmit(by, n),
                        Op::Cancel(by) => wf.cancel(by),
                        Op::Expire => wf.expire(),
                    };
                    // Nothing leaves a decided state, and a refused step changes nothing.
                    if before.state != RequestState::Pending {
                        prop_assert!(result.is_err());
                    }
                    if result.is_err() {
                        prop_assert_eq!(&wf, &before);
                        continue;
                    }
                    if let Op::Decide(p, by, _) = op {
                        // Stages are decided only in order: every earlier stage was approved,
                        // and no later one was touched.
                        prop_assert_eq!(before.current(), Some(p));
                        prop_assert!(wf.stages[..p].iter().all(|s| s.state == StepState::Approved));
                        prop_assert!(wf.stages[p + 1..].iter().all(|s| s.decided_by.is_none()));
                        // Separation of duties.
                        prop_assert_ne!(by, requester);
                    }
                }
                // Whatever happened: the requester decided nothing, nobody decided two stages,
                // and an approved request has every stage approved.
                let deciders: Vec<i64> = wf.stages.iter().filter_map(|s| s.decided_by).collect();
                prop_assert!(!deciders.contains(&requester));
                let mut unique = deciders.clone();
                unique.sort();
                unique.dedup();
                prop_assert_eq!(unique.len(), deciders.len());
                if wf.state == RequestState::Approved {
                    prop_assert!(wf.stages.iter().all(|s| s.state == StepState::Approved));
                }
                prop_assert!(wf.stages.iter().filter(|s| s.state == StepState::Pending).count() <= 1);
            }
        }
    }
}
