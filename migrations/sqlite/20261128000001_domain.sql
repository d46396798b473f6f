-- The whole Gatehouse domain. Times are Unix seconds (UTC); flags are timestamps (`*_at`), so a
-- row says when something happened, not only whether. Enumerations are TEXT with CHECKs so that
-- both backends reject an unknown value the same way.

CREATE TABLE people (
    id               INTEGER PRIMARY KEY,
    email            TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('employee', 'contractor')),
    manager_id       INTEGER REFERENCES people (id) ON DELETE SET NULL,
    sponsor_id       INTEGER REFERENCES people (id) ON DELETE SET NULL,
    company          TEXT,
    department       TEXT,
    title            TEXT,
    contract_ends_at INTEGER,
    oidc_issuer      TEXT,
    oidc_subject     TEXT,
    password_hash    TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    deactivated_at   INTEGER,
    UNIQUE (oidc_issuer, oidc_subject),
    CHECK (manager_id IS NULL OR manager_id <> id),
    CHECK (kind <> 'contractor' OR (sponsor_id IS NOT NULL AND contract_ends_at IS NOT NULL))
);
CREATE INDEX people_manager_idx ON people (manager_id);
CREATE INDEX people_sponsor_idx ON people (sponsor_id);

CREATE TABLE teams (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);

CREATE TABLE team_members (
    team_id   INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    role      TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    added_at  INTEGER NOT NULL,
    PRIMARY KEY (team_id, person_id)
);
CREATE INDEX team_members_person_idx ON team_members (person_id);

CREATE TABLE platform_admins (
    person_id  INTEGER PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    granted_by INTEGER REFERENCES people (id) ON DELETE SET NULL,
    granted_at INTEGER NOT NULL
);

-- Global limits and switches set by admins (maximum durations, security team, …), as JSON values.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_by INTEGER REFERENCES people (id) ON DELETE SET NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE contractor_invitations (
    id          INTEGER PRIMARY KEY,
    email       TEXT NOT NULL,
    company     TEXT NOT NULL,
    sponsor_id  INTEGER NOT NULL REFERENCES people (id),
    invited_by  INTEGER NOT NULL REFERENCES people (id),
    ends_at     INTEGER NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    accepted_at INTEGER,
    accepted_by INTEGER REFERENCES people (id),
    revoked_at  INTEGER
);

CREATE TABLE apis (
    id             INTEGER PRIMARY KEY,
    slug           TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    summary        TEXT NOT NULL DEFAULT '',
    description_md TEXT NOT NULL DEFAULT '',
    owner_team_id  INTEGER NOT NULL REFERENCES teams (id),
    lifecycle      TEXT NOT NULL CHECK (lifecycle IN ('experimental', 'production', 'deprecated', 'retired')),
    visibility     TEXT NOT NULL CHECK (visibility IN ('everyone', 'employees', 'restricted', 'hidden')),
    repository_url TEXT,
    runbook_url    TEXT,
    chat_channel   TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX apis_owner_team_idx ON apis (owner_team_id);

CREATE TABLE api_tags (
    api_id INTEGER NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    tag    TEXT NOT NULL,
    PRIMARY KEY (api_id, tag)
);
CREATE INDEX api_tags_tag_idx ON api_tags (tag);

CREATE TABLE environments (
    id       INTEGER PRIMARY KEY,
    api_id   INTEGER NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    base_url TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    UNIQUE (api_id, name)
);

CREATE TABLE scopes (
    id          INTEGER PRIMARY KEY,
    api_id      INTEGER NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    risk        TEXT NOT NULL CHECK (risk IN ('low', 'high')),
    UNIQUE (api_id, name)
);

CREATE TABLE api_versions (
    id               INTEGER PRIMARY KEY,
    api_id           INTEGER NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    label            TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('current', 'deprecated')),
    release_notes_md TEXT NOT NULL DEFAULT '',
    spec_format      TEXT CHECK (spec_format IN ('openapi-3.0', 'openapi-3.1', 'swagger-2.0')),
    spec_source      TEXT,
    published_at     INTEGER NOT NULL,
    published_by     INTEGER REFERENCES people (id) ON DELETE SET NULL,
    UNIQUE (api_id, label)
);

CREATE TABLE guides (
    id         INTEGER PRIMARY KEY,
    version_id INTEGER NOT NULL REFERENCES api_versions (id) ON DELETE CASCADE,
    slug       TEXT NOT NULL,
    title      TEXT NOT NULL,
    position   INTEGER NOT NULL DEFAULT 0,
    source_md  TEXT NOT NULL,
    UNIQUE (version_id, slug)
);

-- HTML rendered once at publish time; pages serve it as stored.
CREATE TABLE rendered_artifacts (
    id               INTEGER PRIMARY KEY,
    version_id       INTEGER NOT NULL REFERENCES api_versions (id) ON DELETE CASCADE,
    kind             TEXT NOT NULL CHECK (kind IN ('overview', 'guide', 'reference', 'changelog')),
    artifact_key     TEXT NOT NULL DEFAULT '',
    html             TEXT NOT NULL,
    toc_json         TEXT NOT NULL DEFAULT '[]',
    renderer_version INTEGER NOT NULL,
    rendered_at      INTEGER NOT NULL,
    UNIQUE (version_id, kind, artifact_key)
);

-- An API's approval policy, stored as a validated JSON document.
CREATE TABLE policies (
    api_id     INTEGER PRIMARY KEY REFERENCES apis (id) ON DELETE CASCADE,
    document   TEXT NOT NULL,
    updated_by INTEGER REFERENCES people (id) ON DELETE SET NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE access_requests (
    id             INTEGER PRIMARY KEY,
    requester_id   INTEGER NOT NULL REFERENCES people (id),
    api_id         INTEGER NOT NULL REFERENCES apis (id),
    environment_id INTEGER NOT NULL REFERENCES environments (id),
    justification  TEXT NOT NULL,
    duration_days  INTEGER NOT NULL CHECK (duration_days > 0),
    sponsor_id     INTEGER REFERENCES people (id),
    state          TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'cancelled', 'expired')),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    decided_at     INTEGER,
    revision       INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX access_requests_requester_idx ON access_requests (requester_id, state);
CREATE INDEX access_requests_api_idx ON access_requests (api_id, state);
CREATE INDEX access_requests_pending_expiry_idx ON access_requests (state, expires_at);

CREATE TABLE access_request_scopes (
    request_id INTEGER NOT NULL REFERENCES access_requests (id) ON DELETE CASCADE,
    scope_id   INTEGER NOT NULL REFERENCES scopes (id),
    PRIMARY KEY (request_id, scope_id)
);

CREATE TABLE approval_steps (
    id                 INTEGER PRIMARY KEY,
    request_id         INTEGER NOT NULL REFERENCES access_requests (id) ON DELETE CASCADE,
    position           INTEGER NOT NULL,
    approver_kind      TEXT NOT NULL CHECK (approver_kind IN ('auto', 'manager', 'api_owner', 'sponsor', 'security', 'team')),
    approver_team_id   INTEGER REFERENCES teams (id),
    approver_person_id INTEGER REFERENCES people (id),
    state              TEXT NOT NULL CHECK (state IN ('waiting', 'pending', 'approved', 'rejected', 'changes_requested')),
    decided_by         INTEGER REFERENCES people (id),
    decided_at         INTEGER,
    comment            TEXT,
    UNIQUE (request_id, position)
);
CREATE INDEX approval_steps_approver_idx ON approval_steps (approver_person_id, state);

CREATE TABLE grants (
    id             INTEGER PRIMARY KEY,
    person_id      INTEGER NOT NULL REFERENCES people (id),
    api_id         INTEGER NOT NULL REFERENCES apis (id),
    environment_id INTEGER NOT NULL REFERENCES environments (id),
    request_id     INTEGER REFERENCES access_requests (id),
    granted_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    revoked_at     INTEGER,
    revoked_by     INTEGER REFERENCES people (id),
    revoke_reason  TEXT
);
CREATE INDEX grants_person_idx ON grants (person_id, api_id);
CREATE INDEX grants_api_idx ON grants (api_id);

CREATE TABLE grant_scopes (
    grant_id INTEGER NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    scope_id INTEGER NOT NULL REFERENCES scopes (id),
    PRIMARY KEY (grant_id, scope_id)
);

-- Only a keyed hash of each secret is stored; `lookup_id` is the public, non-secret part.
CREATE TABLE api_keys (
    id                    INTEGER PRIMARY KEY,
    grant_id              INTEGER NOT NULL REFERENCES grants (id),
    person_id             INTEGER NOT NULL REFERENCES people (id),
    name                  TEXT NOT NULL,
    lookup_id             TEXT NOT NULL UNIQUE,
    secret_hash           TEXT NOT NULL,
    previous_secret_hash  TEXT,
    previous_valid_until  INTEGER,
    ip_allowlist          TEXT,
    rate_limit_per_minute INTEGER,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    last_used_at          INTEGER,
    revoked_at            INTEGER,
    revoked_by            INTEGER REFERENCES people (id)
);
CREATE INDEX api_keys_grant_idx ON api_keys (grant_id);
CREATE INDEX api_keys_person_idx ON api_keys (person_id);

CREATE TABLE api_key_scopes (
    key_id   INTEGER NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    scope_id INTEGER NOT NULL REFERENCES scopes (id),
    PRIMARY KEY (key_id, scope_id)
);

CREATE TABLE publish_tokens (
    id           INTEGER PRIMARY KEY,
    team_id      INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    lookup_id    TEXT NOT NULL UNIQUE,
    secret_hash  TEXT NOT NULL,
    created_by   INTEGER REFERENCES people (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);

CREATE TABLE gateway_credentials (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    lookup_id    TEXT NOT NULL UNIQUE,
    secret_hash  TEXT NOT NULL,
    created_by   INTEGER REFERENCES people (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);

-- Server-side sessions. The browser holds a random id; only its SHA-256 is stored.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    person_id    INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    auth_method  TEXT NOT NULL CHECK (auth_method IN ('oidc', 'dev', 'password')),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ip           TEXT,
    user_agent   TEXT
);
CREATE INDEX sessions_person_idx ON sessions (person_id);

-- Append-only and hash-chained: each row's hash covers its content and the previous row's hash.
CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY,
    occurred_at INTEGER NOT NULL,
    actor_id    INTEGER REFERENCES people (id) ON DELETE SET NULL,
    actor_label TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    details     TEXT NOT NULL DEFAULT '{}',
    ip          TEXT,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_events_time_idx ON audit_events (occurred_at);
CREATE INDEX audit_events_target_idx ON audit_events (target_kind, target_id);

CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL DEFAULT '',
    link       TEXT,
    created_at INTEGER NOT NULL,
    read_at    INTEGER,
    emailed_at INTEGER
);
CREATE INDEX notifications_person_idx ON notifications (person_id, read_at);
