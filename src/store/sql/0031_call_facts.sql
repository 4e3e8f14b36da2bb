-- The calls report and the P&L without the sessions table (issue #14 item 4, #18 item 6;
-- docs/reports.md "How the figures are computed").
-- call_facts: one narrow row per call with the attribution the reports group by, as the call
-- report read it from the call and its credited session: the call's source snapshot wins, the
-- session's values fill calls stored without one; landing page, device and ad content are the
-- session's; converted, conv_value and conv_location are its conversion's (0, NULL, NULL: none),
-- lead_status, revenue and outcome_billable its outcome's (NULL: none). Kept by the triggers
-- below in the transaction that writes the call (the webhook's group-commit batch), changes its
-- session (a purged session sets it to NULL), changes the session's fields (an erasure strips
-- the landing page's query) or writes or deletes its conversion or outcome, so a report reads
-- calls by (account_id, started_at) and this table by call id, in call order, and never
-- sessions, conversions or call_outcomes.
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
    content TEXT,
    converted INTEGER NOT NULL DEFAULT 0,
    conv_value REAL,
    conv_location TEXT,
    lead_status TEXT,
    revenue INTEGER,
    outcome_billable INTEGER
);
-- a call's facts, computed from the call and its session
CREATE VIEW call_facts_now AS
    SELECT c.id AS call_id, c.account_id AS account_id,
           COALESCE(NULLIF(c.channel, ''), s.channel) AS channel,
           COALESCE(NULLIF(c.source, ''), s.source) AS source,
           COALESCE(NULLIF(c.medium, ''), s.medium) AS medium,
           COALESCE(NULLIF(c.campaign, ''), s.campaign) AS campaign,
           COALESCE(NULLIF(c.keyword, ''), s.keyword) AS keyword,
           s.landing_page AS landing_page, s.device AS device, s.content AS content,
           cv.id IS NOT NULL AS converted, cv.value AS conv_value, cv.location AS conv_location,
           o.lead_status AS lead_status, o.revenue AS revenue, o.billable AS outcome_billable
    FROM calls c LEFT JOIN sessions s ON s.id = c.session_id
    LEFT JOIN conversions cv ON cv.call_id = c.id LEFT JOIN call_outcomes o ON o.call_id = c.id;
INSERT INTO call_facts(call_id, account_id, channel, source, medium, campaign, keyword,
                       landing_page, device, content, converted, conv_value, conv_location,
                       lead_status, revenue, outcome_billable)
    SELECT call_id, account_id, channel, source, medium, campaign, keyword, landing_page, device,
           content, converted, conv_value, conv_location, lead_status, revenue, outcome_billable
    FROM call_facts_now ORDER BY call_id;
CREATE TRIGGER calls_facts_insert AFTER INSERT ON calls BEGIN
    INSERT INTO call_facts(call_id, account_id, channel, source, medium, campaign, keyword,
                           landing_page, device, content, converted, conv_value, conv_location,
                           lead_status, revenue, outcome_billable)
        SELECT call_id, account_id, channel, source, medium, campaign, keyword, landing_page,
               device, content, converted, conv_value, conv_location, lead_status, revenue,
               outcome_billable
        FROM call_facts_now WHERE call_id = NEW.id
        ON CONFLICT(call_id) DO UPDATE SET account_id = excluded.account_id, channel = excluded.channel,
            source = excluded.source, medium = excluded.medium, campaign = excluded.campaign,
            keyword = excluded.keyword, landing_page = excluded.landing_page,
            device = excluded.device, content = excluded.content,
            converted = excluded.converted, conv_value = excluded.conv_value,
            conv_location = excluded.conv_location, lead_status = excluded.lead_status,
            revenue = excluded.revenue, outcome_billable = excluded.outcome_billable;
END;
CREATE TRIGGER calls_facts_update
    AFTER UPDATE OF account_id, session_id, channel, source, medium, campaign, keyword ON calls
BEGIN
    INSERT INTO call_facts(call_id, account_id, channel, source, medium, campaign, keyword,
                           landing_page, device, content, converted, conv_value, conv_location,
                           lead_status, revenue, outcome_billable)
        SELECT call_id, account_id, channel, source, medium, campaign, keyword, landing_page,
               device, content, converted, conv_value, conv_location, lead_status, revenue,
               outcome_billable
        FROM call_facts_now WHERE call_id = NEW.id
        ON CONFLICT(call_id) DO UPDATE SET account_id = excluded.account_id, channel = excluded.channel,
            source = excluded.source, medium = excluded.medium, campaign = excluded.campaign,
            keyword = excluded.keyword, landing_page = excluded.landing_page,
            device = excluded.device, content = excluded.content,
            converted = excluded.converted, conv_value = excluded.conv_value,
            conv_location = excluded.conv_location, lead_status = excluded.lead_status,
            revenue = excluded.revenue, outcome_billable = excluded.outcome_billable;
END;
CREATE TRIGGER sessions_facts_update
    AFTER UPDATE OF channel, source, medium, campaign, keyword, landing_page, device, content
    ON sessions
BEGIN
    INSERT INTO call_facts(call_id, account_id, channel, source, medium, campaign, keyword,
                           landing_page, device, content, converted, conv_value, conv_location,
                           lead_status, revenue, outcome_billable)
        SELECT call_id, account_id, channel, source, medium, campaign, keyword, landing_page,
               device, content, converted, conv_value, conv_location, lead_status, revenue,
               outcome_billable
        FROM call_facts_now WHERE call_id IN (SELECT id FROM calls WHERE session_id = NEW.id)
        ON CONFLICT(call_id) DO UPDATE SET account_id = excluded.account_id, channel = excluded.channel,
            source = excluded.source, medium = excluded.medium, campaign = excluded.campaign,
            keyword = excluded.keyword, landing_page = excluded.landing_page,
            device = excluded.device, content = excluded.content,
            converted = excluded.converted, conv_value = excluded.conv_value,
            conv_location = excluded.conv_location, lead_status = excluded.lead_status,
            revenue = excluded.revenue, outcome_billable = excluded.outcome_billable;
END;
-- a call's conversion or outcome written, changed or deleted
CREATE TRIGGER conversions_facts_insert AFTER INSERT ON conversions BEGIN
    INSERT INTO call_facts(call_id, account_id, channel, source, medium, campaign, keyword,
                           landing_page, device, content, converted, conv_value, conv_location,
                           lead_status, revenue, outcome_billable)
        SELECT call_id, account_id, channel, source, medium, campaign, keyword, landing_page,
               device, content, converted, conv_value, conv_location, lead_status, revenue,
               outcome_billable
        FROM call_facts_now WHERE call_id = NEW.call_id
        ON CONFLICT(call_id) DO UPDATE SET account_id = excluded.account_id, channel = excluded.channel,
            source = excluded.source, medium = excluded.medium, campaign = excluded.campaign,
            keyword = excluded.keyword, landing_page = excluded.landing_page,
            device = excluded.device, content = excluded.content,
            converted = excluded.converted, conv_value = excluded.conv_value,
            conv_location = excluded.conv_location, lead_status = excluded.lead_status,
            revenue = excluded.revenue, outcome_billable = excluded.outcome_billable;
END;
CREATE TRIGGER conversions_facts_update AFTER UPDATE ON conversions BEGIN
    INSERT INTO call_facts(call_id, account_id, channel, source, medium, campaign, keyword,
                           landing_page, device, content, converted, conv_value, conv_location,
                           lead_status, revenue, outcome_billable)
        SELECT call_id, account_id, channel, source, medium, campaign, keyword, landing_page,
               device, content, converted, conv_value, conv_location, lead_status, revenue,
               outcome_billable
        FROM call_facts_now WHERE call_id = NEW.call_id
        ON CONFLICT(call_id) DO UPDATE SET account_id = excluded.account_id, channel = excluded.channel,
            source = excluded.source, medium = excluded.medium, campaign = excluded.campaign,
            keyword = excluded.keyword, landing_page = excluded.landing_page,
            device = excluded.device, content = excluded.content,
            converted = excluded.converted, conv_value = excluded.conv_value,
            conv_location = excluded.conv_location, lead_status = excluded.lead_status,
            revenue = excluded.revenue, outcome_billable = excluded.outcome_billable;
END;
CREATE TRIGGER conversions_facts_delete AFTER DELETE ON conversions BEGIN
    INSERT INTO call_facts(call_id, account_id, channel, source, medium, campaign, keyword,
                           landing_page, device, content, converted, conv_value, conv_location,
                           lead_status, revenue, outcome_billable)
        SELECT call_id, account_id, channel, source, medium, campaign, keyword, landing_page,
               device, content, converted, conv_value, conv_location, lead_status, revenue,
               outcome_billable
        FROM call_facts_now WHERE call_id = OLD.call_id
        ON CONFLICT(call_id) DO UPDATE SET account_id = excluded.account_id, channel = excluded.channel,
            source = excluded.source, medium = excluded.medium, campaign = excluded.campaign,
            keyword = excluded.keyword, landing_page = excluded.landing_page,
            device = excluded.device, content = excluded.content,
            converted = excluded.converted, conv_value = excluded.conv_value,
            conv_location = excluded.conv_location, lead_status = excluded.lead_status,
            revenue = excluded.revenue, outcome_billable = excluded.outcome_billable;
END;
CREATE TRIGGER outcomes_facts_insert AFTER INSERT ON call_outcomes BEGIN
    INSERT INTO call_facts(call_id, account_id, channel, source, medium, campaign, keyword,
                           landing_page, device, content, converted, conv_value, conv_location,
                           lead_status, revenue, outcome_billable)
        SELECT call_id, account_id, channel, source, medium, campaign, keyword, landing_page,
               device, content, converted, conv_value, conv_location, lead_status, revenue,
               outcome_billable
        FROM call_facts_now WHERE call_id = NEW.call_id
        ON CONFLICT(call_id) DO UPDATE SET account_id = excluded.account_id, channel = excluded.channel,
            source = excluded.source, medium = excluded.medium, campaign = excluded.campaign,
            keyword = excluded.keyword, landing_page = excluded.landing_page,
            device = excluded.device, content = excluded.content,
            converted = excluded.converted, conv_value = excluded.conv_value,
            conv_location = excluded.conv_location, lead_status = excluded.lead_status,
            revenue = excluded.revenue, outcome_billable = excluded.outcome_billable;
END;
CREATE TRIGGER outcomes_facts_update AFTER UPDATE ON call_outcomes BEGIN
    INSERT INTO call_facts(call_id, account_id, channel, source, medium, campaign, keyword,
                           landing_page, device, content, converted, conv_value, conv_location,
                           lead_status, revenue, outcome_billable)
        SELECT call_id, account_id, channel, source, medium, campaign, keyword, landing_page,
               device, content, converted, conv_value, conv_location, lead_status, revenue,
               outcome_billable
        FROM call_facts_now WHERE call_id = NEW.call_id
        ON CONFLICT(call_id) DO UPDATE SET account_id = excluded.account_id, channel = excluded.channel,
            source = excluded.source, medium = excluded.medium, campaign = excluded.campaign,
            keyword = excluded.keyword, landing_page = excluded.landing_page,
            device = excluded.device, content = excluded.content,
            converted = excluded.converted, conv_value = excluded.conv_value,
            conv_location = excluded.conv_location, lead_status = excluded.lead_status,
            revenue = excluded.revenue, outcome_billable = excluded.outcome_billable;
END;
CREATE TRIGGER outcomes_facts_delete AFTER DELETE ON call_outcomes BEGIN
    INSERT INTO call_facts(call_id, account_id, channel, source, medium, campaign, keyword,
                           landing_page, device, content, converted, conv_value, conv_location,
                           lead_status, revenue, outcome_billable)
        SELECT call_id, account_id, channel, source, medium, campaign, keyword, landing_page,
               device, content, converted, conv_value, conv_location, lead_status, revenue,
               outcome_billable
        FROM call_facts_now WHERE call_id = OLD.call_id
        ON CONFLICT(call_id) DO UPDATE SET account_id = excluded.account_id, channel = excluded.channel,
            source = excluded.source, medium = excluded.medium, campaign = excluded.campaign,
            keyword = excluded.keyword, landing_page = excluded.landing_page,
            device = excluded.device, content = excluded.content,
            converted = excluded.converted, conv_value = excluded.conv_value,
            conv_location = excluded.conv_location, lead_status = excluded.lead_status,
            revenue = excluded.revenue, outcome_billable = excluded.outcome_billable;
END;
