-- opendni schema v31, PostgreSQL version of sql/0031_call_facts.sql: the same table, with ids and
-- money as BIGINT, kept by row triggers (od_call_facts) in the transaction that writes the call,
-- changes its session (a purged session sets it to NULL), changes the session's fields (erasure)
-- or writes or deletes its conversion or outcome.
CREATE TABLE call_facts (
    call_id BIGINT PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL,
    channel TEXT,
    source TEXT,
    medium TEXT,
    campaign TEXT,
    keyword TEXT,
    landing_page TEXT,
    device TEXT,
    content TEXT,
    converted BOOLEAN NOT NULL DEFAULT FALSE,
    conv_value DOUBLE PRECISION,
    conv_location TEXT,
    lead_status TEXT,
    revenue BIGINT,
    outcome_billable INTEGER
);
-- a call's facts, computed from the call and its session
CREATE VIEW call_facts_now AS
    SELECT c.id AS call_id, c.account_id AS account_id, c.session_id AS session_id,
           COALESCE(NULLIF(c.channel, ''), s.channel) AS channel,
           COALESCE(NULLIF(c.source, ''), s.source) AS source,
           COALESCE(NULLIF(c.medium, ''), s.medium) AS medium,
           COALESCE(NULLIF(c.campaign, ''), s.campaign) AS campaign,
           COALESCE(NULLIF(c.keyword, ''), s.keyword) AS keyword,
           s.landing_page AS landing_page, s.device AS device, s.content AS content,
           cv.id IS NOT NULL AS converted, cv.value AS conv_value, cv.location AS conv_location,
           o.lead_status AS lead_status, o.revenue AS revenue, o.billable AS outcome_billable
    FROM calls c LEFT JOIN sessions s ON s.account_id = c.account_id AND s.id = c.session_id
    LEFT JOIN conversions cv ON cv.account_id = c.account_id AND cv.call_id = c.id
    LEFT JOIN call_outcomes o ON o.account_id = c.account_id AND o.call_id = c.id;
INSERT INTO call_facts(call_id, account_id, channel, source, medium, campaign, keyword,
                       landing_page, device, content, converted, conv_value, conv_location,
                       lead_status, revenue, outcome_billable)
    SELECT call_id, account_id, channel, source, medium, campaign, keyword, landing_page, device,
           content, converted, conv_value, conv_location, lead_status, revenue, outcome_billable
    FROM call_facts_now;
-- recomputes the facts of the account's call p_call
CREATE FUNCTION od_call_facts(p_account BIGINT, p_call BIGINT) RETURNS VOID
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO call_facts(call_id, account_id, channel, source, medium, campaign, keyword,
                           landing_page, device, content, converted, conv_value, conv_location,
                           lead_status, revenue, outcome_billable)
        SELECT call_id, account_id, channel, source, medium, campaign, keyword, landing_page,
               device, content, converted, conv_value, conv_location, lead_status, revenue,
               outcome_billable
        FROM call_facts_now WHERE account_id = p_account AND call_id = p_call
        ON CONFLICT (call_id) DO UPDATE SET account_id = EXCLUDED.account_id,
            channel = EXCLUDED.channel, source = EXCLUDED.source, medium = EXCLUDED.medium,
            campaign = EXCLUDED.campaign, keyword = EXCLUDED.keyword,
            landing_page = EXCLUDED.landing_page, device = EXCLUDED.device,
            content = EXCLUDED.content, converted = EXCLUDED.converted,
            conv_value = EXCLUDED.conv_value, conv_location = EXCLUDED.conv_location,
            lead_status = EXCLUDED.lead_status, revenue = EXCLUDED.revenue,
            outcome_billable = EXCLUDED.outcome_billable;
END $$;
CREATE FUNCTION od_calls_facts() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM od_call_facts(NEW.account_id, NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER calls_facts AFTER INSERT
    OR UPDATE OF account_id, session_id, channel, source, medium, campaign, keyword
    ON calls FOR EACH ROW EXECUTE FUNCTION od_calls_facts();
CREATE FUNCTION od_sessions_facts() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    PERFORM od_call_facts(NEW.account_id, c.id) FROM calls c
        WHERE c.account_id = NEW.account_id AND c.session_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER sessions_facts
    AFTER UPDATE OF channel, source, medium, campaign, keyword, landing_page, device, content
    ON sessions FOR EACH ROW EXECUTE FUNCTION od_sessions_facts();
-- a call's conversion or outcome written, changed or deleted (a deleted call's facts go with it)
CREATE FUNCTION od_call_child_facts() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM od_call_facts(OLD.account_id, OLD.call_id);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM od_call_facts(NEW.account_id, NEW.call_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER conversions_facts AFTER INSERT OR UPDATE OR DELETE ON conversions
    FOR EACH ROW EXECUTE FUNCTION od_call_child_facts();
CREATE TRIGGER call_outcomes_facts AFTER INSERT OR UPDATE OR DELETE ON call_outcomes
    FOR EACH ROW EXECUTE FUNCTION od_call_child_facts();
