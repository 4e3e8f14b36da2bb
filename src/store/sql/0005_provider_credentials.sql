-- opendni schema v5: telephony provider secrets in one place, one row per (account, provider).
-- Before: Twilio's in accounts.twilio_account_sid/twilio_auth_token (also used for SignalWire),
-- Telnyx's public key inside accounts.settings. The old columns stay (other code may still
-- name them until it is merged) but are emptied and no longer read; a later migration drops
-- them. Portable SQL except the two statements marked SQLite below.
CREATE TABLE account_providers (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    provider TEXT NOT NULL,          -- as calls.provider: 'twilio', 'signalwire', 'telnyx'
    account_sid TEXT,                -- the provider's id of the account (Twilio AccountSid,
                                     -- SignalWire project id); NULL = not stored
    secret TEXT,                     -- auth token, signing key or base64 public key; in clear,
                                     -- since HMAC signatures need it; NULL = not stored yet
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, provider)
);
-- A webhook for a number nobody owns is verified by the account with the request's AccountSid
-- for that provider (API.md), never by trying every account.
CREATE INDEX account_providers_sid ON account_providers(provider, account_sid);

-- One token verified both X-Twilio-Signature and X-SignalWire-Signature until now: it becomes
-- the account's Twilio and its SignalWire secret, so nothing that verified stops verifying.
INSERT INTO account_providers(account_id, provider, account_sid, secret, updated_at)
SELECT id, 'twilio', NULLIF(twilio_account_sid, ''), NULLIF(twilio_auth_token, ''), created_at
FROM accounts
WHERE COALESCE(twilio_account_sid, '') <> '' OR COALESCE(twilio_auth_token, '') <> '';
INSERT INTO account_providers(account_id, provider, account_sid, secret, updated_at)
SELECT account_id, 'signalwire', account_sid, secret, updated_at
FROM account_providers WHERE provider = 'twilio';
UPDATE accounts SET twilio_account_sid = NULL, twilio_auth_token = NULL;

-- SQLite: the JSON functions (PostgreSQL: settings::jsonb ->> 'telnyx_public_key', and
-- (settings::jsonb - 'telnyx_public_key')::text). Settings that are not JSON are left alone.
INSERT INTO account_providers(account_id, provider, account_sid, secret, updated_at)
SELECT id, 'telnyx', NULL, json_extract(settings, '$.telnyx_public_key'), created_at
FROM accounts
WHERE CASE WHEN json_valid(settings)
           THEN json_type(settings, '$.telnyx_public_key') = 'text' ELSE 0 END;
UPDATE accounts SET settings = json_remove(settings, '$.telnyx_public_key')
WHERE CASE WHEN json_valid(settings)
           THEN json_type(settings, '$.telnyx_public_key') IS NOT NULL ELSE 0 END;

-- SignalWire calls were stored as provider 'twilio'. Their call ids are UUIDs, which Twilio's
-- (CA + 32 hex digits) never are: they move, so the callbacks of a call in flight during the
-- upgrade still find it under (provider, provider_call_id).
UPDATE calls SET provider = 'signalwire'
WHERE provider = 'twilio' AND provider_call_id LIKE '%-%';
