-- Reports on a large store and payouts per call (issue #14 item 4, #18 items 5-6;
-- docs/reports.md "How the figures are computed").
-- call_payouts: what a publisher was owed for a call, recorded when the call first became
-- billable (the target's rule at the end of the dialled leg, or a person's billable=true): the
-- publisher credited then (its API id and name, kept when the publisher is deleted later) and its
-- payout in force then. The P&L sums these, so changing a publisher's payout changes only the
-- calls that become billable afterwards. A billable call without a row (no publisher owned its
-- number, pool or source then, or it became billable before this migration) pays no one unless
-- it has none and a publisher owns it now: then the current payout applies (older stores).
CREATE TABLE call_payouts (
    call_id INTEGER PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    publisher TEXT NOT NULL,
    publisher_name TEXT NOT NULL,
    payout INTEGER NOT NULL CHECK (payout >= 0),
    at INTEGER NOT NULL
);
-- The funnel's facts on each session (docs/reports.md "Funnel"), kept by the triggers below in
-- the transaction that writes a lease, an event, a call or a conversion (the visit's and the
-- webhook's group-commit batches), so the funnel reads one covering index instead of probing
-- four tables per session. funnel bits: 1 it held a tracking number (a lease), 2 a tel: click or
-- a chat started on its page, 4 a call was credited to it, 8 such a call has a conversion.
-- call_best: the longest talk time of its completed calls (0: none), so "qualified" follows the
-- account's conversion.min_duration as it is when the report is read.
ALTER TABLE sessions ADD COLUMN funnel INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN call_best INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET funnel = funnel | 1 WHERE id IN (SELECT session_id FROM leases);
UPDATE sessions SET funnel = funnel | 2
    WHERE id IN (SELECT session_id FROM events WHERE type IN ('tel_click', 'chat_started'));
UPDATE sessions SET funnel = funnel | 4,
    call_best = COALESCE((SELECT MAX(c.duration) FROM calls c WHERE c.session_id = sessions.id
                          AND c.status = 'completed' AND c.duration > 0), 0)
    WHERE id IN (SELECT session_id FROM calls);
UPDATE sessions SET funnel = funnel | 8
    WHERE id IN (SELECT c.session_id FROM calls c JOIN conversions cv ON cv.call_id = c.id);
DROP INDEX sessions_account_created;
CREATE INDEX sessions_funnel
    ON sessions(account_id, created_at, channel, source, campaign, funnel, call_best);
CREATE TRIGGER leases_funnel_insert AFTER INSERT ON leases BEGIN
    UPDATE sessions SET funnel = funnel | 1 WHERE id = NEW.session_id AND funnel & 1 = 0;
END;
CREATE TRIGGER leases_funnel_delete AFTER DELETE ON leases BEGIN
    UPDATE sessions SET funnel = funnel & ~1 WHERE id = OLD.session_id
        AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.session_id = OLD.session_id);
END;
CREATE TRIGGER events_funnel_insert AFTER INSERT ON events
    WHEN NEW.type IN ('tel_click', 'chat_started') BEGIN
    UPDATE sessions SET funnel = funnel | 2 WHERE id = NEW.session_id AND funnel & 2 = 0;
END;
CREATE TRIGGER events_funnel_delete AFTER DELETE ON events
    WHEN OLD.type IN ('tel_click', 'chat_started') BEGIN
    UPDATE sessions SET funnel = funnel & ~2 WHERE id = OLD.session_id
        AND NOT EXISTS (SELECT 1 FROM events e WHERE e.session_id = OLD.session_id
                        AND e.type IN ('tel_click', 'chat_started'));
END;
-- a session's call facts, recomputed from its calls
CREATE VIEW session_call_facts AS
    SELECT s.id AS session_id,
           (s.funnel & 3)
           | CASE WHEN EXISTS (SELECT 1 FROM calls c WHERE c.session_id = s.id) THEN 4 ELSE 0 END
           | CASE WHEN EXISTS (SELECT 1 FROM calls c JOIN conversions cv ON cv.call_id = c.id
                               WHERE c.session_id = s.id) THEN 8 ELSE 0 END AS funnel,
           COALESCE((SELECT MAX(c.duration) FROM calls c WHERE c.session_id = s.id
                     AND c.status = 'completed' AND c.duration > 0), 0) AS call_best
    FROM sessions s;
CREATE TRIGGER calls_funnel_insert AFTER INSERT ON calls WHEN NEW.session_id IS NOT NULL BEGIN
    UPDATE sessions SET (funnel, call_best) =
        (SELECT funnel, call_best FROM session_call_facts WHERE session_id = NEW.session_id)
        WHERE id = NEW.session_id;
END;
CREATE TRIGGER calls_funnel_update AFTER UPDATE OF session_id, status, duration ON calls BEGIN
    UPDATE sessions SET (funnel, call_best) =
        (SELECT f.funnel, f.call_best FROM session_call_facts f WHERE f.session_id = sessions.id)
        WHERE id IN (OLD.session_id, NEW.session_id);
END;
CREATE TRIGGER calls_funnel_delete AFTER DELETE ON calls WHEN OLD.session_id IS NOT NULL BEGIN
    UPDATE sessions SET (funnel, call_best) =
        (SELECT funnel, call_best FROM session_call_facts WHERE session_id = OLD.session_id)
        WHERE id = OLD.session_id;
END;
CREATE TRIGGER conversions_funnel_insert AFTER INSERT ON conversions BEGIN
    UPDATE sessions SET funnel = funnel | 8
        WHERE id = (SELECT session_id FROM calls WHERE id = NEW.call_id) AND funnel & 8 = 0;
END;
CREATE TRIGGER conversions_funnel_delete AFTER DELETE ON conversions BEGIN
    UPDATE sessions SET (funnel, call_best) =
        (SELECT f.funnel, f.call_best FROM session_call_facts f WHERE f.session_id = sessions.id)
        WHERE id = (SELECT session_id FROM calls WHERE id = OLD.call_id);
END;
-- Cohorts (docs/reports.md "Cohorts"): first_at is the created_at of the first session of the
-- session's visitor (the account's sessions with the same visitor_id), kept by the triggers
-- below when sessions are added, purged or erased (an erasure blanks visitor_id), so a cohort is
-- one range of sessions_cohort: the sessions of the visitors whose first visit is in the range.
ALTER TABLE sessions ADD COLUMN first_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX sessions_visitor_first ON sessions(account_id, visitor_id, created_at, first_at);
UPDATE sessions SET first_at = (SELECT MIN(v.created_at) FROM sessions v
    WHERE v.account_id = sessions.account_id AND v.visitor_id = sessions.visitor_id);
CREATE INDEX sessions_cohort ON sessions(account_id, first_at, created_at, visitor_id, funnel);
-- Every statement reaches the visitor's sessions through sessions_visitor_first (rowid lists;
-- `+first_at` keeps the planner off sessions_cohort, which would scan the whole account).
CREATE TRIGGER sessions_first_insert AFTER INSERT ON sessions BEGIN
    UPDATE sessions SET first_at = (SELECT MIN(v.created_at) FROM sessions v
            WHERE v.account_id = NEW.account_id AND v.visitor_id = NEW.visitor_id)
        WHERE id = NEW.id;
    UPDATE sessions SET first_at = NEW.created_at
        WHERE id IN (SELECT v.id FROM sessions v WHERE v.account_id = NEW.account_id
                     AND v.visitor_id = NEW.visitor_id AND +v.first_at > NEW.created_at);
END;
CREATE TRIGGER sessions_first_delete AFTER DELETE ON sessions BEGIN
    UPDATE sessions SET first_at = (SELECT MIN(v.created_at) FROM sessions v
            WHERE v.account_id = OLD.account_id AND v.visitor_id = OLD.visitor_id)
        WHERE id IN (SELECT v.id FROM sessions v WHERE v.account_id = OLD.account_id
                     AND v.visitor_id = OLD.visitor_id AND +v.first_at IS NOT
                     (SELECT MIN(w.created_at) FROM sessions w
                      WHERE w.account_id = OLD.account_id AND w.visitor_id = OLD.visitor_id));
END;
CREATE TRIGGER sessions_first_update AFTER UPDATE OF account_id, visitor_id, created_at ON sessions
BEGIN
    UPDATE sessions SET first_at = (SELECT MIN(v.created_at) FROM sessions v
            WHERE v.account_id = OLD.account_id AND v.visitor_id = OLD.visitor_id)
        WHERE id IN (SELECT v.id FROM sessions v WHERE v.account_id = OLD.account_id
                     AND v.visitor_id = OLD.visitor_id AND +v.first_at IS NOT
                     (SELECT MIN(w.created_at) FROM sessions w
                      WHERE w.account_id = OLD.account_id AND w.visitor_id = OLD.visitor_id));
    UPDATE sessions SET first_at = (SELECT MIN(v.created_at) FROM sessions v
            WHERE v.account_id = NEW.account_id AND v.visitor_id = NEW.visitor_id)
        WHERE id IN (SELECT v.id FROM sessions v WHERE v.account_id = NEW.account_id
                     AND v.visitor_id = NEW.visitor_id AND +v.first_at IS NOT
                     (SELECT MIN(w.created_at) FROM sessions w
                      WHERE w.account_id = NEW.account_id AND w.visitor_id = NEW.visitor_id));
END;
