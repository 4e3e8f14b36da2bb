-- opendni schema v31, PostgreSQL version of sql/0031_call_facts.sql: the same table, with ids as
-- BIGINT, kept by row triggers (od_call_facts) in the transaction that writes the call, changes
-- its session (a purged session sets it to NULL) or changes the session's fields (erasure).
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
    content TEXT
);
-- a call's facts, computed from the call and its session
CREATE VIEW call_facts_now AS
    SELECT c.id AS call_id, c.account_id AS account_id, c.session_id AS session_id,
           COALESCE(NULLIF(c.channel, ''), s.channel) AS channel,
           COALESCE(NULLIF(c.source, ''), s.source) AS source,
           COALESCE(NULLIF(c.medium, ''), s.medium) AS medium,
           COALESCE(NULLIF(c.campaign, ''), s.campaign) AS campaign,
           COALESCE(NULLIF(c.keyword, ''), s.keyword) AS keyword,
           s.landing_page AS landing_page, s.device AS device, s.content AS content
    FROM calls c LEFT JOIN sessions s ON s.account_id = c.account_id AND s.id = c.session_id;
INSERT INTO call_facts(call_id, account_id, channel, source, medium, campaign, keyword,
                       landing_page, device, content)
    SELECT call_id, account_id, channel, source, medium, campaign, keyword, landing_page, device,
           content
    FROM call_facts_now;
-- recomputes the facts of the account's call p_call
CREATE FUNCTION od_call_facts(p_account BIGINT, p_call BIGINT) RETURNS VOID
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO call_facts(call_id, account_id, channel, source, medium, campaign, keyword,
                           landing_page, device, content)
        SELECT call_id, account_id, channel, source, medium, campaign, keyword, landing_page,
               device, content
        FROM call_facts_now WHERE account_id = p_account AND call_id = p_call
        ON CONFLICT (call_id) DO UPDATE SET account_id = EXCLUDED.account_id,
            channel = EXCLUDED.channel, source = EXCLUDED.source, medium = EXCLUDED.medium,
            campaign = EXCLUDED.campaign, keyword = EXCLUDED.keyword,
            landing_page = EXCLUDED.landing_page, device = EXCLUDED.device,
            content = EXCLUDED.content;
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
