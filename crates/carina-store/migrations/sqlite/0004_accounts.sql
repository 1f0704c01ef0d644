-- Accounts hardening: case-insensitive usernames, deleted (retired) accounts,
-- scoped and expiring API tokens, atomic login throttling, and the audit log.
-- Times are Unix milliseconds.

-- Who did what to accounts, tokens and exports. No foreign keys: an entry
-- outlives the account it names. `detail` is a JSON object and never holds a
-- password, a token or patient data.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor_id BIGINT,
    actor TEXT,
    subject_id BIGINT,
    subject TEXT,
    client TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_kind_at ON audit_log (kind, at);

-- Usernames become unique regardless of case. Existing accounts whose names
-- differ only in case: the oldest (lowest id) keeps its name, each later one
-- is renamed '<name>~<id>' ('~' is not allowed in a chosen name, so the new
-- name is free and shows where it came from) and the rename is audited.
-- Records written before (history, boxes, reports) keep the exact spelling
-- they were written with.
INSERT INTO audit_log (at, kind, subject_id, subject, detail)
SELECT CAST(strftime('%s', 'now') AS INTEGER) * 1000, 'user_renamed', u.id, u.username,
       json_object('new_username', u.username || '~' || u.id,
                   'reason', 'usernames are unique regardless of case')
FROM users u
WHERE EXISTS (SELECT 1 FROM users o WHERE LOWER(o.username) = LOWER(u.username) AND o.id < u.id);
UPDATE users SET username = username || '~' || id
WHERE EXISTS (SELECT 1 FROM users o
              WHERE LOWER(o.username) = LOWER(users.username) AND o.id < users.id);
CREATE UNIQUE INDEX users_username_lower ON users (LOWER(username));

-- A deleted account keeps its row (and so its name: old records stay
-- unambiguous) but cannot log in; its sessions and tokens are removed.
ALTER TABLE users ADD COLUMN deleted_at BIGINT;

-- API tokens: a scope ('read': GET and HEAD only) and an expiry. Tokens made
-- before this migration keep write access and expire 90 days from now.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'write'
    CHECK (scope IN ('read', 'write'));
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
UPDATE api_tokens SET expires_at = (CAST(strftime('%s', 'now') AS INTEGER) + 90 * 86400) * 1000;

-- Login throttling: one counter per key (an account and client pair, an
-- account, a client) for a fixed window, counted and recorded by one upsert.
DROP TABLE login_failures;
CREATE TABLE login_throttle (
    throttle_key TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    attempts BIGINT NOT NULL
);
CREATE INDEX login_throttle_window ON login_throttle (window_start);

-- Clients (addresses) an account has logged in from: the per-account
-- back-off does not apply to them.
CREATE TABLE known_clients (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client TEXT NOT NULL,
    last_login_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client)
);
