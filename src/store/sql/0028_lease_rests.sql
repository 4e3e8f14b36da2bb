-- 0028 (SQLite): the signals noted on a lease (store_lease_note: POOL_SIG_* bits, a tap or copy,
-- a credited call), so that the pool engine, rebuilt from the tables when serving begins, rests
-- its numbers as before the restart. SQLite's engine keeps the rests in memory (core/pool); the
-- PostgreSQL file of this version (sql_pg/0028_lease_rests.sql) keeps them in its lease tables.
ALTER TABLE leases ADD COLUMN signals INTEGER NOT NULL DEFAULT 0;
