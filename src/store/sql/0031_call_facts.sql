-- The calls report and the P&L without the sessions table (issue #14 item 4, #18 item 6;
-- docs/reports.md "How the figures are computed").
-- call_facts: one narrow row per call with the attribution the reports group by, as the call
-- report read it from the call and its credited session: the call's source snapshot wins, the
-- session's values fill calls stored without one; landing page, device and ad content are the
-- session's. Kept by the triggers below in the transaction that writes the call (the webhook's
-- group-commit batch), changes its session (a purged session sets it to NULL) or changes the
-- session's fields (an erasure strips the landing page's query), so a report reads calls by
-- (account_id, started_at) and this table by call id, in call order, and never sessions.
CREATE TABLE call_facts (
    call_id INTEGER PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL,
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
    SELECT c.id AS call_id, c.account_id AS account_id,
           COALESCE(NULLIF(c.channel, ''), s.channel) AS channel,
           COALESCE(NULLIF(c.source, ''), s.source) AS source,
           COALESCE(NULLIF(c.medium, ''), s.medium) AS medium,
           COALESCE(NULLIF(c.campaign, ''), s.campaign) AS campaign,
           COALESCE(NULLIF(c.keyword, ''), s.keyword) AS keyword,
           s.landing_page AS landing_page, s.device AS device, s.content AS content
    FROM calls c LEFT JOIN sessions s ON s.id = c.session_id;
INSERT INTO call_facts(call_id, account_id, channel, source, medium, campaign, keyword,
                       landing_page, device, content)
    SELECT call_id, account_id, channel, source, medium, campaign, keyword, landing_page, device,
           content
    FROM call_facts_now ORDER BY call_id;
CREATE TRIGGER calls_facts_insert AFTER INSERT ON calls BEGIN
    INSERT INTO call_facts(call_id, account_id, channel, source, medium, campaign, keyword,
                           landing_page, device, content)
        SELECT call_id, account_id, channel, source, medium, campaign, keyword, landing_page,
               device, content
        FROM call_facts_now WHERE call_id = NEW.id
        ON CONFLICT(call_id) DO UPDATE SET account_id = excluded.account_id, channel = excluded.channel,
            source = excluded.source, medium = excluded.medium, campaign = excluded.campaign,
            keyword = excluded.keyword, landing_page = excluded.landing_page,
            device = excluded.device, content = excluded.content;
END;
CREATE TRIGGER calls_facts_update
    AFTER UPDATE OF account_id, session_id, channel, source, medium, campaign, keyword ON calls
BEGIN
    INSERT INTO call_facts(call_id, account_id, channel, source, medium, campaign, keyword,
                           landing_page, device, content)
        SELECT call_id, account_id, channel, source, medium, campaign, keyword, landing_page,
               device, content
        FROM call_facts_now WHERE call_id = NEW.id
        ON CONFLICT(call_id) DO UPDATE SET account_id = excluded.account_id, channel = excluded.channel,
            source = excluded.source, medium = excluded.medium, campaign = excluded.campaign,
            keyword = excluded.keyword, landing_page = excluded.landing_page,
            device = excluded.device, content = excluded.content;
END;
CREATE TRIGGER sessions_facts_update
    AFTER UPDATE OF channel, source, medium, campaign, keyword, landing_page, device, content
    ON sessions
BEGIN
    INSERT INTO call_facts(call_id, account_id, channel, source, medium, campaign, keyword,
                           landing_page, device, content)
        SELECT call_id, account_id, channel, source, medium, campaign, keyword, landing_page,
               device, content
        FROM call_facts_now WHERE call_id IN (SELECT id FROM calls WHERE session_id = NEW.id)
        ON CONFLICT(call_id) DO UPDATE SET account_id = excluded.account_id, channel = excluded.channel,
            source = excluded.source, medium = excluded.medium, campaign = excluded.campaign,
            keyword = excluded.keyword, landing_page = excluded.landing_page,
            device = excluded.device, content = excluded.content;
END;
