-- One row that the readiness probe (store_writable, GET /readyz) rewrites in its own transaction:
-- a commit that really writes a page, so a read-only file or a full disk shows. n_checks grows on
-- every probe, because a row rewritten with the bytes it already holds is not written at all.
CREATE TABLE store_health (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n_checks INTEGER NOT NULL,
    checked_at INTEGER NOT NULL
);
INSERT INTO store_health(id, n_checks, checked_at) VALUES (1, 0, 0);
