-- opendni schema v29, PostgreSQL: a routing document's change bumps config_version (sql_pg/0010),
-- as the other configuration tables do. The account snapshots (src/app/accounts.c) record
-- whether the account has any routing plan, and a voice webhook of an account without one reads
-- no routing documents; a plan made through another node shows here when the version moves.
CREATE TRIGGER route_docs_config AFTER INSERT OR DELETE OR UPDATE ON route_docs
    FOR EACH STATEMENT EXECUTE FUNCTION od_config_changed();
