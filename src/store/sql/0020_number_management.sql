-- opendni schema v20: numbers bought and released through the provider (issue #20 item 4;
-- docs/telephony.md "Buying and releasing numbers"). Portable SQL; PostgreSQL's version
-- (sql_pg/0020) differs only in identity ids and BIGINT times.
-- number_settings: per account, the provider numbers are bought from, the monthly spend cap
-- and what one number costs per month (minor units of the account's currency).
CREATE TABLE number_settings (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    monthly_cap INTEGER NOT NULL,
    number_cost INTEGER NOT NULL,
    country TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
-- pool_autoscale: per pool, off unless a row says enabled.
CREATE TABLE pool_autoscale (
    pool_id INTEGER PRIMARY KEY REFERENCES pools(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    enabled INTEGER NOT NULL,
    dry_run INTEGER NOT NULL,
    min_size INTEGER NOT NULL,
    max_size INTEGER NOT NULL,
    area_code TEXT NOT NULL,
    region TEXT NOT NULL,
    idle_release INTEGER NOT NULL,      -- seconds past the cooldown; 0 = never release
    seen_exhaustion INTEGER NOT NULL DEFAULT 0,
    checked_at INTEGER NOT NULL DEFAULT 0,
    last_decision TEXT NOT NULL DEFAULT '', -- the last check's decision: a repeat is not logged
    updated_at INTEGER NOT NULL
);
-- number_intents: a purchase, written before the provider is asked (state 0 pending, 1 bought,
-- 2 failed, 3 released). One pending intent per pool slot: two nodes deciding at once cannot
-- both buy the pool's next number.
CREATE TABLE number_intents (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    pool_id INTEGER NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    slot INTEGER NOT NULL,
    key TEXT NOT NULL UNIQUE,
    provider TEXT NOT NULL,
    state INTEGER NOT NULL,
    number TEXT NOT NULL DEFAULT '',
    provider_ref TEXT NOT NULL DEFAULT '',
    number_id INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    released_at INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX number_intents_slot ON number_intents(pool_id, slot) WHERE state = 0;
-- A number chosen by one pending purchase is not chosen by another (two nodes searching at once).
CREATE UNIQUE INDEX number_intents_number ON number_intents(number) WHERE state = 0 AND number <> '';
CREATE INDEX number_intents_account ON number_intents(account_id, state);
-- number_actions: the log of every search, purchase, configuration, release and refusal.
CREATE TABLE number_actions (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    pool_id INTEGER NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    number TEXT NOT NULL,
    provider TEXT NOT NULL,
    dry_run INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    detail TEXT NOT NULL,
    intent_id INTEGER
);
CREATE INDEX number_actions_pool ON number_actions(account_id, pool_id, id);
-- job_claims: a periodic job runs on one node at a time (the holder until `until`).
CREATE TABLE job_claims (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until INTEGER NOT NULL
);
CREATE INDEX calls_number_started ON calls(number_id, started_at);
