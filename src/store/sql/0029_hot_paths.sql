-- opendni schema v29 (issue 21, CPU per request). A call's session, first-touch session and
-- runner-up are often none (unattributed calls, and most calls have no runner-up or earlier
-- touch): their indexes hold only the calls that have one, so a call insert updates up to three
-- fewer indexes. Every query through them compares the column with a value (`= ?`, a join on
-- it), which implies IS NOT NULL, so SQLite and PostgreSQL still use them.
-- (The PostgreSQL file, sql_pg/0029_hot_paths.sql, does the same and also counts routing
-- document changes in config_version; one SQLite process drops its own account snapshots.)
DROP INDEX calls_session;
CREATE INDEX calls_session ON calls(session_id) WHERE session_id IS NOT NULL;
DROP INDEX calls_first_session;
CREATE INDEX calls_first_session ON calls(first_session_id) WHERE first_session_id IS NOT NULL;
DROP INDEX calls_runner_up_session;
CREATE INDEX calls_runner_up_session ON calls(runner_up_session_id)
    WHERE runner_up_session_id IS NOT NULL;
