-- PostgreSQL 0035, as sql/0035_session_facts_insert.sql: a new session's insert writes first_at
-- and (with its lease in the same step) funnel bit 1 itself, and moves the first_at of its
-- visitor's later sessions when it is earlier than them (store_pg_visit.c: one statement, an
-- UPDATE in a WITH), so the insert trigger on sessions runs only for a row that does not hold
-- a first_at: 0 (inserted without it: imports, hand-written SQL) or one after its own
-- created_at (never right). A trigger's WHEN cannot read a table here, and a PL/pgSQL call per
-- new visit cost ~20 µs of PostgreSQL's time even when it changed nothing (pg_stat_statements,
-- bench/pg/run.sh). od_sessions_first, od_visitor_first and the delete/update trigger are as in
-- sql_pg/0024. The lease's trigger is unchanged: its function's UPDATE (funnel & 1 = 0) writes
-- nothing when the insert set the bit.
DROP TRIGGER sessions_first ON sessions;
CREATE TRIGGER sessions_first AFTER DELETE OR UPDATE OF account_id, visitor_id, created_at
    ON sessions FOR EACH ROW EXECUTE FUNCTION od_sessions_first();
CREATE TRIGGER sessions_first_insert AFTER INSERT ON sessions FOR EACH ROW
    WHEN (NEW.first_at = 0 OR NEW.first_at > NEW.created_at)
    EXECUTE FUNCTION od_sessions_first();
