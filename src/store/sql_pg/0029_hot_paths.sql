-- opendni schema v29, PostgreSQL (issue 21, CPU per request); sql/0029_hot_paths.sql says why.
-- Partial indexes on a call's session, first-touch session and runner-up (NULL for none).
DROP INDEX calls_session;
CREATE INDEX calls_session ON calls(session_id) WHERE session_id IS NOT NULL;
DROP INDEX calls_first_session;
CREATE INDEX calls_first_session ON calls(first_session_id) WHERE first_session_id IS NOT NULL;
DROP INDEX calls_runner_up_session;
CREATE INDEX calls_runner_up_session ON calls(runner_up_session_id)
    WHERE runner_up_session_id IS NOT NULL;
-- A routing document's change bumps config_version (sql_pg/0010), as the other configuration
-- tables do. The account snapshots (src/app/accounts.c) record whether the account has any
-- routing plan, and a voice webhook of an account without one reads no routing documents; a plan
-- made through another node shows here when the version moves.
CREATE TRIGGER route_docs_config AFTER INSERT OR DELETE OR UPDATE ON route_docs
    FOR EACH STATEMENT EXECUTE FUNCTION od_config_changed();
