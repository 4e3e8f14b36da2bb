-- Outbound messages (DESIGN.md "Outbound messages and users", API.md "Outbound webhooks").
-- destinations: an account's webhook endpoints (format json), Slack-compatible incoming webhooks
-- (format slack) and email addresses (format email, url mailto:…), each with the event types it
-- takes. The signing secret is needed in clear to sign (HMAC), so it cannot be hashed: it is kept
-- as the store is given it (where the store encrypts secrets, this column holds the sealed form).
CREATE TABLE destinations (
    id INTEGER PRIMARY KEY,
    ext_id TEXT NOT NULL UNIQUE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('json', 'slack', 'email')),
    events TEXT NOT NULL,             -- comma-separated event types
    secret TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    failing_since INTEGER NOT NULL DEFAULT 0, -- first failure since the last success (0: none)
    disabled_at INTEGER NOT NULL DEFAULT 0,   -- after 3 days of failures
    deleted_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX destinations_account ON destinations(account_id, deleted_at);
-- One row per (event, destination), written in the transaction of the fact that caused it.
-- state 0 pending, 1 delivered, 2 given up. A sender claims a due row by setting lease_until and
-- lease_owner (one node at a time); a row whose lease ran out (its node died) is due again.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    destination_id INTEGER NOT NULL REFERENCES destinations(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    state INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    lease_until INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT NOT NULL DEFAULT '',
    done_at INTEGER NOT NULL DEFAULT 0,
    UNIQUE (destination_id, event_id)
);
CREATE INDEX outbox_due ON outbox(state, next_at);
CREATE INDEX outbox_leased ON outbox(destination_id, state, lease_until);
-- The delivery log: one row per attempt.
CREATE TABLE outbox_attempts (
    id INTEGER PRIMARY KEY,
    outbox_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    destination_id INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    at INTEGER NOT NULL,
    status INTEGER NOT NULL,          -- HTTP or SMTP status, 0 = no answer
    error TEXT NOT NULL,
    response TEXT NOT NULL,           -- the first bytes of the answer
    latency_ms INTEGER NOT NULL
);
CREATE INDEX outbox_attempts_destination ON outbox_attempts(destination_id, id);
-- Periodic checks (alerts, summaries): the last value each saw and when it last fired, so an
-- alert fires at most once per cool-down whichever node runs the check.
CREATE TABLE alert_state (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value INTEGER NOT NULL,
    prev_value INTEGER NOT NULL DEFAULT 0, -- the value seen by the check before
    checked_at INTEGER NOT NULL,
    fired_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
);
