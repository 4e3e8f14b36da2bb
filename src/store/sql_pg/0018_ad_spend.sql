-- opendni schema v18, PostgreSQL version of sql/0018_ad_spend.sql: the same table with ids,
-- money and times as BIGINT.
-- Ad spend (issue #18 item 2): what an ad platform charged per day, campaign and keyword, from
-- the platforms' CSV exports (POST /v1/spend). day is the platform's day as written in the file
-- (YYYY-MM-DD); keyword '' is a campaign's spend without a keyword breakdown. cost is in minor
-- units of currency, which is the account's one currency (the app refuses another). A re-import
-- replaces the platform's rows of every day the file holds.
CREATE TABLE ad_spend (
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    platform TEXT NOT NULL CHECK (platform IN ('google_ads', 'microsoft_ads', 'meta')),
    day TEXT NOT NULL,
    campaign TEXT NOT NULL,
    keyword TEXT NOT NULL DEFAULT '',
    cost BIGINT NOT NULL CHECK (cost >= 0),
    currency TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, day, platform, campaign, keyword)
);
-- The funnel and cohort reports read an account's sessions by creation time: the index
-- sessions_account_created that 0016 (retention) made serves them.
-- Whether a call's caller had called the account before it (scores and reports read it
-- instead of looking for an earlier call each time): 1 first-time, 0 repeat, NULL not known
-- (then they look). Filled for the calls stored before this version.
ALTER TABLE calls ADD COLUMN first_caller INTEGER;
UPDATE calls SET first_caller = CASE WHEN EXISTS (SELECT 1 FROM calls e
    WHERE e.account_id = calls.account_id AND e.from_number = calls.from_number AND e.id < calls.id)
    THEN 0 ELSE 1 END;
