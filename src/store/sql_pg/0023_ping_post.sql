-- opendni schema v23, PostgreSQL version of sql/0023_ping_post.sql: the same columns, the price
-- as BIGINT.
ALTER TABLE call_routes ADD COLUMN auction_id TEXT NOT NULL DEFAULT '';
ALTER TABLE call_routes ADD COLUMN bid_id TEXT NOT NULL DEFAULT '';
ALTER TABLE call_routes ADD COLUMN bid_price BIGINT NOT NULL DEFAULT 0;
