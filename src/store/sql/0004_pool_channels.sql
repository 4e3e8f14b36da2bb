-- Pool channels as a typed column: a bit mask of core/classify's channel names (bit i = the i-th
-- name: paid_search 1, organic_search 2, paid_social 4, organic_social 8, email 16, referral 32,
-- display 64, affiliate 128, direct 256, offline 512); NULL = every channel, 0 = none. Replaces
-- the JSON text matched with strstr. Portable SQL (LIKE), so PostgreSQL runs it as it is.
ALTER TABLE pools ADD COLUMN channel_mask INTEGER;
UPDATE pools SET channel_mask =
    (CASE WHEN channels LIKE '%"paid_search"%' THEN 1 ELSE 0 END) +
    (CASE WHEN channels LIKE '%"organic_search"%' THEN 2 ELSE 0 END) +
    (CASE WHEN channels LIKE '%"paid_social"%' THEN 4 ELSE 0 END) +
    (CASE WHEN channels LIKE '%"organic_social"%' THEN 8 ELSE 0 END) +
    (CASE WHEN channels LIKE '%"email"%' THEN 16 ELSE 0 END) +
    (CASE WHEN channels LIKE '%"referral"%' THEN 32 ELSE 0 END) +
    (CASE WHEN channels LIKE '%"display"%' THEN 64 ELSE 0 END) +
    (CASE WHEN channels LIKE '%"affiliate"%' THEN 128 ELSE 0 END) +
    (CASE WHEN channels LIKE '%"direct"%' THEN 256 ELSE 0 END) +
    (CASE WHEN channels LIKE '%"offline"%' THEN 512 ELSE 0 END)
  WHERE channels IS NOT NULL AND channels <> '';
ALTER TABLE pools DROP COLUMN channels;
