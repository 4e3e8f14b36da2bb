-- 0013: nothing for SQLite. The version exists because every store has the same migration
-- versions; its PostgreSQL file (sql_pg/0013_lease_order.sql) adds the ordered index and the
-- counters that make a claim O(log n) there. SQLite's pool engine keeps that state in memory
-- (core/pool), so its schema does not change.
SELECT 1;
