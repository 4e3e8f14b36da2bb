-- 0032: an event is stored once, not once per destination (issue 16). An event going to 50
-- destinations wrote its body (~1 KB) 50 times, and every claim and every recorded attempt
-- rewrote those wide rows: with the sending alone, the writer and the checkpointer spent ~160 µs
-- of CPU per event (bench/outbound). outbox_events holds the event (its id, type and body);
-- outbox keeps one narrow row per destination with the delivery state. The delivery log names
-- its account (the distribution column on PostgreSQL) and is indexed by message, which the
-- cascade from a deleted message and the erasure read.
-- SQLite cannot drop a column that a UNIQUE constraint names: outbox and outbox_attempts are
-- rebuilt (the log first: dropping outbox would cascade into it).
CREATE TABLE outbox_events (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, event_id)
);
INSERT INTO outbox_events(account_id, event_id, type, body, created_at)
    SELECT account_id, event_id, MIN(type), MIN(body), MIN(created_at) FROM outbox
    GROUP BY account_id, event_id ORDER BY MIN(id);
CREATE TABLE outbox_new (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    destination_id INTEGER NOT NULL REFERENCES destinations(id) ON DELETE CASCADE,
    event_ref INTEGER NOT NULL REFERENCES outbox_events(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    state INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    lease_until INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT NOT NULL DEFAULT '',
    done_at INTEGER NOT NULL DEFAULT 0,
    UNIQUE (event_ref, destination_id)
);
INSERT INTO outbox_new(id, account_id, destination_id, event_ref, created_at, state, attempts,
                       next_at, lease_until, lease_owner, done_at)
    SELECT o.id, o.account_id, o.destination_id, e.id, o.created_at, o.state, o.attempts,
           o.next_at, o.lease_until, o.lease_owner, o.done_at
    FROM outbox o JOIN outbox_events e ON e.account_id = o.account_id AND e.event_id = o.event_id;
CREATE TABLE outbox_attempts_new (
    id INTEGER PRIMARY KEY,
    outbox_id INTEGER NOT NULL REFERENCES outbox_new(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL,
    destination_id INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    at INTEGER NOT NULL,
    status INTEGER NOT NULL,
    error TEXT NOT NULL,
    response TEXT NOT NULL,
    latency_ms INTEGER NOT NULL
);
INSERT INTO outbox_attempts_new(id, outbox_id, account_id, destination_id, attempt, at, status,
                                error, response, latency_ms)
    SELECT a.id, a.outbox_id, o.account_id, a.destination_id, a.attempt, a.at, a.status, a.error,
           a.response, a.latency_ms
    FROM outbox_attempts a JOIN outbox o ON o.id = a.outbox_id;
DROP TABLE outbox_attempts;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
ALTER TABLE outbox_attempts_new RENAME TO outbox_attempts;
-- The retention purge and the erasure find an account's messages through their events.
CREATE INDEX outbox_events_account_created ON outbox_events(account_id, created_at);
-- Partial indexes: a destination's pending messages by when due (the claim), and its messages
-- under a lease (the claim counts them: at most 4 per destination). A message enters the first
-- when written and leaves it when delivered or given up, enters the second when claimed and
-- leaves it when its attempt is recorded, so a delivery is 11 B-tree writes, not 16.
CREATE INDEX outbox_destination_due ON outbox(destination_id, next_at) WHERE state = 0;
CREATE INDEX outbox_leased ON outbox(destination_id, lease_until) WHERE lease_until > 0;
CREATE INDEX outbox_attempts_destination ON outbox_attempts(destination_id, id);
CREATE INDEX outbox_attempts_outbox ON outbox_attempts(outbox_id);
