-- Rules and calls belong to a location (issue #15; docs/routing.md "Locations").
-- rules.location: the ext id of the location a source rule belongs to (NULL = none).
-- calls.location: the ext id of the location the call belongs to, decided once when the call is
-- stored (its number's location, else its pool's, else that of the source rule that sent the
-- credited visit to it); NULL = none. Reports group by the call's routing location when a plan
-- routed it (call_routes.location, which a menu or a geography step may change), else by this.
-- Calls stored before this migration have no row here to backfill from: a location belongs to
-- its numbers and pools through the location documents (route_docs, 0019), created after this
-- version; the routed ones among them keep their location through call_routes.
ALTER TABLE rules ADD COLUMN location TEXT;
ALTER TABLE calls ADD COLUMN location TEXT;
ALTER TABLE sessions ADD COLUMN location TEXT;
-- conversions.location: the location of the conversion rule that qualified the call (settings
-- conversion.location_id), for a call that belongs to no location otherwise.
ALTER TABLE conversions ADD COLUMN location TEXT;
