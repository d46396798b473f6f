-- Company sign-in in flight: one row per browser that has gone to the identity provider and not
-- yet come back. The browser holds a random id in a short-lived cookie; the row holds its SHA-256,
-- so a callback is honoured only in the browser that started it, and only once.
CREATE TABLE oidc_logins (
    id_hash       TEXT PRIMARY KEY,
    state         TEXT NOT NULL UNIQUE,
    nonce         TEXT NOT NULL,
    return_to     TEXT NOT NULL,
    invitation_id BIGINT REFERENCES contractor_invitations (id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX oidc_logins_expiry_idx ON oidc_logins (expires_at);

-- SCIM clients (Okta, Entra ID) keep their own id for each person and group.
ALTER TABLE people ADD COLUMN external_id TEXT;
ALTER TABLE teams ADD COLUMN external_id TEXT;
CREATE INDEX contractor_invitations_email_idx ON contractor_invitations (email);
