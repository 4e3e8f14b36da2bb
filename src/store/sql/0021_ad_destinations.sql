-- opendni schema v21: ad-platform destinations (issue #16 item 5; docs/integrations.md "GA4",
-- "Meta"). Portable SQL, the same on PostgreSQL.
-- platform: 'ga4' (GA4 Measurement Protocol) or 'meta' (Meta Conversions API) for a destination
-- that sends conversions to an ad platform, '' for the formats of 0011 (json, slack, email).
-- 0011's CHECK on format cannot be changed in SQLite without rebuilding the table (which the
-- outbox's foreign key forbids), so an ad-platform row keeps format 'json' and names its
-- platform here; the store reads the platform as the destination's format.
-- last_error: why the destination's latest attempt failed ('' after a success): a credential the
-- platform rejected disables the destination at once and says so here.
ALTER TABLE destinations ADD COLUMN platform TEXT NOT NULL DEFAULT '';
ALTER TABLE destinations ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
