-- 0025: nothing for SQLite. The version exists because every store has the same migration
-- versions; its PostgreSQL file (sql_pg/0025_claim_inline.sql) makes od_lease_claim cheaper.
-- SQLite's pool engine keeps the lease state in memory (core/pool).
SELECT 1;
