-- opendni schema v5, PostgreSQL version of sql/0005_provider_credentials.sql: the same table and
-- data moves, with BIGINT times and jsonb (od_jsonb, sql_pg/0001) where SQLite uses its JSON
-- functions. Telephony provider secrets in one place, one row per (account, provider).
CREATE TABLE account_providers (
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    provider TEXT NOT NULL,          -- as calls.provider: 'twilio', 'signalwire', 'telnyx'
    account_sid TEXT,                -- the provider's id of the account; NULL = not stored
    secret TEXT,                     -- auth token, signing key or base64 public key; in clear,
                                     -- since HMAC signatures need it; NULL = not stored yet
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, provider)
);
CREATE INDEX account_providers_sid ON account_providers(provider, account_sid);

INSERT INTO account_providers(account_id, provider, account_sid, secret, updated_at)
SELECT id, 'twilio', NULLIF(twilio_account_sid, ''), NULLIF(twilio_auth_token, ''), created_at
FROM accounts
WHERE COALESCE(twilio_account_sid, '') <> '' OR COALESCE(twilio_auth_token, '') <> '';
INSERT INTO account_providers(account_id, provider, account_sid, secret, updated_at)
SELECT account_id, 'signalwire', account_sid, secret, updated_at
FROM account_providers WHERE provider = 'twilio';
UPDATE accounts SET twilio_account_sid = NULL, twilio_auth_token = NULL;

-- Settings that are not JSON (od_jsonb gives NULL) are left alone.
INSERT INTO account_providers(account_id, provider, account_sid, secret, updated_at)
SELECT id, 'telnyx', NULL, od_jsonb(settings) ->> 'telnyx_public_key', created_at
FROM accounts
WHERE jsonb_typeof(od_jsonb(settings) -> 'telnyx_public_key') = 'string';
UPDATE accounts SET settings = (od_jsonb(settings) - 'telnyx_public_key')::text
WHERE jsonb_typeof(od_jsonb(settings)) = 'object' AND od_jsonb(settings) ? 'telnyx_public_key';

UPDATE calls SET provider = 'signalwire'
WHERE provider = 'twilio' AND provider_call_id LIKE '%-%';
