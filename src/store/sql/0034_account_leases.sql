-- 0034: nothing for SQLite. The version exists because every store has the same migration
-- versions; its PostgreSQL file (sql_pg/0034_account_leases.sql) puts the account id (Citus's
-- distribution column) on the lease state, leases and events, and into every statement on
-- them. SQLite is one node, never distributed: its lease engine keeps the lease state in
-- memory (core/pool), and a wider row on leases and events would only cost the visit path (the
-- store operations take the account id on both backends; SQLite has no use for it).
SELECT 1;
