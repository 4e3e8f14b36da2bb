-- opendni schema v24, PostgreSQL version of sql/0024_report_speed.sql: the same table and
-- indexes, with ids, money and times as BIGINT.
CREATE TABLE call_payouts (
    call_id BIGINT PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    publisher TEXT NOT NULL,
    publisher_name TEXT NOT NULL,
    payout BIGINT NOT NULL CHECK (payout >= 0),
    at BIGINT NOT NULL
);
-- The funnel's facts on each session, as in sql/0024 (bits: 1 lease, 2 tel: click or chat,
-- 4 a credited call, 8 a converted call; call_best: the longest completed talk time), kept by
-- row triggers in the transaction that writes the lease, event, call or conversion.
ALTER TABLE sessions ADD COLUMN funnel INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN call_best BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET funnel = funnel | 1 WHERE id IN (SELECT session_id FROM leases);
UPDATE sessions SET funnel = funnel | 2
    WHERE id IN (SELECT session_id FROM events WHERE type IN ('tel_click', 'chat_started'));
UPDATE sessions SET funnel = funnel | 4,
    call_best = COALESCE((SELECT MAX(c.duration) FROM calls c WHERE c.session_id = sessions.id
                          AND c.status = 'completed' AND c.duration > 0), 0)
    WHERE id IN (SELECT session_id FROM calls WHERE session_id IS NOT NULL);
UPDATE sessions SET funnel = funnel | 8
    WHERE id IN (SELECT c.session_id FROM calls c JOIN conversions cv ON cv.call_id = c.id);
DROP INDEX sessions_account_created;
CREATE INDEX sessions_funnel
    ON sessions(account_id, created_at, channel, source, campaign, funnel, call_best);
-- recomputes session p_session's call facts from its calls
CREATE FUNCTION od_session_call_facts(p_account BIGINT, p_session BIGINT) RETURNS VOID
LANGUAGE plpgsql AS $$
BEGIN
    IF p_session IS NULL THEN
        RETURN;
    END IF;
    UPDATE sessions SET
        funnel = (funnel & 3)
            | CASE WHEN EXISTS (SELECT 1 FROM calls c WHERE c.account_id = p_account
                                AND c.session_id = p_session) THEN 4 ELSE 0 END
            | CASE WHEN EXISTS (SELECT 1 FROM calls c JOIN conversions cv ON cv.call_id = c.id
                                WHERE c.account_id = p_account AND cv.account_id = p_account
                                AND c.session_id = p_session) THEN 8 ELSE 0 END,
        call_best = COALESCE((SELECT MAX(c.duration) FROM calls c WHERE c.account_id = p_account
                              AND c.session_id = p_session AND c.status = 'completed'
                              AND c.duration > 0), 0)
        WHERE account_id = p_account AND id = p_session;
END $$;
-- the same for the session of call p_call
CREATE FUNCTION od_call_session_facts(p_account BIGINT, p_call BIGINT) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    sid BIGINT;
BEGIN
    SELECT session_id INTO sid FROM calls WHERE account_id = p_account AND id = p_call;
    PERFORM od_session_call_facts(p_account, sid);
END $$;
-- leases and events have no account_id: the session they name is updated by its id
CREATE FUNCTION od_leases_funnel_insert() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sessions SET funnel = funnel | 1 WHERE id = NEW.session_id AND funnel & 1 = 0;
    RETURN NULL;
END $$;
CREATE FUNCTION od_leases_funnel_delete() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sessions SET funnel = funnel & ~1 WHERE id = OLD.session_id
        AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.session_id = OLD.session_id);
    RETURN NULL;
END $$;
CREATE TRIGGER leases_funnel_insert AFTER INSERT ON leases
    FOR EACH ROW EXECUTE FUNCTION od_leases_funnel_insert();
CREATE TRIGGER leases_funnel_delete AFTER DELETE ON leases
    FOR EACH ROW EXECUTE FUNCTION od_leases_funnel_delete();
CREATE FUNCTION od_events_funnel_insert() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sessions SET funnel = funnel | 2 WHERE id = NEW.session_id AND funnel & 2 = 0;
    RETURN NULL;
END $$;
CREATE FUNCTION od_events_funnel_delete() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sessions SET funnel = funnel & ~2 WHERE id = OLD.session_id
        AND NOT EXISTS (SELECT 1 FROM events e WHERE e.session_id = OLD.session_id
                        AND e.type IN ('tel_click', 'chat_started'));
    RETURN NULL;
END $$;
CREATE TRIGGER events_funnel_insert AFTER INSERT ON events FOR EACH ROW
    WHEN (NEW.type IN ('tel_click', 'chat_started'))
    EXECUTE FUNCTION od_events_funnel_insert();
CREATE TRIGGER events_funnel_delete AFTER DELETE ON events FOR EACH ROW
    WHEN (OLD.type IN ('tel_click', 'chat_started'))
    EXECUTE FUNCTION od_events_funnel_delete();
CREATE FUNCTION od_calls_funnel() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM od_session_call_facts(OLD.account_id, OLD.session_id);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF TG_OP = 'INSERT' OR NEW.session_id IS DISTINCT FROM OLD.session_id THEN
            PERFORM od_session_call_facts(NEW.account_id, NEW.session_id);
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER calls_funnel AFTER INSERT OR DELETE OR UPDATE OF session_id, status, duration
    ON calls FOR EACH ROW EXECUTE FUNCTION od_calls_funnel();
CREATE FUNCTION od_conversions_funnel() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM od_call_session_facts(NEW.account_id, NEW.call_id);
    ELSE
        PERFORM od_call_session_facts(OLD.account_id, OLD.call_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER conversions_funnel AFTER INSERT OR DELETE ON conversions
    FOR EACH ROW EXECUTE FUNCTION od_conversions_funnel();
-- Cohorts: each session's first_at, the created_at of its visitor's first session, as in
-- sql/0024, kept by od_visitor_first when sessions are added, purged or erased.
ALTER TABLE sessions ADD COLUMN first_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX sessions_visitor_first ON sessions(account_id, visitor_id, created_at, first_at);
UPDATE sessions SET first_at = v.m FROM (SELECT account_id, visitor_id, MIN(created_at) AS m
    FROM sessions GROUP BY account_id, visitor_id) v
    WHERE v.account_id = sessions.account_id AND v.visitor_id = sessions.visitor_id;
CREATE INDEX sessions_cohort ON sessions(account_id, first_at, created_at, visitor_id, funnel);
CREATE FUNCTION od_visitor_first(p_account BIGINT, p_visitor TEXT) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    m BIGINT;
BEGIN
    SELECT MIN(created_at) INTO m FROM sessions
        WHERE account_id = p_account AND visitor_id = p_visitor;
    IF m IS NOT NULL THEN
        UPDATE sessions SET first_at = m WHERE account_id = p_account AND visitor_id = p_visitor
            AND first_at <> m;
    END IF;
END $$;
CREATE FUNCTION od_sessions_first() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM od_visitor_first(OLD.account_id, OLD.visitor_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM od_visitor_first(NEW.account_id, NEW.visitor_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER sessions_first AFTER INSERT OR DELETE OR UPDATE OF account_id, visitor_id,
    created_at ON sessions FOR EACH ROW EXECUTE FUNCTION od_sessions_first();
