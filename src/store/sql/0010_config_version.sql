-- opendni schema v10: nothing on SQLite. The PostgreSQL version (sql_pg/0010_config_version.sql)
-- counts configuration changes for the account snapshots of several serving nodes; one process
-- serves a SQLite file and invalidates its own snapshots (store_config_version: unsupported).
SELECT 1;
