-- opendni schema v1. Shared by the SQLite and PostgreSQL backends (portable SQL only).
-- Times are Unix milliseconds (INTEGER); external ids (acc_…, pool_…) are random and unique.
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    ext_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    twilio_account_sid TEXT,
    twilio_auth_token TEXT,          -- needed in clear to verify HMAC signatures
    settings TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL
);
CREATE TABLE account_origins (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    origin TEXT NOT NULL,
    PRIMARY KEY (account_id, origin)
);
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key_hash TEXT NOT NULL UNIQUE,   -- hex SHA-256 of the key; the key itself is never stored
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE pools (
    id INTEGER PRIMARY KEY,
    ext_id TEXT NOT NULL UNIQUE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    target TEXT NOT NULL,
    forward_to TEXT NOT NULL,
    lease_ttl INTEGER NOT NULL,
    cooldown INTEGER NOT NULL,
    on_exhaust TEXT NOT NULL CHECK (on_exhaust IN ('share', 'fallback')),
    fallback_number TEXT,
    channels TEXT,                   -- JSON array of channels this pool serves, or NULL (all)
    exhaustion_events INTEGER NOT NULL DEFAULT 0,
    peak_concurrent INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX pools_account ON pools(account_id);
CREATE TABLE numbers (
    id INTEGER PRIMARY KEY,
    ext_id TEXT NOT NULL UNIQUE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    number TEXT NOT NULL UNIQUE,
    pool_id INTEGER REFERENCES pools(id),
    source TEXT,                     -- source numbers: fixed source/medium/campaign
    medium TEXT,
    campaign TEXT,
    target TEXT,
    forward_to TEXT,
    idle_since INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    CHECK ((pool_id IS NULL) <> (source IS NULL))
);
CREATE INDEX numbers_account ON numbers(account_id);
CREATE INDEX numbers_pool ON numbers(pool_id);
CREATE TABLE rules (
    id INTEGER PRIMARY KEY,
    ext_id TEXT NOT NULL UNIQUE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    field TEXT NOT NULL,
    op TEXT NOT NULL,
    value TEXT NOT NULL,
    set_channel TEXT,
    set_source TEXT,
    set_medium TEXT,
    set_campaign TEXT,
    pool_id INTEGER REFERENCES pools(id) ON DELETE CASCADE,
    number_id INTEGER REFERENCES numbers(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);
CREATE INDEX rules_account ON rules(account_id, position);
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    ext_id TEXT NOT NULL UNIQUE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    visitor_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_active_at INTEGER NOT NULL,
    landing_page TEXT,
    referrer TEXT,
    channel TEXT,
    source TEXT,
    medium TEXT,
    campaign TEXT,
    keyword TEXT,
    content TEXT,
    click_ids TEXT,                  -- JSON object {"gclid":"…"}
    device TEXT,
    region TEXT
);
CREATE INDEX sessions_visitor ON sessions(account_id, visitor_id);
CREATE TABLE leases (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    number_id INTEGER NOT NULL REFERENCES numbers(id) ON DELETE CASCADE,
    pool_id INTEGER NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    leased_at INTEGER NOT NULL,
    last_active_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    shared INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX leases_number ON leases(number_id, expires_at);
CREATE INDEX leases_session ON leases(session_id);
CREATE INDEX leases_pool_expires ON leases(pool_id, expires_at);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    number TEXT,
    detail TEXT,
    at INTEGER NOT NULL
);
CREATE INDEX events_session ON events(session_id, type, at);
CREATE TABLE calls (
    id INTEGER PRIMARY KEY,
    ext_id TEXT NOT NULL UNIQUE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    provider_call_id TEXT NOT NULL,
    number_id INTEGER REFERENCES numbers(id) ON DELETE SET NULL,
    to_number TEXT NOT NULL,
    from_number TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    duration INTEGER NOT NULL DEFAULT 0,
    forwarded_to TEXT,
    recorded INTEGER NOT NULL DEFAULT 0,
    method TEXT NOT NULL,
    confidence REAL NOT NULL DEFAULT 0,
    session_id INTEGER REFERENCES sessions(id) ON DELETE SET NULL,
    runner_up_session_id INTEGER REFERENCES sessions(id) ON DELETE SET NULL,
    first_session_id INTEGER REFERENCES sessions(id) ON DELETE SET NULL,
    reason TEXT,
    error TEXT,
    updated_at INTEGER NOT NULL,
    UNIQUE (provider, provider_call_id)
);
CREATE INDEX calls_account_started ON calls(account_id, started_at, id);
CREATE INDEX calls_from ON calls(account_id, from_number);
CREATE TABLE conversions (
    id INTEGER PRIMARY KEY,
    call_id INTEGER NOT NULL UNIQUE REFERENCES calls(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value REAL NOT NULL DEFAULT 0,
    currency TEXT NOT NULL DEFAULT 'USD',
    at INTEGER NOT NULL
);
CREATE INDEX conversions_account ON conversions(account_id, at);
