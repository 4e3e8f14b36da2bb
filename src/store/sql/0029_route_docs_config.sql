-- 0029: nothing for SQLite (one process serves the file and drops its own account snapshots
-- when a routing plan changes). The PostgreSQL file (sql_pg/0029_route_docs_config.sql) counts
-- routing document changes in config_version, so every node's snapshots (which now say whether
-- the account has any routing plan) reload within a second.
SELECT 1;
