-- PostgreSQL version of sql/0009_store_health.sql: the same one row that the readiness probe
-- (store_writable, GET /readyz) rewrites in its own transaction; BIGINT for the ms time and the
-- count (SQLite's INTEGER is 64-bit, PostgreSQL's 32-bit).
CREATE TABLE store_health (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n_checks BIGINT NOT NULL,
    checked_at BIGINT NOT NULL
);
INSERT INTO store_health(id, n_checks, checked_at) VALUES (1, 0, 0);
