-- Rules and calls belong to a location (issue #15; PostgreSQL: the backfill reads the documents as jsonb; docs/routing.md "Locations").
-- rules.location: the ext id of the location a source rule belongs to (NULL = none).
-- calls.location: the ext id of the location the call belongs to, decided once when the call is
-- stored (its number's location, else its pool's, else that of the source rule that sent the
-- credited visit to it); NULL = none. Reports group by the call's routing location when a plan
-- routed it (call_routes.location, which a menu or a geography step may change), else by this.
-- Calls stored before this migration are backfilled from the location documents (route_docs,
-- 0019): the location listing the call's number, else the one listing its pool (the oldest such
-- document when several do, as the server decides it).
ALTER TABLE rules ADD COLUMN location TEXT;
ALTER TABLE calls ADD COLUMN location TEXT;
ALTER TABLE sessions ADD COLUMN location TEXT;
-- conversions.location: the location of the conversion rule that qualified the call (settings
-- conversion.location_id), for a call that belongs to no location otherwise.
ALTER TABLE conversions ADD COLUMN location TEXT;

UPDATE calls SET location = COALESCE(
    (SELECT d.ext_id FROM route_docs d, numbers n
      WHERE d.account_id = calls.account_id AND d.kind = 'location' AND n.id = calls.number_id
        AND n.account_id = calls.account_id AND (d.body::jsonb -> 'numbers') ? n.ext_id
      ORDER BY d.id LIMIT 1),
    (SELECT d.ext_id FROM route_docs d, pools p
      WHERE d.account_id = calls.account_id AND d.kind = 'location' AND p.id = calls.pool_id
        AND p.account_id = calls.account_id AND (d.body::jsonb -> 'pools') ? p.ext_id
      ORDER BY d.id LIMIT 1))
WHERE location IS NULL;
