-- opendni schema v2, PostgreSQL version of sql/0002_calls.sql: the same columns with
-- PostgreSQL's types (BIGINT, DOUBLE PRECISION).
-- What the call path needs beyond v1's calls table.
-- calls.status and calls.duration stay the effective values (final status; talk seconds);
-- the columns below keep the provider's raw reports they are derived from, so out-of-order
-- callbacks can be merged, and a snapshot of the attributed source for reports and exports.
ALTER TABLE calls ADD COLUMN pool_id BIGINT REFERENCES pools(id) ON DELETE SET NULL;
ALTER TABLE calls ADD COLUMN runner_up_confidence DOUBLE PRECISION;
ALTER TABLE calls ADD COLUMN channel TEXT;          -- attributed source, copied at call time
ALTER TABLE calls ADD COLUMN source TEXT;
ALTER TABLE calls ADD COLUMN medium TEXT;
ALTER TABLE calls ADD COLUMN campaign TEXT;
ALTER TABLE calls ADD COLUMN keyword TEXT;
ALTER TABLE calls ADD COLUMN call_status TEXT;      -- the caller's leg, as last reported
ALTER TABLE calls ADD COLUMN call_duration BIGINT; -- seconds, NULL until reported
ALTER TABLE calls ADD COLUMN status_seq BIGINT NOT NULL DEFAULT -1;
ALTER TABLE calls ADD COLUMN dial_status TEXT;      -- the forwarded (dialled) leg
ALTER TABLE calls ADD COLUMN dial_duration BIGINT;
ALTER TABLE calls ADD COLUMN dial_seq BIGINT NOT NULL DEFAULT -1;
ALTER TABLE calls ADD COLUMN ended_at BIGINT;      -- when the status first became final
CREATE INDEX calls_session ON calls(session_id);
