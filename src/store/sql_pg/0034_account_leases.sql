-- PostgreSQL 0034: the account id on the lease state, leases and events (issue 11 point 2, the
-- Citus rule: every statement on account data filters by the distribution column). sql/0034 is
-- a no-op: SQLite is one node, and its lease engine keeps the lease state in memory (core/pool).
--  - lease_pools, lease_numbers, lease_holders, leases and events get account_id, backfilled
--    from their pool, number or session, NOT NULL.
--  - The lease state's primary keys end with it: (pool_id, account_id), (number_id,
--    account_id), (pool_id, session_ext, account_id). Citus enforces a unique constraint (and an
--    ON CONFLICT target) only when it holds the distribution column; the claim's upserts name
--    these keys. Last, not first: the keys' leading columns stay the ones the claim's lookups
--    use, so the planner picks the indexes it picked before. With account_id first, (account_id,
--    pool_id) was a longer match than the partial sweep index's (pool_id) and the claim's sweep
--    and trim went through the primary key, every holder row of the pool (1,562 buffers per
--    claim on the PG visit bench, against 2). lease_holders' two other indexes get account_id
--    last too (below); the rest stay as they were (a non-unique index needs no distribution
--    column; the account filter is a recheck of the row the index already found).
--  - leases and events keep their identity primary key (id), as every other account table does
--    (sessions, calls, ...): those become (account_id, id) together, when the tables are
--    distributed (docs/scaling.md, "Distributed PostgreSQL").
--  - od_lease_lock, _trim, _claim, _release, _note and od_pool_stats take the account id first
--    (p_account) and filter every statement by it; the trigger functions filter by the row's
--    own account id. The old signatures are dropped.
-- Order: the old functions go first (nothing can call them half-migrated: every version runs
-- in one transaction), then the columns, then the new functions.
DROP FUNCTION od_lease_claim(BIGINT, TEXT, BIGINT, BIGINT, BOOLEAN, BOOLEAN);
DROP FUNCTION od_lease_release(BIGINT, BIGINT, BIGINT, BIGINT, BIGINT, BOOLEAN, BIGINT, BIGINT,
                               BOOLEAN, BIGINT, BIGINT, BIGINT);
DROP FUNCTION od_lease_note(BIGINT, TEXT, BIGINT, INTEGER, BIGINT[], BIGINT);
DROP FUNCTION od_lease_trim(BIGINT, BIGINT, BIGINT, BIGINT);
DROP FUNCTION od_pool_stats(BIGINT, BIGINT);
-- od_lease_lock returns a lease_pools row: dropped before that row type gains a column
DROP FUNCTION od_lease_lock(BIGINT);

ALTER TABLE lease_pools ADD COLUMN account_id BIGINT;
UPDATE lease_pools st SET account_id = p.account_id FROM pools p WHERE p.id = st.pool_id;
ALTER TABLE lease_pools ALTER COLUMN account_id SET NOT NULL,
    DROP CONSTRAINT lease_pools_pkey, ADD CONSTRAINT lease_pools_pkey PRIMARY KEY (pool_id, account_id);

ALTER TABLE lease_numbers ADD COLUMN account_id BIGINT;
UPDATE lease_numbers ln SET account_id = n.account_id FROM numbers n WHERE n.id = ln.number_id;
ALTER TABLE lease_numbers ALTER COLUMN account_id SET NOT NULL,
    DROP CONSTRAINT lease_numbers_pkey,
    ADD CONSTRAINT lease_numbers_pkey PRIMARY KEY (number_id, account_id);

ALTER TABLE lease_holders ADD COLUMN account_id BIGINT;
UPDATE lease_holders k SET account_id = p.account_id FROM pools p WHERE p.id = k.pool_id;
ALTER TABLE lease_holders ALTER COLUMN account_id SET NOT NULL,
    DROP CONSTRAINT lease_holders_pkey,
    ADD CONSTRAINT lease_holders_pkey PRIMARY KEY (pool_id, session_ext, account_id);
-- The claim's sweep and trim read lease_holders by these two indexes. Each statement now also
-- names account_id, which the primary key holds: an index without it matches fewer of the
-- statement's conditions than the key, and the plans made while the table is small (before its
-- first ANALYZE, as on a fresh database under load) took the key, reading every holder row of
-- the pool per claim (4,416 buffers against 2 at 20,000 holders). With account_id last here
-- too, each still matches more conditions than the key.
DROP INDEX lease_holders_sweep;
CREATE INDEX lease_holders_sweep ON lease_holders(pool_id, sweep_at, account_id)
    WHERE sweep_at IS NOT NULL;
DROP INDEX lease_holders_number;
CREATE INDEX lease_holders_number ON lease_holders(pool_id, number_id, account_id);

ALTER TABLE leases ADD COLUMN account_id BIGINT;
UPDATE leases l SET account_id = s.account_id FROM sessions s WHERE s.id = l.session_id;
ALTER TABLE leases ALTER COLUMN account_id SET NOT NULL;

ALTER TABLE events ADD COLUMN account_id BIGINT;
UPDATE events e SET account_id = s.account_id FROM sessions s WHERE s.id = e.session_id;
ALTER TABLE events ALTER COLUMN account_id SET NOT NULL;

-- The functions of sql_pg/0001, 0013, 0025 and 0028, with the account id.

CREATE FUNCTION od_lease_lock(p_account BIGINT, p_pool BIGINT) RETURNS lease_pools LANGUAGE plpgsql AS $$
DECLARE
    st lease_pools;
BEGIN
    SELECT * INTO st FROM lease_pools WHERE account_id = p_account AND pool_id = p_pool FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO lease_pools(account_id, pool_id) VALUES (p_account, p_pool) ON CONFLICT DO NOTHING;
        SELECT * INTO st FROM lease_pools WHERE account_id = p_account AND pool_id = p_pool FOR UPDATE;
    END IF;
    RETURN st;
END $$;

CREATE FUNCTION od_lease_trim(p_account BIGINT, p_pool BIGINT, p_number BIGINT, p_ttl BIGINT, p_now BIGINT)
RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    n BIGINT;
    life DOUBLE PRECISION;
BEGIN
    WITH gone AS (
        DELETE FROM lease_holders h WHERE h.account_id = p_account AND h.pool_id = p_pool
          AND h.number_id = p_number
          AND h.last_active_at + p_ttl <= p_now
          AND (p_number = 0 OR h.session_ext NOT IN (
              SELECT k.session_ext FROM lease_holders k
              WHERE k.account_id = p_account AND k.pool_id = p_pool AND k.number_id = p_number
                AND k.last_active_at + p_ttl <= p_now
              ORDER BY k.last_active_at DESC, k.session_ext LIMIT 4))
        RETURNING h.number_id, h.leased_at, h.last_active_at)
    SELECT count(*) FILTER (WHERE number_id <> 0),
           COALESCE(sum(last_active_at + p_ttl - leased_at) FILTER (WHERE number_id <> 0), 0)
      INTO n, life FROM gone;
    IF n > 0 THEN
        UPDATE lease_pools SET ended_leases = ended_leases + n, ended_life_ms = ended_life_ms + life
        WHERE account_id = p_account AND pool_id = p_pool;
    END IF;
END $$;

CREATE FUNCTION od_lease_claim(p_account BIGINT, p_pool BIGINT, p_session TEXT, p_prev BIGINT,
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
      INTO ttl, cool, fallback FROM pools p WHERE p.account_id = p_account AND p.id = p_pool;
    IF NOT FOUND THEN
        rc := 1;
        RETURN;
    END IF;
    ttl := GREATEST(ttl, 1);
    cool := GREATEST(cool, 0);
    SELECT * INTO st FROM lease_pools WHERE account_id = p_account AND pool_id = p_pool FOR UPDATE;
    IF NOT FOUND THEN
        st := od_lease_lock(p_account, p_pool); -- the pool's first claim: creates the row
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
        WHERE k.account_id = p_account AND k.pool_id = p_pool AND k.sweep_at <= p_now - ttl
        RETURNING k.number_id, k.sweep_at, k.last_active_at, k.rest_ms),
    rs AS (
        UPDATE lease_numbers ln SET rest_until = GREATEST(ln.rest_until, r.until)
        FROM (SELECT sw.number_id, max(sw.last_active_at + sw.rest_ms) AS until FROM sw
              WHERE sw.sweep_at IS NULL AND sw.number_id <> 0 AND sw.rest_ms > 0
              GROUP BY sw.number_id) r
        WHERE ln.account_id = p_account AND ln.number_id = r.number_id AND ln.pool_id = p_pool)
    SELECT count(*) FILTER (WHERE sw.sweep_at IS NULL AND sw.number_id <> 0),
           count(*) FILTER (WHERE sw.sweep_at IS NULL AND sw.number_id = 0)
      INTO gone_live, gone_wait FROM sw;
    n_live := st.live_n - gone_live;
    n_wait := st.wait_n - gone_wait;
    SELECT * INTO h FROM lease_holders k
    WHERE k.account_id = p_account AND k.pool_id = p_pool AND k.session_ext = p_session;
    had := FOUND;
    -- 1. a live lease: renew it
    IF had AND h.number_id <> 0 AND h.last_active_at + ttl > p_now THEN
        UPDATE lease_holders k SET last_active_at = p_now
        WHERE k.account_id = p_account AND k.pool_id = p_pool AND k.session_ext = p_session;
        UPDATE lease_numbers n SET last_active = GREATEST(n.last_active, p_now),
                                   last_session = p_session
        WHERE n.account_id = p_account AND n.number_id = h.number_id;
        UPDATE lease_pools SET clock_at = GREATEST(clock_at, p_now),
            live_n = live_n - gone_live, wait_n = wait_n - gone_wait
        WHERE account_id = p_account AND pool_id = p_pool AND (clock_at < p_now OR gone_live + gone_wait > 0);
        flags := 2;
        IF EXISTS (SELECT 1 FROM lease_holders k WHERE k.account_id = p_account AND k.pool_id = p_pool
                   AND k.number_id = h.number_id AND k.session_ext <> p_session
                   AND k.last_active_at + ttl > p_now) THEN
            flags := flags | 16;
        END IF;
        number_id := h.number_id;
        leased_at := h.leased_at;
        expires_at := p_now + ttl;
        SELECT n.number INTO number FROM numbers n
        WHERE n.account_id = p_account AND n.id = h.number_id;
        RETURN;
    END IF;
    IF p_touch THEN
        IF gone_live + gone_wait > 0 THEN
            UPDATE lease_pools SET live_n = live_n - gone_live, wait_n = wait_n - gone_wait
            WHERE account_id = p_account AND pool_id = p_pool;
        END IF;
        rc := 1;
        RETURN;
    END IF;
    -- 2. a returning session gets its number back if no one used it since
    IF p_prev <> 0 THEN
        SELECT n.id INTO pick FROM numbers n JOIN lease_numbers ln ON ln.number_id = n.id
        WHERE n.account_id = p_account AND ln.account_id = p_account AND n.id = p_prev
          AND n.pool_id = p_pool AND ln.last_session = p_session
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
            FROM lease_numbers ln WHERE ln.account_id = p_account AND ln.pool_id = p_pool
              AND (ln.order_at, ln.number_id) >= (st.lo_key, st.lo_id)
            ORDER BY ln.order_at, ln.number_id LIMIT 1;
            cand_key := GREATEST(cand_active, cand_rest);
            EXIT WHEN cand IS NULL OR COALESCE(cand_key, never) <= cand_order;
            UPDATE lease_numbers ln SET order_at = GREATEST(ln.last_active, ln.rest_until)
            WHERE ln.account_id = p_account AND ln.number_id = cand;
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
        WHERE account_id = p_account AND pool_id = p_pool;
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
            INSERT INTO lease_holders AS k (account_id, pool_id, session_ext, number_id,
                                            leased_at, last_active_at, sweep_at)
            VALUES (p_account, p_pool, p_session, 0, p_now, p_now, p_now)
            ON CONFLICT (account_id, pool_id, session_ext) DO UPDATE
              SET number_id = 0, leased_at = p_now, last_active_at = p_now, sweep_at = p_now,
                  signals = 0, rest_ms = 0;
            PERFORM od_lease_trim(p_account, p_pool, 0, ttl, p_now);
            IF NOT u_was_waiting THEN
                n_wait := n_wait + 1;
            END IF;
            UPDATE lease_pools SET clock_at = GREATEST(clock_at, p_now),
                exhaustion_events = lease_pools.exhaustion_events + 1,
                peak_demand = GREATEST(peak_demand, n_live + n_wait),
                live_n = n_live, wait_n = n_wait,
                lo_key = COALESCE(cand_order, lo_key), lo_id = COALESCE(cand, lo_id)
            WHERE account_id = p_account AND pool_id = p_pool;
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
        SELECT ln.last_active INTO u_idle FROM lease_numbers ln
        WHERE ln.account_id = p_account AND ln.number_id = pick;
    END IF;
    INSERT INTO lease_holders AS k (account_id, pool_id, session_ext, number_id, leased_at,
                                    last_active_at, sweep_at)
    VALUES (p_account, p_pool, p_session, pick, p_now, p_now, p_now)
    ON CONFLICT (account_id, pool_id, session_ext) DO UPDATE
      SET number_id = pick, leased_at = p_now, last_active_at = p_now, sweep_at = p_now,
          signals = 0, rest_ms = 0;
    INSERT INTO lease_numbers AS n (account_id, number_id, pool_id, order_at, last_active,
                                    last_session)
    VALUES (p_account, pick, p_pool, p_now, p_now, p_session)
    ON CONFLICT (account_id, number_id) DO UPDATE
      SET last_active = GREATEST(n.last_active, p_now),
          order_at = GREATEST(n.last_active, p_now), last_session = p_session;
    -- od_lease_trim(p_account, p_pool, pick, ttl, p_now), inline (its statements as they are there)
    p_number := pick;
    p_ttl := ttl;
    WITH gone AS (
        DELETE FROM lease_holders h WHERE h.account_id = p_account AND h.pool_id = p_pool
          AND h.number_id = p_number
          AND h.last_active_at + p_ttl <= p_now
          AND (p_number = 0 OR h.session_ext NOT IN (
              SELECT k.session_ext FROM lease_holders k
              WHERE k.account_id = p_account AND k.pool_id = p_pool AND k.number_id = p_number
                AND k.last_active_at + p_ttl <= p_now
              ORDER BY k.last_active_at DESC, k.session_ext LIMIT 4))
        RETURNING h.number_id, h.leased_at, h.last_active_at)
    SELECT count(*) FILTER (WHERE number_id <> 0),
           COALESCE(sum(last_active_at + p_ttl - leased_at) FILTER (WHERE number_id <> 0), 0)
      INTO n, life FROM gone;
    IF n > 0 THEN
        UPDATE lease_pools SET ended_leases = ended_leases + n, ended_life_ms = ended_life_ms + life
        WHERE account_id = p_account AND pool_id = p_pool;
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
    WHERE account_id = p_account AND pool_id = p_pool;
    peak_concurrent := GREATEST(peak_concurrent, n_live);
    number_id := pick;
    leased_at := p_now;
    expires_at := p_now + ttl;
    SELECT n.number INTO number FROM numbers n WHERE n.account_id = p_account AND n.id = pick;
END $$;

CREATE FUNCTION od_lease_release(p_account BIGINT, p_pool BIGINT, p_session BIGINT, p_number BIGINT,
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
    SELECT GREATEST(p.lease_ttl * 1000, 1) INTO ttl FROM pools p WHERE p.account_id = p_account AND p.id = p_pool;
    IF NOT FOUND THEN
        RETURN 1;
    END IF;
    st := od_lease_lock(p_account, p_pool);
    p_now := GREATEST(p_now, st.clock_at);
    SELECT k.session_ext INTO who FROM lease_holders k
    WHERE k.account_id = p_account AND k.pool_id = p_pool AND k.number_id = p_number
      AND k.leased_at = p_leased
      AND hashtextextended(k.session_ext, 0) = p_session AND k.last_active_at + ttl > p_now;
    IF NOT FOUND THEN
        RETURN 1;
    END IF;
    IF p_was_waiting AND p_wait_active + ttl > p_now THEN
        -- the row, counted as a lease (or a wait), is counted as a wait again
        UPDATE lease_holders k SET number_id = 0, leased_at = p_wait_leased,
                                   last_active_at = p_wait_active, sweep_at = p_wait_active
        WHERE k.account_id = p_account AND k.pool_id = p_pool AND k.session_ext = who;
        IF p_number <> 0 THEN
            UPDATE lease_pools SET live_n = live_n - 1, wait_n = wait_n + 1
            WHERE account_id = p_account AND pool_id = p_pool;
        END IF;
    ELSE
        DELETE FROM lease_holders k
        WHERE k.account_id = p_account AND k.pool_id = p_pool AND k.session_ext = who;
    END IF;
    IF p_number <> 0 THEN
        SELECT k.last_active_at, k.session_ext INTO other_active, other_session
        FROM lease_holders k
        WHERE k.account_id = p_account AND k.pool_id = p_pool AND k.number_id = p_number
        ORDER BY k.last_active_at DESC, k.session_ext LIMIT 1;
        new_key := COALESCE(GREATEST(p_idle, other_active), never);
        UPDATE lease_numbers n SET last_active = GREATEST(p_idle, other_active),
            order_at = new_key,
            last_session = CASE WHEN other_active >= COALESCE(p_idle, other_active)
                                THEN other_session ELSE '' END
        WHERE n.account_id = p_account AND n.number_id = p_number;
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
    WHERE account_id = p_account AND pool_id = p_pool;
    RETURN 0;
END $$;


CREATE FUNCTION od_lease_note(p_account BIGINT, p_pool BIGINT, p_session TEXT, p_number BIGINT,
                                         p_signals INTEGER, p_rests BIGINT[], p_now BIGINT)
RETURNS INTEGER LANGUAGE plpgsql AS $$
DECLARE
    st lease_pools;
    swept BIGINT;
    active BIGINT;
    rest BIGINT;
BEGIN
    PERFORM 1 FROM pools p WHERE p.account_id = p_account AND p.id = p_pool;
    IF NOT FOUND THEN
        RETURN 1;
    END IF;
    st := od_lease_lock(p_account, p_pool);
    UPDATE lease_holders k SET signals = k.signals | p_signals,
        rest_ms = GREATEST(COALESCE(p_rests[((k.signals | p_signals) & 7) + 1], 0), 0)
    WHERE k.account_id = p_account AND k.pool_id = p_pool AND k.session_ext = p_session
      AND k.number_id = p_number
      AND p_number <> 0
    RETURNING k.sweep_at, k.last_active_at, k.rest_ms INTO swept, active, rest;
    IF NOT FOUND THEN
        RETURN 1;
    END IF;
    IF swept IS NULL AND rest > 0 THEN
        UPDATE lease_numbers ln SET rest_until = GREATEST(ln.rest_until, active + rest)
        WHERE ln.account_id = p_account AND ln.number_id = p_number AND ln.pool_id = p_pool;
    END IF;
    RETURN 0;
END $$;

CREATE FUNCTION od_pool_stats(p_account BIGINT, p_pool BIGINT, p_now BIGINT,
                              OUT size BIGINT, OUT leased BIGINT, OUT cooling BIGINT,
                              OUT free BIGINT, OUT live_leases BIGINT,
                              OUT exhaustion_events BIGINT, OUT peak_concurrent BIGINT,
                              OUT peak_demand BIGINT, OUT ended_leases BIGINT,
                              OUT ended_life_ms DOUBLE PRECISION, OUT ttl_ms BIGINT,
                              OUT cooldown_ms BIGINT)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    SELECT GREATEST(p.lease_ttl * 1000, 1), GREATEST(p.cooldown * 1000, 0),
           GREATEST(p_now, COALESCE(st.clock_at, 0)), COALESCE(st.exhaustion_events, 0),
           COALESCE(st.peak_concurrent, 0), COALESCE(st.peak_demand, 0),
           COALESCE(st.ended_leases, 0), COALESCE(st.ended_life_ms, 0)
      INTO ttl_ms, cooldown_ms, p_now, exhaustion_events, peak_concurrent, peak_demand,
           ended_leases, ended_life_ms
    FROM pools p LEFT JOIN lease_pools st ON st.account_id = p_account AND st.pool_id = p.id
    WHERE p.account_id = p_account AND p.id = p_pool;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT count(*),
           count(*) FILTER (WHERE ln.last_active + ttl_ms > p_now),
           count(*) FILTER (WHERE ln.last_active + ttl_ms <= p_now
                              AND ln.last_active + ttl_ms + cooldown_ms > p_now)
      INTO size, leased, cooling
    FROM numbers n
    LEFT JOIN lease_numbers ln ON ln.account_id = p_account AND ln.number_id = n.id
    WHERE n.account_id = p_account AND n.pool_id = p_pool;
    free := size - leased - cooling;
    SELECT count(*) FILTER (WHERE k.number_id <> 0 AND k.last_active_at + ttl_ms > p_now),
           ended_leases + count(*) FILTER (WHERE k.number_id <> 0
                                             AND k.last_active_at + ttl_ms <= p_now),
           ended_life_ms + COALESCE(sum(k.last_active_at + ttl_ms - k.leased_at)
                                    FILTER (WHERE k.number_id <> 0
                                              AND k.last_active_at + ttl_ms <= p_now), 0)
      INTO live_leases, ended_leases, ended_life_ms
    FROM lease_holders k WHERE k.account_id = p_account AND k.pool_id = p_pool;
END $$;


-- The triggers' functions (sql_pg/0013, 0024), filtering by the row's own account id.
CREATE OR REPLACE FUNCTION od_numbers_lease_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    p_account BIGINT := NEW.account_id;
BEGIN
    IF NEW.pool_id IS NULL THEN
        DELETE FROM lease_numbers WHERE account_id = p_account AND number_id = NEW.id;
    ELSE
        INSERT INTO lease_numbers AS ln (account_id, number_id, pool_id, order_at, last_active,
                                         last_session)
        VALUES (p_account, NEW.id, NEW.pool_id, -9223372036854775807 - 1, NULL, '')
        ON CONFLICT (account_id, number_id) DO UPDATE SET pool_id = excluded.pool_id,
            order_at = excluded.order_at, last_active = NULL, last_session = '';
        UPDATE lease_pools SET lo_key = -9223372036854775807 - 1, lo_id = NEW.id
        WHERE account_id = p_account AND pool_id = NEW.pool_id
          AND (lo_key, lo_id) > (-9223372036854775807 - 1, NEW.id);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION od_lease_holder_gone() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    p_account BIGINT := OLD.account_id;
BEGIN
    UPDATE lease_pools SET live_n = live_n - CASE WHEN OLD.number_id <> 0 THEN 1 ELSE 0 END,
                           wait_n = wait_n - CASE WHEN OLD.number_id = 0 THEN 1 ELSE 0 END
    WHERE account_id = p_account AND pool_id = OLD.pool_id;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION od_leases_funnel_insert() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
    p_account BIGINT := NEW.account_id;
BEGIN
    UPDATE sessions SET funnel = funnel | 1
    WHERE account_id = p_account AND id = NEW.session_id AND funnel & 1 = 0;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION od_leases_funnel_delete() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
    p_account BIGINT := OLD.account_id;
BEGIN
    UPDATE sessions SET funnel = funnel & ~1
    WHERE account_id = p_account AND id = OLD.session_id
      AND NOT EXISTS (SELECT 1 FROM leases l
                      WHERE l.account_id = p_account AND l.session_id = OLD.session_id);
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION od_events_funnel_insert() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
    p_account BIGINT := NEW.account_id;
BEGIN
    UPDATE sessions SET funnel = funnel | 2
    WHERE account_id = p_account AND id = NEW.session_id AND funnel & 2 = 0;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION od_events_funnel_delete() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
    p_account BIGINT := OLD.account_id;
BEGIN
    UPDATE sessions SET funnel = funnel & ~2
    WHERE account_id = p_account AND id = OLD.session_id
      AND NOT EXISTS (SELECT 1 FROM events e
                      WHERE e.account_id = p_account AND e.session_id = OLD.session_id
                        AND e.type IN ('tel_click', 'chat_started'));
    RETURN NULL;
END $$;
