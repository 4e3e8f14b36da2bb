-- 0017: the outbox claim reads per destination only what it takes (issue 16: it ranked every due
-- row at each step). A destination's due messages in the claim's order (next_at, then id: SQLite
-- appends the rowid to every index).
CREATE INDEX outbox_destination_due ON outbox(destination_id, state, next_at);
-- The claim no longer reads due rows by (state, next_at) across destinations: one index less to
-- write at each insert and state change.
DROP INDEX outbox_due;
