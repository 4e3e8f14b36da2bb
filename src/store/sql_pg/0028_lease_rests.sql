-- PostgreSQL 0028: the issue-20 lease policy's rests in the claim (sql/0028 adds leases.signals
-- for SQLite, whose pool engine, core/pool, keeps the rests in memory and rebuilds them from it). core/pool rests a number longer after a holder
-- who tapped or copied it (pool_config_rests_default, pool_rest_for: 3 h after that lease ends,
-- none once a call was credited to the holder); here the same, in O(log n) per claim:
--  - lease_holders.signals (POOL_SIG_* bits noted on the lease) and rest_ms, the rest they earn
--    (core's pool_rest_for, passed in by the server: od_lease_note below); reset by a new lease;
--  - lease_numbers.rest_until: the latest (last activity + rest) of the number's ended holders,
--    moved up once per holder, by the claim's sweep (a holder noted after it was swept, by
--    od_lease_note). A number's key is GREATEST(last_active, rest_until); order_at stays a lower
--    bound of it (both only rise), so the pick is still the first entry of lease_numbers_order
--    whose key is current, and it is free when key + ttl + cooldown <= now. Rests are >= 0 here:
--    a rest that lowered a key would break the lower bound (core's defaults have none).
-- od_lease_claim as in 0025 (the same arguments and columns), with the sweep folding the rests
-- in and the pick ordering by the key; od_lease_note is new.
ALTER TABLE lease_holders ADD COLUMN signals INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN rest_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE lease_numbers ADD COLUMN rest_until BIGINT;

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
    cand_rest BIGINT;
    cand_key BIGINT;
    gone_live BIGINT;
    gone_wait BIGINT;
    n_live BIGINT;
    n_wait BIGINT;
    -- od_lease_trim's arguments and variables (its statements inline use these names)
    p_number BIGINT;
    p_ttl BIGINT;
    n BIGINT;
    life DOUBLE PRECISION;
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
    -- (0028) a holder whose lease ended with a rest (rest_ms, set by od_lease_note) moves its
    -- number's rest_until up to its last activity + rest: once, here, as core/pool's past_note
    WITH sw AS (
        UPDATE lease_holders k SET sweep_at = CASE WHEN k.last_active_at + ttl <= p_now
                                                   THEN NULL ELSE k.last_active_at END
        WHERE k.pool_id = p_pool AND k.sweep_at <= p_now - ttl
        RETURNING k.number_id, k.sweep_at, k.last_active_at, k.rest_ms),
    rs AS (
        UPDATE lease_numbers ln SET rest_until = GREATEST(ln.rest_until, r.until)
        FROM (SELECT sw.number_id, max(sw.last_active_at + sw.rest_ms) AS until FROM sw
              WHERE sw.sweep_at IS NULL AND sw.number_id <> 0 AND sw.rest_ms > 0
              GROUP BY sw.number_id) r
        WHERE ln.number_id = r.number_id AND ln.pool_id = p_pool)
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
        -- (0028) a number's key is its latest activity or its rest_until, the later (NULL:
        -- never leased, never rested); order_at stays a lower bound of it, since both only rise
        LOOP
            SELECT ln.number_id, ln.order_at, ln.last_active, ln.rest_until
              INTO cand, cand_order, cand_active, cand_rest
            FROM lease_numbers ln WHERE ln.pool_id = p_pool
              AND (ln.order_at, ln.number_id) >= (st.lo_key, st.lo_id)
            ORDER BY ln.order_at, ln.number_id LIMIT 1;
            cand_key := GREATEST(cand_active, cand_rest);
            EXIT WHEN cand IS NULL OR COALESCE(cand_key, never) <= cand_order;
            UPDATE lease_numbers ln SET order_at = GREATEST(ln.last_active, ln.rest_until)
            WHERE ln.number_id = cand;
        END LOOP;
        IF cand IS NOT NULL AND (cand_key IS NULL OR cand_key + ttl + cool <= p_now) THEN
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
              SET number_id = 0, leased_at = p_now, last_active_at = p_now, sweep_at = p_now,
                  signals = 0, rest_ms = 0;
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
      SET number_id = pick, leased_at = p_now, last_active_at = p_now, sweep_at = p_now,
          signals = 0, rest_ms = 0;
    INSERT INTO lease_numbers AS n (number_id, pool_id, order_at, last_active, last_session)
    VALUES (pick, p_pool, p_now, p_now, p_session)
    ON CONFLICT ON CONSTRAINT lease_numbers_pkey DO UPDATE
      SET last_active = GREATEST(n.last_active, p_now),
          order_at = GREATEST(n.last_active, p_now), last_session = p_session;
    -- od_lease_trim(p_pool, pick, ttl, p_now), inline (its statements as they are there)
    p_number := pick;
    p_ttl := ttl;
    WITH gone AS (
        DELETE FROM lease_holders h WHERE h.pool_id = p_pool AND h.number_id = p_number
          AND h.last_active_at + p_ttl <= p_now
          AND (p_number = 0 OR h.session_ext NOT IN (
              SELECT k.session_ext FROM lease_holders k
              WHERE k.pool_id = p_pool AND k.number_id = p_number
                AND k.last_active_at + p_ttl <= p_now
              ORDER BY k.last_active_at DESC, k.session_ext LIMIT 4))
        RETURNING h.number_id, h.leased_at, h.last_active_at)
    SELECT count(*) FILTER (WHERE number_id <> 0),
           COALESCE(sum(last_active_at + p_ttl - leased_at) FILTER (WHERE number_id <> 0), 0)
      INTO n, life FROM gone;
    IF n > 0 THEN
        UPDATE lease_pools SET ended_leases = ended_leases + n, ended_life_ms = ended_life_ms + life
        WHERE pool_id = p_pool;
    END IF;
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

-- Notes signals (p_signals, POOL_SIG_* bits) on the session's lease of p_number (its current or
-- latest one, as long as its holder row names that number). p_rests[s + 1] is the rest signal
-- set s earns (core's pool_rest_for). A lease that has not been swept as ended yet keeps the
-- rest for the sweep; one already swept raises rest_until at once (a rest never lowers it, as
-- core's pool_note on a past holder). Serialized with the pool's claims by its lease_pools row.
-- Returns 0, or 1 when the session holds no lease of the number.
CREATE OR REPLACE FUNCTION od_lease_note(p_pool BIGINT, p_session TEXT, p_number BIGINT,
                                         p_signals INTEGER, p_rests BIGINT[], p_now BIGINT)
RETURNS INTEGER LANGUAGE plpgsql AS $$
DECLARE
    st lease_pools;
    swept BIGINT;
    active BIGINT;
    rest BIGINT;
BEGIN
    PERFORM 1 FROM pools p WHERE p.id = p_pool;
    IF NOT FOUND THEN
        RETURN 1;
    END IF;
    st := od_lease_lock(p_pool);
    UPDATE lease_holders k SET signals = k.signals | p_signals,
        rest_ms = GREATEST(COALESCE(p_rests[((k.signals | p_signals) & 7) + 1], 0), 0)
    WHERE k.pool_id = p_pool AND k.session_ext = p_session AND k.number_id = p_number
      AND p_number <> 0
    RETURNING k.sweep_at, k.last_active_at, k.rest_ms INTO swept, active, rest;
    IF NOT FOUND THEN
        RETURN 1;
    END IF;
    IF swept IS NULL AND rest > 0 THEN
        UPDATE lease_numbers ln SET rest_until = GREATEST(ln.rest_until, active + rest)
        WHERE ln.number_id = p_number AND ln.pool_id = p_pool;
    END IF;
    RETURN 0;
END $$;
