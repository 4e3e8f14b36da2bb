-- Page views and swap misses per account in 5-minute buckets (alert.swap_miss_rate: the share of
-- page views over the last hour where the tracker found no number to swap). Each node counts in
-- memory and adds its counts here about once a minute; buckets older than a day are deleted as
-- new ones are added.
CREATE TABLE traffic_counts (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    bucket_at INTEGER NOT NULL,       -- the bucket's start (Unix ms, a multiple of 5 minutes)
    page_views INTEGER NOT NULL DEFAULT 0,
    swap_misses INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, bucket_at)
);
-- The Google Ads scheduled-import feed of an account (at most one): Google Ads fetches the click
-- file over HTTPS with HTTP Basic credentials of its own (username ext_id, a password stored as
-- its hex SHA-256 like the API keys), never the account's API key.
CREATE TABLE export_feeds (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    ext_id TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
