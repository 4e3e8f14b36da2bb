-- PostgreSQL 0013: claims in O(log n) of the pool size, stable under churn (sql/0013 is a no-op:
-- SQLite's pool engine keeps this state in memory).
-- Before: od_lease_claim joined and sorted every number of the pool to find the idle-longest one
-- and counted every live holder of the pool for its peaks: O(pool size) per claim (5-9 ms of
-- PostgreSQL CPU per claim in a 10,000-number pool), under the pool's row lock.
-- Now:
--  - lease_numbers has a row for every pool number (kept by triggers on numbers; a never-leased
--    number has last_active NULL) and an order key, order_at, indexed by (pool, order_at,
--    number): the idle-longest pick is the first entry of that index. The key is set when a
--    claim or a release sets last_active; a renewal raises last_active alone (not indexed, so
--    a HOT update) and leaves the key behind it. order_at <= last_active always, so the first
--    entry whose key is current is the true minimum: a claim that meets a stale first entry
--    moves its key up to last_active and looks again (each renewal costs at most one such
--    move). Never-leased numbers have the smallest key (NEVER) and come first, by id.
--    The scan starts at lease_pools (lo_key, lo_id), the entry the last claim found first:
--    every claim moves its pick's entry to the end, so the index's low end is a run of dead
--    entries (the picks' old versions) that a scan from the start would step over, more each
--    claim until vacuum (measured: PostgreSQL CPU per claim 1.3 -> 4.6 ms over five runs).
--    Every live entry is at or after (lo_key, lo_id); what sets a key lower (a release, a
--    number added or moved) lowers the bound with it.
--  - lease_pools counts the pool's live leases and live waits (live_n, wait_n); each holder
--    row of lease_holders is counted while its sweep_at is set. sweep_at is a lower bound of
--    the row's last_active_at (set at the claim; renewals leave it), indexed (partial, by
--    pool): a claim first sweeps the rows whose sweep_at is a ttl old, uncounting those that
--    ended and moving the others' key up. So the peaks need no count of the pool's holders.
--    A holder row deleted while counted (a release, a number's delete) is uncounted by a
--    trigger.
ALTER TABLE lease_numbers ADD COLUMN pool_id BIGINT, ADD COLUMN order_at BIGINT,
    ALTER COLUMN last_active DROP NOT NULL;
UPDATE lease_numbers ln SET pool_id = n.pool_id, order_at = ln.last_active
FROM numbers n WHERE n.id = ln.number_id;
DELETE FROM lease_numbers WHERE pool_id IS NULL;
INSERT INTO lease_numbers(number_id, pool_id, order_at, last_active, last_session)
SELECT id, pool_id, -9223372036854775807 - 1, NULL, '' FROM numbers WHERE pool_id IS NOT NULL
ON CONFLICT (number_id) DO NOTHING;
ALTER TABLE lease_numbers ALTER COLUMN pool_id SET NOT NULL, ALTER COLUMN order_at SET NOT NULL;
CREATE INDEX lease_numbers_order ON lease_numbers(pool_id, order_at, number_id);
ALTER TABLE lease_pools ADD COLUMN lo_key BIGINT NOT NULL DEFAULT -9223372036854775807 - 1,
    ADD COLUMN lo_id BIGINT NOT NULL DEFAULT 0;

-- A pool number's lease state row: created with the number, reset when it changes pool (the
-- move forgets its lease state, as core's pool_remove_number), gone when it leaves the pools.
CREATE FUNCTION od_numbers_lease_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.pool_id IS NULL THEN
        DELETE FROM lease_numbers WHERE number_id = NEW.id;
    ELSE
        INSERT INTO lease_numbers AS ln (number_id, pool_id, order_at, last_active, last_session)
        VALUES (NEW.id, NEW.pool_id, -9223372036854775807 - 1, NULL, '')
        ON CONFLICT (number_id) DO UPDATE SET pool_id = excluded.pool_id,
            order_at = excluded.order_at, last_active = NULL, last_session = '';
        UPDATE lease_pools SET lo_key = -9223372036854775807 - 1, lo_id = NEW.id
        WHERE pool_id = NEW.pool_id AND (lo_key, lo_id) > (-9223372036854775807 - 1, NEW.id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER numbers_lease_row_ins AFTER INSERT ON numbers
    FOR EACH ROW WHEN (NEW.pool_id IS NOT NULL) EXECUTE FUNCTION od_numbers_lease_row();
CREATE TRIGGER numbers_lease_row_upd AFTER UPDATE OF pool_id ON numbers
    FOR EACH ROW WHEN (OLD.pool_id IS DISTINCT FROM NEW.pool_id)
    EXECUTE FUNCTION od_numbers_lease_row();

ALTER TABLE lease_holders ADD COLUMN sweep_at BIGINT;
UPDATE lease_holders SET sweep_at = last_active_at;
CREATE INDEX lease_holders_sweep ON lease_holders(pool_id, sweep_at) WHERE sweep_at IS NOT NULL;
ALTER TABLE lease_pools ADD COLUMN live_n BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN wait_n BIGINT NOT NULL DEFAULT 0;
UPDATE lease_pools st SET live_n = c.live, wait_n = c.wait
FROM (SELECT pool_id, count(*) FILTER (WHERE number_id <> 0) AS live,
             count(*) FILTER (WHERE number_id = 0) AS wait
      FROM lease_holders GROUP BY pool_id) c
WHERE c.pool_id = st.pool_id;

-- A counted holder row deleted: uncount it.
CREATE FUNCTION od_lease_holder_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE lease_pools SET live_n = live_n - CASE WHEN OLD.number_id <> 0 THEN 1 ELSE 0 END,
                           wait_n = wait_n - CASE WHEN OLD.number_id = 0 THEN 1 ELSE 0 END
    WHERE pool_id = OLD.pool_id;
    RETURN NULL;
END $$;
CREATE TRIGGER lease_holders_gone AFTER DELETE ON lease_holders
    FOR EACH ROW WHEN (OLD.sweep_at IS NOT NULL) EXECUTE FUNCTION od_lease_holder_gone();

-- od_lease_claim as in 0001 (the same policy, arguments and columns), over the order key and
-- the counters.
CREATE OR REPLACE FUNCTION od_lease_claim(p_pool BIGINT, p_session TEXT, p_prev BIGINT,
                               p_now BIGINT, p_touch BOOLEAN, p_async BOOLEAN,
                               OUT rc INTEGER, OUT number_id BIGINT, OUT number TEXT,
                               OUT flags INTEGER, OUT leased_at BIGINT, OUT expires_at BIGINT,
                               OUT exhaustion_events BIGINT, OUT peak_concurrent BIGINT,
                               OUT u_session BIGINT, OUT u_idle BIGINT,
                               OUT u_peak_concurrent BIGINT, OUT u_peak_demand BIGINT,
                               OUT u_was_waiting BOOLEAN, OUT u_wait_leased BIGINT,
                               OUT u_wait_active BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    never CONSTANT BIGINT := -9223372036854775807 - 1;
    ttl BIGINT;
    cool BIGINT;
    fallback BOOLEAN;
    st lease_pools;
    h lease_holders;
    had BOOLEAN;
    pick BIGINT;
    pick_active BIGINT;
    cand BIGINT;
    cand_order BIGINT;
    cand_active BIGINT;
    gone_live BIGINT;
    gone_wait BIGINT;
    n_live BIGINT;
    n_wait BIGINT;
BEGIN
    IF p_async THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    rc := 0; number_id := 0; number := ''; flags := 0; leased_at := 0; expires_at := 0;
    u_session := hashtextextended(p_session, 0); u_was_waiting := false;
    u_wait_leased := 0; u_wait_active := 0;
    SELECT p.lease_ttl * 1000, p.cooldown * 1000, p.on_exhaust = 'fallback'
      INTO ttl, cool, fallback FROM pools p WHERE p.id = p_pool;
    IF NOT FOUND THEN
        rc := 1;
        RETURN;
    END IF;
    ttl := GREATEST(ttl, 1);
    cool := GREATEST(cool, 0);
    SELECT * INTO st FROM lease_pools WHERE pool_id = p_pool FOR UPDATE;
    IF NOT FOUND THEN
        st := od_lease_lock(p_pool); -- the pool's first claim: creates the row
    END IF;
    p_now := GREATEST(p_now, st.clock_at);
    exhaustion_events := st.exhaustion_events;
    peak_concurrent := st.peak_concurrent;
    u_peak_concurrent := st.peak_concurrent;
    u_peak_demand := st.peak_demand;
    -- 0. the sweep: holder rows whose key is a ttl old ended (uncounted) or were renewed (key
    -- moved up); every row still counted after it is live at p_now
    WITH sw AS (
        UPDATE lease_holders k SET sweep_at = CASE WHEN k.last_active_at + ttl <= p_now
                                                   THEN NULL ELSE k.last_active_at END
        WHERE k.pool_id = p_pool AND k.sweep_at <= p_now - ttl
        RETURNING k.number_id, k.sweep_at)
    SELECT count(*) FILTER (WHERE sw.sweep_at IS NULL AND sw.number_id <> 0),
           count(*) FILTER (WHERE sw.sweep_at IS NULL AND sw.number_id = 0)
      INTO gone_live, gone_wait FROM sw;
    n_live := st.live_n - gone_live;
    n_wait := st.wait_n - gone_wait;
    SELECT * INTO h FROM lease_holders k WHERE k.pool_id = p_pool AND k.session_ext = p_session;
    had := FOUND;
    -- 1. a live lease: renew it
    IF had AND h.number_id <> 0 AND h.last_active_at + ttl > p_now THEN
        UPDATE lease_holders k SET last_active_at = p_now
        WHERE k.pool_id = p_pool AND k.session_ext = p_session;
        UPDATE lease_numbers n SET last_active = GREATEST(n.last_active, p_now),
                                   last_session = p_session
        WHERE n.number_id = h.number_id;
        UPDATE lease_pools SET clock_at = GREATEST(clock_at, p_now),
            live_n = live_n - gone_live, wait_n = wait_n - gone_wait
        WHERE pool_id = p_pool AND (clock_at < p_now OR gone_live + gone_wait > 0);
        flags := 2;
        IF EXISTS (SELECT 1 FROM lease_holders k WHERE k.pool_id = p_pool
                   AND k.number_id = h.number_id AND k.session_ext <> p_session
                   AND k.last_active_at + ttl > p_now) THEN
            flags := flags | 16;
        END IF;
        number_id := h.number_id;
        leased_at := h.leased_at;
        expires_at := p_now + ttl;
        SELECT n.number INTO number FROM numbers n WHERE n.id = h.number_id;
        RETURN;
    END IF;
    IF p_touch THEN
        IF gone_live + gone_wait > 0 THEN
            UPDATE lease_pools SET live_n = live_n - gone_live, wait_n = wait_n - gone_wait
            WHERE pool_id = p_pool;
        END IF;
        rc := 1;
        RETURN;
    END IF;
    -- 2. a returning session gets its number back if no one used it since
    IF p_prev <> 0 THEN
        SELECT n.id INTO pick FROM numbers n JOIN lease_numbers ln ON ln.number_id = n.id
        WHERE n.id = p_prev AND n.pool_id = p_pool AND ln.last_session = p_session
          AND ln.last_active + ttl <= p_now;
        IF pick IS NOT NULL THEN
            flags := 1 | 4;
        END IF;
    END IF;
    -- 3. the free number idle longest (never used first, then least recently active): the
    -- first entry of the order index whose key is current
    IF pick IS NULL THEN
        LOOP
            SELECT ln.number_id, ln.order_at, ln.last_active INTO cand, cand_order, cand_active
            FROM lease_numbers ln WHERE ln.pool_id = p_pool
              AND (ln.order_at, ln.number_id) >= (st.lo_key, st.lo_id)
            ORDER BY ln.order_at, ln.number_id LIMIT 1;
            EXIT WHEN cand IS NULL OR COALESCE(cand_active, never) <= cand_order;
            UPDATE lease_numbers ln SET order_at = ln.last_active WHERE ln.number_id = cand;
        END LOOP;
        IF cand IS NOT NULL AND (cand_active IS NULL OR cand_active + ttl + cool <= p_now) THEN
            pick := cand;
            flags := 1;
        END IF;
    END IF;
    -- the session's previous lease in this pool ended: its life counts once, here; a live wait
    -- it replaces is what a release restores
    IF had AND h.number_id <> 0 THEN
        UPDATE lease_pools SET ended_leases = ended_leases + 1,
            ended_life_ms = ended_life_ms + (h.last_active_at + ttl - h.leased_at)
        WHERE pool_id = p_pool;
    ELSIF had AND h.last_active_at + ttl > p_now THEN
        u_was_waiting := true;
        u_wait_leased := h.leased_at;
        u_wait_active := h.last_active_at;
    END IF;
    -- 4. exhausted: share the number whose latest activity is oldest (the same first entry),
    -- or turn the session away
    IF pick IS NULL THEN
        exhaustion_events := exhaustion_events + 1;
        flags := 8;
        IF NOT fallback THEN
            pick := cand;
            pick_active := cand_active;
        END IF;
        IF pick IS NULL THEN
            INSERT INTO lease_holders AS k VALUES (p_pool, p_session, 0, p_now, p_now, p_now)
            ON CONFLICT (pool_id, session_ext) DO UPDATE
              SET number_id = 0, leased_at = p_now, last_active_at = p_now, sweep_at = p_now;
            PERFORM od_lease_trim(p_pool, 0, ttl, p_now);
            IF NOT u_was_waiting THEN
                n_wait := n_wait + 1;
            END IF;
            UPDATE lease_pools SET clock_at = GREATEST(clock_at, p_now),
                exhaustion_events = lease_pools.exhaustion_events + 1,
                peak_demand = GREATEST(peak_demand, n_live + n_wait),
                live_n = n_live, wait_n = n_wait,
                lo_key = COALESCE(cand_order, lo_key), lo_id = COALESCE(cand, lo_id)
            WHERE pool_id = p_pool;
            rc := 2;
            leased_at := p_now;
            RETURN;
        END IF;
        flags := flags | 1;
        IF pick_active IS NOT NULL AND pick_active + ttl > p_now THEN
            flags := flags | 16;
        END IF;
    END IF;
    IF pick = cand THEN
        u_idle := cand_active;
    ELSE
        SELECT ln.last_active INTO u_idle FROM lease_numbers ln WHERE ln.number_id = pick;
    END IF;
    INSERT INTO lease_holders AS k VALUES (p_pool, p_session, pick, p_now, p_now, p_now)
    ON CONFLICT (pool_id, session_ext) DO UPDATE
      SET number_id = pick, leased_at = p_now, last_active_at = p_now, sweep_at = p_now;
    INSERT INTO lease_numbers AS n (number_id, pool_id, order_at, last_active, last_session)
    VALUES (pick, p_pool, p_now, p_now, p_session)
    ON CONFLICT ON CONSTRAINT lease_numbers_pkey DO UPDATE
      SET last_active = GREATEST(n.last_active, p_now),
          order_at = GREATEST(n.last_active, p_now), last_session = p_session;
    PERFORM od_lease_trim(p_pool, pick, ttl, p_now);
    n_live := n_live + 1;
    IF u_was_waiting THEN
        n_wait := n_wait - 1;
    END IF;
    UPDATE lease_pools SET clock_at = GREATEST(clock_at, p_now),
        exhaustion_events = exhaustion_events + CASE WHEN flags & 8 <> 0 THEN 1 ELSE 0 END,
        peak_concurrent = GREATEST(lease_pools.peak_concurrent, n_live),
        peak_demand = GREATEST(peak_demand, n_live + n_wait),
        live_n = n_live, wait_n = n_wait,
        lo_key = COALESCE(cand_order, lo_key), lo_id = COALESCE(cand, lo_id)
    WHERE pool_id = p_pool;
    peak_concurrent := GREATEST(peak_concurrent, n_live);
    number_id := pick;
    leased_at := p_now;
    expires_at := p_now + ttl;
    SELECT n.number INTO number FROM numbers n WHERE n.id = pick;
END $$;

-- od_lease_release as in 0001, keeping the order key and the counters: the number's state
-- row stays (never leased again: last_active NULL), a restored wait is counted again.
CREATE OR REPLACE FUNCTION od_lease_release(p_pool BIGINT, p_session BIGINT, p_number BIGINT,
                                 p_leased BIGINT, p_idle BIGINT, p_exhausted BOOLEAN,
                                 p_peak_concurrent BIGINT, p_peak_demand BIGINT,
                                 p_was_waiting BOOLEAN, p_wait_leased BIGINT,
                                 p_wait_active BIGINT, p_now BIGINT)
RETURNS INTEGER LANGUAGE plpgsql AS $$
DECLARE
    never CONSTANT BIGINT := -9223372036854775807 - 1;
    ttl BIGINT;
    st lease_pools;
    who TEXT;
    other_active BIGINT;
    other_session TEXT;
    new_key BIGINT := NULL;
BEGIN
    SELECT GREATEST(p.lease_ttl * 1000, 1) INTO ttl FROM pools p WHERE p.id = p_pool;
    IF NOT FOUND THEN
        RETURN 1;
    END IF;
    st := od_lease_lock(p_pool);
    p_now := GREATEST(p_now, st.clock_at);
    SELECT k.session_ext INTO who FROM lease_holders k
    WHERE k.pool_id = p_pool AND k.number_id = p_number AND k.leased_at = p_leased
      AND hashtextextended(k.session_ext, 0) = p_session AND k.last_active_at + ttl > p_now;
    IF NOT FOUND THEN
        RETURN 1;
    END IF;
    IF p_was_waiting AND p_wait_active + ttl > p_now THEN
        -- the row, counted as a lease (or a wait), is counted as a wait again
        UPDATE lease_holders k SET number_id = 0, leased_at = p_wait_leased,
                                   last_active_at = p_wait_active, sweep_at = p_wait_active
        WHERE k.pool_id = p_pool AND k.session_ext = who;
        IF p_number <> 0 THEN
            UPDATE lease_pools SET live_n = live_n - 1, wait_n = wait_n + 1
            WHERE pool_id = p_pool;
        END IF;
    ELSE
        DELETE FROM lease_holders k WHERE k.pool_id = p_pool AND k.session_ext = who;
    END IF;
    IF p_number <> 0 THEN
        SELECT k.last_active_at, k.session_ext INTO other_active, other_session
        FROM lease_holders k WHERE k.pool_id = p_pool AND k.number_id = p_number
        ORDER BY k.last_active_at DESC, k.session_ext LIMIT 1;
        new_key := COALESCE(GREATEST(p_idle, other_active), never);
        UPDATE lease_numbers n SET last_active = GREATEST(p_idle, other_active),
            order_at = new_key,
            last_session = CASE WHEN other_active >= COALESCE(p_idle, other_active)
                                THEN other_session ELSE '' END
        WHERE n.number_id = p_number;
    END IF;
    UPDATE lease_pools SET clock_at = GREATEST(clock_at, p_now),
        exhaustion_events = exhaustion_events
                            - CASE WHEN p_exhausted AND exhaustion_events > 0 THEN 1 ELSE 0 END,
        peak_concurrent = CASE WHEN p_number <> 0 AND peak_concurrent > p_peak_concurrent
                               THEN GREATEST(peak_concurrent - 1, p_peak_concurrent)
                               ELSE peak_concurrent END,
        peak_demand = CASE WHEN NOT p_was_waiting AND peak_demand > p_peak_demand
                           THEN GREATEST(peak_demand - 1, p_peak_demand) ELSE peak_demand END,
        lo_key = CASE WHEN (new_key, p_number) < (lo_key, lo_id) THEN new_key ELSE lo_key END,
        lo_id = CASE WHEN (new_key, p_number) < (lo_key, lo_id) THEN p_number ELSE lo_id END
    WHERE pool_id = p_pool;
    RETURN 0;
END $$;

