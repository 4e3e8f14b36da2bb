-- PostgreSQL version of sql/0015_traffic.sql: the same table, times and counters as BIGINT.
CREATE TABLE traffic_counts (
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    bucket_at BIGINT NOT NULL,        -- the bucket's start (Unix ms, a multiple of 5 minutes)
    page_views BIGINT NOT NULL DEFAULT 0,
    swap_misses BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, bucket_at)
);
-- The Google Ads scheduled-import feed of an account (see sql/0015_traffic.sql).
CREATE TABLE export_feeds (
    account_id BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    ext_id TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
