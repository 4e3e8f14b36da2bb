-- opendni schema v8: dashboard users, their roles per account, their sessions, and the audit log
-- of admin actions (docs/dashboard.md). Portable SQL (SQLite and PostgreSQL). Times are Unix ms.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,      -- normalised: trimmed, lowercase
    password_hash TEXT NOT NULL,     -- "scrypt$N$r$p$SALT$HASH" (base64): never a bare hash
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- One role per (user, account): an agency's staff hold roles in each client's account.
CREATE TABLE memberships (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'analyst', 'viewer')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, account_id)
);
CREATE INDEX memberships_account ON memberships(account_id);
-- A login: the cookie's 256-bit token is never stored, only its SHA-256. account_id is the
-- account the session is looking at (switchable among the user's memberships).
CREATE TABLE app_sessions (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,   -- idle expiry counts from here
    expires_at INTEGER NOT NULL      -- absolute expiry
);
CREATE INDEX app_sessions_user ON app_sessions(user_id);
CREATE INDEX app_sessions_expiry ON app_sessions(expires_at);
-- Admin actions (users, roles, sessions ended by an admin), readable by the account's owners.
-- account_id NULL: an action on a user as a whole (set-password, remove).
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    actor TEXT NOT NULL,             -- "cli", or the acting user's email
    action TEXT NOT NULL,            -- "user.add", "user.role", "user.password", "user.remove", …
    subject TEXT NOT NULL,           -- what it acted on (an email)
    detail TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX audit_log_account ON audit_log(account_id, id);
