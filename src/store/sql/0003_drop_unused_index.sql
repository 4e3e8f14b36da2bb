-- opendni schema v3: sessions_visitor (account_id, visitor_id) is read by no query; every visit
-- paid for it with one more index insert on the write path.
DROP INDEX IF EXISTS sessions_visitor;
