-- API keys: the environment marker the key carries, why it was revoked, rotation, reminders;
-- usage per key and day, counted in memory and written in batches; gateway credentials'
-- public prefix.

ALTER TABLE api_keys ADD COLUMN environment_marker TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN revoke_reason TEXT;
ALTER TABLE api_keys ADD COLUMN rotated_at INTEGER;
ALTER TABLE api_keys ADD COLUMN notified_7d_at INTEGER;
ALTER TABLE api_keys ADD COLUMN notified_1d_at INTEGER;
CREATE INDEX api_keys_expiry_idx ON api_keys (expires_at);

-- One row per key, UTC day and result (`ok`, or the denial code).
CREATE TABLE key_usage (
    key_id INTEGER NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    day    INTEGER NOT NULL,
    result TEXT NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (key_id, day, result)
);
