-- API keys: the environment marker the key carries, why it was revoked, rotation, reminders;
-- usage per key and day, counted in memory and written in batches; gateway credentials'
-- public prefix.

ALTER TABLE api_keys ADD COLUMN environment_marker TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN revoke_reason TEXT;
ALTER TABLE api_keys ADD COLUMN rotated_at BIGINT;
ALTER TABLE api_keys ADD COLUMN notified_7d_at BIGINT;
ALTER TABLE api_keys ADD COLUMN notified_1d_at BIGINT;
CREATE INDEX api_keys_expiry_idx ON api_keys (expires_at);

-- One row per key, UTC day and result (`ok`, or the denial code).
CREATE TABLE key_usage (
    key_id BIGINT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    day    BIGINT NOT NULL,
    result TEXT NOT NULL,
    count  BIGINT NOT NULL,
    PRIMARY KEY (key_id, day, result)
);
