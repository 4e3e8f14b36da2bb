-- opendni schema v35 (issue 21's next step: the new visit's writer). sql/0024's triggers
-- rewrote every new session row twice in the visit's batch: sessions_first_insert set its
-- first_at, leases_funnel_insert its funnel bit 1, each update moving two index entries
-- (sessions_visitor_first and sessions_cohort hold first_at; sessions_funnel and
-- sessions_cohort hold funnel). A new visit's session is now inserted with both right
-- (store_sqlite_visit.c, store_pg_visit.c): first_at is its visitor's earliest created_at, or
-- its own, and when it is earlier than the visitor's other sessions (stored late) the insert
-- moves theirs, as the trigger did; funnel bit 1 is set when its lease is inserted in the same
-- step. The two triggers run only when the row does not hold the value: the session trigger for
-- a row inserted without first_at (0: imports, hand-written SQL) or with one after its own
-- created_at (never right); the lease trigger when its session lacks bit 1 (a lease taken later
-- for an existing session). An insert that writes first_at owns it (the visitor's earliest
-- created_at, its later sessions moved): a value not after created_at is trusted. What the
-- triggers compute is unchanged, so the funnel and the cohorts give the same answers; 0024's
-- other triggers (deletes, updates, events, calls, conversions) are unchanged. The session
-- trigger's condition reads only the row: an exact one (the visitor's earliest created_at, and
-- whether another session holds a later first_at) cost two index probes per new visit, ~8k of
-- the writer's ~150k instructions (bench/cg/run.sh visit). sql_pg/0035_session_facts_insert.sql
-- does the same on PostgreSQL.
DROP TRIGGER sessions_first_insert;
CREATE TRIGGER sessions_first_insert AFTER INSERT ON sessions
    WHEN NEW.first_at = 0 OR NEW.first_at > NEW.created_at
BEGIN
    UPDATE sessions SET first_at = (SELECT MIN(v.created_at) FROM sessions v
            WHERE v.account_id = NEW.account_id AND v.visitor_id = NEW.visitor_id)
        WHERE id = NEW.id;
    UPDATE sessions SET first_at = NEW.created_at
        WHERE id IN (SELECT v.id FROM sessions v WHERE v.account_id = NEW.account_id
                     AND v.visitor_id = NEW.visitor_id AND +v.first_at > NEW.created_at);
END;
DROP TRIGGER leases_funnel_insert;
-- Fires when the lease's session does not have bit 1 yet.
CREATE TRIGGER leases_funnel_insert AFTER INSERT ON leases
    WHEN (SELECT s.funnel & 1 FROM sessions s WHERE s.id = NEW.session_id) = 0
BEGIN
    UPDATE sessions SET funnel = funnel | 1 WHERE id = NEW.session_id AND funnel & 1 = 0;
END;
