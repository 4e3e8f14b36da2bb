-- Call routing (issue #15; docs/routing.md). route_docs: locations and routing plans, each a JSON
-- document the app validates (core/route.h), per account, with its public id; a plan's attach
-- ('number:<ext id>', 'pool:<ext id>', 'location:<ext id>') is unique per account.
-- route_counters: per-account counters incremented atomically (round robin, targets' calls per
-- day), shared by nodes. call_routes_dialing: the calls dialling a plan's targets now (caps).
-- call_routes: a routed call's routing record, keyed by the provider's call id (it is written
-- on the request thread before the answer, before the call row itself may be on disk).
CREATE TABLE route_docs (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('location', 'plan')),
    ext_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    attach TEXT,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX route_docs_account ON route_docs(account_id, kind, id);
CREATE UNIQUE INDEX route_docs_attach ON route_docs(account_id, attach) WHERE attach IS NOT NULL;
CREATE TABLE route_counters (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
);
CREATE TABLE call_routes (
    provider TEXT NOT NULL,
    call_sid TEXT NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    plan TEXT NOT NULL,
    location TEXT NOT NULL DEFAULT '',
    target TEXT NOT NULL DEFAULT '',
    target_number TEXT NOT NULL DEFAULT '',
    digits TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT '',
    log TEXT NOT NULL DEFAULT '',
    verstat TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL DEFAULT '',
    recording_url TEXT NOT NULL DEFAULT '',
    recording_duration INTEGER NOT NULL DEFAULT -1,
    payout INTEGER NOT NULL DEFAULT 0,
    dialing INTEGER NOT NULL DEFAULT 0,
    started_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (provider, call_sid)
);
CREATE INDEX call_routes_account ON call_routes(account_id, started_at);
CREATE INDEX call_routes_dialing ON call_routes(account_id, plan) WHERE dialing = 1;
