-- 0026: a session's page views after its landing page (issue #14: the journey's page views).
-- The landing page is the session's own row (sessions.landing_page, created_at); each later page
-- load (POST /v1/visits of a returning session) and each change of the page a ping reports (a
-- single-page app's navigation) adds a row here, seq 1, 2, … per session, at most
-- 199 (the first 200 page views of a session are kept). path is the URL's path (no query, no
-- fragment), title the document's title when the tracker sent one. Rows go with their session
-- (retention purge, erasure) and are written by the group-commit writer in the visit's batch.
CREATE TABLE page_views (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    path TEXT NOT NULL,
    title TEXT,
    at INTEGER NOT NULL,
    UNIQUE (account_id, session_id, seq)
);
CREATE INDEX page_views_account_at ON page_views(account_id, at);
