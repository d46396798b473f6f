-- The head of the audit chain: its latest hash and length. Every append updates this one row
-- first, which serialises appenders on both backends (SQLite's write lock, PostgreSQL's row lock)
-- inside the appender's own transaction; and it lets verification notice a removed newest event.
CREATE TABLE audit_head (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    hash        TEXT NOT NULL,
    event_count BIGINT NOT NULL
);
INSERT INTO audit_head (id, hash, event_count)
VALUES (1, '0000000000000000000000000000000000000000000000000000000000000000', 0);

-- Two events can never claim the same predecessor: the chain cannot fork.
CREATE UNIQUE INDEX audit_events_prev_hash_key ON audit_events (prev_hash);
