-- Access requests and approvals: stages per revision (a request sent back for changes and
-- resubmitted starts its stages again, and the earlier ones stay for the timeline), a timeline of
-- events, delegations, grant reminders, and delivery of notifications by email and webhook.

-- No code wrote approval steps before this migration, so the table is recreated with revisions.
DROP TABLE approval_steps;
CREATE TABLE approval_steps (
    id                 INTEGER PRIMARY KEY,
    request_id         INTEGER NOT NULL REFERENCES access_requests (id) ON DELETE CASCADE,
    revision           INTEGER NOT NULL,
    position           INTEGER NOT NULL,
    approver_kind      TEXT NOT NULL CHECK (approver_kind IN ('manager', 'api_owner', 'sponsor', 'security', 'team')),
    approver_team_id   INTEGER REFERENCES teams (id),
    approver_person_id INTEGER REFERENCES people (id),
    state              TEXT NOT NULL CHECK (state IN ('waiting', 'pending', 'approved', 'rejected', 'changes_requested')),
    pending_since      INTEGER,
    decided_by         INTEGER REFERENCES people (id),
    decided_at         INTEGER,
    comment            TEXT,
    UNIQUE (request_id, revision, position),
    CHECK ((approver_team_id IS NULL) <> (approver_person_id IS NULL))
);
CREATE INDEX approval_steps_person_idx ON approval_steps (approver_person_id, state);
CREATE INDEX approval_steps_team_idx ON approval_steps (approver_team_id, state);

ALTER TABLE access_requests ADD COLUMN environment_name TEXT NOT NULL DEFAULT '';
ALTER TABLE access_requests ADD COLUMN awaiting_changes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE access_requests ADD COLUMN reminded_at INTEGER;
ALTER TABLE access_requests ADD COLUMN policy_rule INTEGER;
CREATE INDEX access_requests_reminder_idx ON access_requests (state, reminded_at, expires_at);

CREATE TABLE request_events (
    id         INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES access_requests (id) ON DELETE CASCADE,
    revision   INTEGER NOT NULL,
    position   INTEGER,
    occurred_at INTEGER NOT NULL,
    actor_id   INTEGER REFERENCES people (id) ON DELETE SET NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('submitted', 'approved', 'rejected', 'changes_requested',
                                              'commented', 'resubmitted', 'cancelled', 'expired',
                                              'reminded', 'auto_approved')),
    comment    TEXT
);
CREATE INDEX request_events_request_idx ON request_events (request_id, id);

ALTER TABLE grants ADD COLUMN notified_7d_at INTEGER;
ALTER TABLE grants ADD COLUMN notified_1d_at INTEGER;
CREATE INDEX grants_expiry_idx ON grants (expires_at);

-- An approver hands their personal stages (as manager or sponsor) to a delegate for a period.
CREATE TABLE approval_delegations (
    id          INTEGER PRIMARY KEY,
    person_id   INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    delegate_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    CHECK (person_id <> delegate_id),
    CHECK (ends_at > starts_at)
);
CREATE INDEX approval_delegations_person_idx ON approval_delegations (person_id);
CREATE INDEX approval_delegations_delegate_idx ON approval_delegations (delegate_id);

-- Email delivery state of each notification: due (to send), claimed by one replica until a
-- time, sent, or given up after its attempts.
ALTER TABLE notifications ADD COLUMN email_due_at INTEGER;
ALTER TABLE notifications ADD COLUMN email_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN email_claimed_until INTEGER;
ALTER TABLE notifications ADD COLUMN email_failed_at INTEGER;
CREATE INDEX notifications_email_idx ON notifications (email_due_at);

-- One outgoing webhook per team. The signing secret is derived from the server's key and this
-- row's salt, so a copy of the database alone cannot forge deliveries.
CREATE TABLE team_webhooks (
    id          INTEGER PRIMARY KEY,
    team_id     INTEGER NOT NULL UNIQUE REFERENCES teams (id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    secret_salt TEXT NOT NULL,
    created_by  INTEGER REFERENCES people (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    webhook_id      INTEGER NOT NULL REFERENCES team_webhooks (id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    claimed_until   INTEGER,
    delivered_at    INTEGER,
    failed_at       INTEGER,
    last_error      TEXT
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at);
