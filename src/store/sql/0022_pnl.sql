-- P&L for pay-per-call (issue #18 item 3; docs/reports.md "P&L").
-- publishers: payees paid per billable call of the traffic they own; owns is the JSON document
-- {"sources":[…],"numbers":[…],"pools":[…]} the app validates. publisher_claims: one row per
-- thing owned, so a utm_source value, a tracking number or a pool belongs to at most one
-- publisher of the account (the primary key refuses a second, on every node).
-- call_routes.price: the price the dialled target (a buyer) pays per billable call, recorded
-- when the call connected; call_routes.billable: the target's rule (talk time reached its
-- min_duration) as decided then, NULL while no target connected. Older records: a payout > 0
-- was both (the target's `payout` was its price).
CREATE TABLE publishers (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    ext_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    payout INTEGER NOT NULL CHECK (payout >= 0),
    owns TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX publishers_account ON publishers(account_id, id);
CREATE TABLE publisher_claims (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('source', 'number', 'pool')),
    value TEXT NOT NULL,
    publisher_id INTEGER NOT NULL REFERENCES publishers(id) ON DELETE CASCADE,
    PRIMARY KEY (account_id, kind, value)
);
CREATE INDEX publisher_claims_publisher ON publisher_claims(publisher_id);
ALTER TABLE call_routes ADD COLUMN price INTEGER NOT NULL DEFAULT 0;
ALTER TABLE call_routes ADD COLUMN billable INTEGER;
UPDATE call_routes SET price = payout, billable = 1 WHERE payout > 0;
