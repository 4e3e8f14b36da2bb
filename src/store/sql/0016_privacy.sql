-- Privacy (issue #17 item 3): the erasure log and the retention purge's index.
-- erasures: one row per erasure request answered (POST /v1/erasures, `opendni erase`). It keeps
-- nothing of the person: not the visitor id, not the number (a hash of a phone number is
-- reversible), only what kind of subject it was, who asked, the requester's own reference, how
-- many rows were scrubbed, and `sent`, a JSON array of the outbound messages about them that had
-- already left ([{"destination":"dst_…","event_id":"evt_…","type":"call.completed",
-- "state":"delivered","attempts":1,"at":…}]), whose bodies were then scrubbed here too.
CREATE TABLE erasures (
    id INTEGER PRIMARY KEY,
    ext_id TEXT NOT NULL UNIQUE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('visitor', 'caller')),
    actor TEXT NOT NULL,
    reference TEXT NOT NULL DEFAULT '',
    sessions INTEGER NOT NULL,
    calls INTEGER NOT NULL,
    events INTEGER NOT NULL,
    outbox_dropped INTEGER NOT NULL,
    outbox_sent INTEGER NOT NULL,
    sent TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX erasures_account ON erasures(account_id, id);
-- The purge walks an account's sessions oldest first; created_at never changes, so the index
-- costs an insert per new session and nothing per ping.
CREATE INDEX sessions_account_created ON sessions(account_id, created_at);
-- A session a call refers to (attributed, first touch, runner-up) is kept while the call is: the
-- purge looks each one up.
CREATE INDEX calls_first_session ON calls(first_session_id);
CREATE INDEX calls_runner_up_session ON calls(runner_up_session_id);
-- Sent and given-up outbox messages (their bodies are call data) go with the calls' retention.
CREATE INDEX outbox_account_created ON outbox(account_id, created_at);
