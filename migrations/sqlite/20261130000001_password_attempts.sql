-- Password sign-in attempts, one row taken per attempt before its password is checked, so
-- attempts sent at once are all counted at once (counting failures recorded afterwards let a
-- burst through unchecked). A successful attempt's row is removed; rows older than the
-- throttle's window are removed as new ones are taken.
CREATE TABLE password_attempts (
    id           INTEGER PRIMARY KEY,
    email        TEXT NOT NULL,
    attempted_at INTEGER NOT NULL
);
CREATE INDEX password_attempts_email_idx ON password_attempts (email, attempted_at);
CREATE INDEX password_attempts_at_idx ON password_attempts (attempted_at);
