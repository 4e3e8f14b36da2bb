-- opendni schema v35 (issue 21's next step: the new visit's writer). sql/0024's triggers
-- rewrote every new session row twice in the visit's batch: sessions_first_insert set its
-- first_at, leases_funnel_insert its funnel bit 1, each update moving two index entries
-- (sessions_visitor_first and sessions_cohort hold first_at; sessions_funnel and
-- sessions_cohort hold funnel). The session insert now writes both itself (first_at: the
-- visitor's earliest created_at, or its own; funnel bit 1 when its lease is inserted in the
-- same step), and the two triggers run only when the row does not already hold the right
-- value: rows inserted without them (first_at 0, funnel 0: older code, imports, hand-written
-- SQL), a session earlier than its visitor's others (which moves their first_at, as before),
-- a lease taken later for an existing session. What they compute is unchanged, so the funnel
-- and the cohorts give the same answers; the other triggers of 0024 (delete, update, events,
-- calls, conversions) are unchanged. (sql_pg/0035_session_facts_insert.sql does the same on
-- PostgreSQL, where a trigger's WHEN cannot read a table.)
DROP TRIGGER sessions_first_insert;
-- Fires when the new row's first_at is not its visitor's earliest created_at, or when the row
-- is its visitor's earliest and another session of the visitor holds a later first_at (the new
-- row was stored late, earlier than the visitor's first). Both probes go through
-- sessions_visitor_first (`+first_at` keeps the planner off sessions_cohort).
CREATE TRIGGER sessions_first_insert AFTER INSERT ON sessions
    WHEN NEW.first_at IS NOT (SELECT MIN(v.created_at) FROM sessions v
                              WHERE v.account_id = NEW.account_id
                              AND v.visitor_id = NEW.visitor_id)
      OR (NEW.first_at = NEW.created_at
          AND EXISTS (SELECT 1 FROM sessions v WHERE v.account_id = NEW.account_id
                      AND v.visitor_id = NEW.visitor_id AND +v.first_at > NEW.created_at))
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
