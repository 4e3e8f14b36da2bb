-- 0028: nothing for SQLite. The version exists because every store has the same migration
-- versions; its PostgreSQL file (sql_pg/0028_lease_rests.sql) adds the issue-20 rests to the
-- claim. SQLite's pool engine keeps them in memory (core/pool: pool_note).
SELECT 1;
