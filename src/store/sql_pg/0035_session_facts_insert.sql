-- PostgreSQL 0035, as sql/0035_session_facts_insert.sql: the session insert writes first_at
-- and (with its lease in the same step) funnel bit 1 itself (store_pg_visit.c), and the insert
-- trigger on sessions runs only when the row may not hold the right first_at. A trigger's WHEN
-- cannot read a table here, so the condition is the row's own: first_at 0 (inserted without it:
-- older code, imports, hand-written SQL), or first_at not earlier than created_at (the visitor's
-- first session, or one stored late, earlier than the visitor's others, whose first_at then
-- moves). A row with 0 < first_at < created_at was written by an insert that found an earlier
-- session of its visitor, so nothing is to move. od_sessions_first, od_visitor_first and the
-- delete/update trigger are as in sql_pg/0024. The lease's trigger is unchanged: its function's
-- UPDATE (funnel & 1 = 0) writes nothing when the insert set the bit.
DROP TRIGGER sessions_first ON sessions;
CREATE TRIGGER sessions_first AFTER DELETE OR UPDATE OF account_id, visitor_id, created_at
    ON sessions FOR EACH ROW EXECUTE FUNCTION od_sessions_first();
CREATE TRIGGER sessions_first_insert AFTER INSERT ON sessions FOR EACH ROW
    WHEN (NEW.first_at = 0 OR NEW.first_at >= NEW.created_at)
    EXECUTE FUNCTION od_sessions_first();
