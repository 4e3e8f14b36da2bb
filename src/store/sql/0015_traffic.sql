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
