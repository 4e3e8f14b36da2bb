-- opendni schema v10, PostgreSQL only: a counter of configuration changes (store_config_version).
-- Several nodes serve one database and each caches per-account snapshots (src/app/accounts.c);
-- a node reads this one row a few times a second and drops its snapshots when it moved, so a
-- change made through any node, the CLI or by hand shows everywhere within a second.
-- Statement triggers bump it on the tables the snapshots hold, for the columns they read: the
-- writer's per-lease counter copies (pools.exhaustion_events, peak_concurrent) do not bump it.
CREATE TABLE config_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO config_version(id, version) VALUES (1, 0);

CREATE FUNCTION od_config_changed() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END $$;

CREATE TRIGGER accounts_config AFTER INSERT OR DELETE OR UPDATE OF ext_id ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION od_config_changed();
CREATE TRIGGER account_origins_config AFTER INSERT OR DELETE OR UPDATE ON account_origins
    FOR EACH STATEMENT EXECUTE FUNCTION od_config_changed();
CREATE TRIGGER pools_config AFTER INSERT OR DELETE OR UPDATE OF ext_id, account_id, name, target,
    forward_to, lease_ttl, cooldown, on_exhaust, fallback_number, channel_mask ON pools
    FOR EACH STATEMENT EXECUTE FUNCTION od_config_changed();
CREATE TRIGGER numbers_config AFTER INSERT OR DELETE OR UPDATE OF ext_id, account_id, number,
    pool_id, source, medium, campaign, target, forward_to ON numbers
    FOR EACH STATEMENT EXECUTE FUNCTION od_config_changed();
CREATE TRIGGER rules_config AFTER INSERT OR DELETE OR UPDATE ON rules
    FOR EACH STATEMENT EXECUTE FUNCTION od_config_changed();
