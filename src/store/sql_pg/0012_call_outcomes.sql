-- opendni schema v12, PostgreSQL version of sql/0012_call_outcomes.sql: the same table, columns,
-- constraints and index, with ids, money and times as BIGINT.
-- Call outcomes (issue #18 item 1; DESIGN.md "Call outcomes"): what a person says about a call.
-- One row per call that has any; a call without a row has the defaults (no tags, no notes, lead
-- status 'new', no revenue, billable unset). tags is a JSON array of short labels (the app
-- validates and normalises it); revenue is in minor units of the account's currency (NULL: not
-- given). billable NULL: no rule and no person has said; billable_by says who set it ('api': an
-- API key, 'user': a dashboard user named in billable_user; a target's rule will add 'rule').
CREATE TABLE call_outcomes (
    call_id BIGINT PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    tags TEXT NOT NULL DEFAULT '[]',
    notes TEXT NOT NULL DEFAULT '',
    lead_status TEXT NOT NULL DEFAULT 'new'
        CHECK (lead_status IN ('new', 'qualified', 'won', 'lost', 'spam')),
    revenue BIGINT CHECK (revenue >= 0),
    billable INTEGER CHECK (billable IN (0, 1)),
    billable_by TEXT NOT NULL DEFAULT '',
    billable_user TEXT NOT NULL DEFAULT '',
    billable_at BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
CREATE INDEX call_outcomes_account ON call_outcomes(account_id, lead_status);
