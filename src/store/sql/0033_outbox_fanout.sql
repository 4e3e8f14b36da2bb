-- 0033: fan-out on read (issue 16). An event for several destinations was written as one
-- outbox row per destination, each then claimed, finished and logged: 11 B-tree writes and four
-- statements per delivery, ~70 µs of the writer and ~20 of the checkpointer (bench/outbound,
-- 50 destinations). Now an event published to the account's destinations (fanout = 1) is
-- written once, and each destination reads the events after its cursor (outbox_cursors): a
-- claim takes a batch of them under a lease on the cursor, the batch's attempts are logged and
-- its end becomes the cursor in one transaction. A message gets an outbox row of its own only
-- when its first attempt failed (its retries), when it was sent on request (the test, a
-- redelivery), or when a batch's lease ran out before its end was recorded (its messages are
-- then sent again as rows, counting the attempt that may have been made).
-- This relies on SQLite's one writer: events are committed in the order of their ids, so a
-- cursor never passes an event that commits later. PostgreSQL's nodes commit out of id order:
-- it keeps one row per destination (sql_pg/0033).
ALTER TABLE outbox_events ADD COLUMN fanout INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_events_fanout ON outbox_events(account_id, id) WHERE fanout = 1;
CREATE TABLE outbox_cursors (
    destination_id INTEGER PRIMARY KEY REFERENCES destinations(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL,
    pos INTEGER NOT NULL,            -- the account's fan-out events up to this id are handled
    end_pos INTEGER NOT NULL,        -- the claimed batch ends here (pos: no batch)
    n INTEGER NOT NULL DEFAULT 0,    -- the batch's messages (places in flight)
    owner TEXT NOT NULL DEFAULT '',
    lease_until INTEGER NOT NULL DEFAULT 0
);
INSERT INTO outbox_cursors(destination_id, account_id, pos, end_pos)
    SELECT d.id, d.account_id, m.top, m.top
    FROM destinations d, (SELECT COALESCE(MAX(id), 0) AS top FROM outbox_events) m;
-- The delivery log names the event, not the outbox row (a batch's attempts have none). SQLite
-- cannot drop a column a foreign key names: the table is rebuilt.
CREATE TABLE outbox_attempts_new (
    id INTEGER PRIMARY KEY,
    event_ref INTEGER NOT NULL REFERENCES outbox_events(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL,
    destination_id INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    at INTEGER NOT NULL,
    status INTEGER NOT NULL,
    error TEXT NOT NULL,
    response TEXT NOT NULL,
    latency_ms INTEGER NOT NULL
);
INSERT INTO outbox_attempts_new(id, event_ref, account_id, destination_id, attempt, at, status,
                                error, response, latency_ms)
    SELECT a.id, o.event_ref, a.account_id, a.destination_id, a.attempt, a.at, a.status, a.error,
           a.response, a.latency_ms
    FROM outbox_attempts a JOIN outbox o ON o.id = a.outbox_id;
DROP TABLE outbox_attempts;
ALTER TABLE outbox_attempts_new RENAME TO outbox_attempts;
CREATE INDEX outbox_attempts_destination ON outbox_attempts(destination_id, id);
CREATE INDEX outbox_attempts_event ON outbox_attempts(event_ref, destination_id);
-- A message's attempts go with its row (the purge, the erasure), as the foreign key on
-- outbox_id had them; a batch's message without a row keeps them until its event goes.
CREATE TRIGGER outbox_delete_attempts AFTER DELETE ON outbox BEGIN
    DELETE FROM outbox_attempts
        WHERE event_ref = OLD.event_ref AND destination_id = OLD.destination_id;
END;
