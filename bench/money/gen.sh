#!/bin/sh
# Generates a large SQLite store for the money reports' benchmark (bench/money/run.sh): one
# account, a 100-number pool, SESSIONS sessions spread evenly over the last DAYS days (60 % of
# them new visitors; five channels, 50 campaigns), every 5th session credited with a call
# (CALLS = SESSIONS / 5: 70 % completed with 0–599 s of talk, conversions for those >= 60 s,
# an outcome with revenue on every 10th), leases for 40 % of the sessions, a tel: click on every
# 10th, Google Ads and Meta spend per day and campaign, a routing record for every call (three
# buyers; billable when completed with 90 s or more) and three publishers (two by source, one
# by number) for the P&L, with what each billable call owes its publisher recorded as the server
# records it when the call becomes billable (call_payouts, sql/0024). It writes the tables directly with SQL
# (no server, synchronous off: minutes, not hours), after `opendni init` made the schema.
#   usage: bench/money/gen.sh DB [SESSIONS (5000000)] [DAYS (90)]
#   Writes DB and DB.account.json (the account's id and API key). Needs sqlite3.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BIN=${OPENDNI_BIN:-$root/build/opendni}
DB=$1
SESSIONS=${2:-5000000}
DAYS=${3:-90}
rm -f "$DB" "$DB-wal" "$DB-shm" "$DB.lock"
"$BIN" init --db "$DB" > /dev/null 2>&1
"$BIN" account create Bench --origin https://bench.example --db "$DB" --json > "$DB.account.json"
NOW=$(($(date +%s) * 1000))
SPAN=$((DAYS * 86400000))
START=$((NOW - SPAN))
STEP=$((SPAN / SESSIONS))
VISITORS=$((SESSIONS * 6 / 10))
t0=$(date +%s)
sqlite3 "$DB" > /dev/null <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;
BEGIN;
INSERT INTO pools(ext_id, account_id, name, target, forward_to, lease_ttl, cooldown, on_exhaust,
                  created_at)
  SELECT 'pool_bench', id, 'main', '+15555550100', '+15555550100', 1200, 1800, 'share', $START
  FROM accounts;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
INSERT INTO numbers(ext_id, account_id, number, pool_id, created_at)
  SELECT 'num_' || i, (SELECT id FROM accounts), '+1555555' || printf('%04d', 1000 + i),
         (SELECT id FROM pools), $START FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $SESSIONS)
INSERT INTO sessions(id, ext_id, account_id, visitor_id, created_at, last_active_at, landing_page,
                     channel, source, medium, campaign, keyword, content, device)
  SELECT i, 's_' || i, 1, 'v' || (i % $VISITORS), $START + i * $STEP, $START + i * $STEP + 60000,
         'https://bench.example/' || (i % 20),
         CASE i % 5 WHEN 0 THEN 'paid_search' WHEN 1 THEN 'paid_social' WHEN 2 THEN 'organic_search'
                    WHEN 3 THEN 'direct' ELSE 'referral' END,
         CASE i % 5 WHEN 0 THEN 'google' WHEN 1 THEN 'facebook' WHEN 2 THEN 'bing' ELSE NULL END,
         CASE i % 5 WHEN 0 THEN 'cpc' WHEN 1 THEN 'paid_social' WHEN 2 THEN 'organic' ELSE NULL END,
         CASE WHEN i % 5 < 2 THEN 'campaign-' || (i % 50) END,
         CASE WHEN i % 5 = 0 THEN 'keyword-' || (i % 200) END,
         CASE WHEN i % 5 < 2 THEN 'ad-' || (i % 7) END,
         CASE i % 3 WHEN 0 THEN 'desktop' ELSE 'mobile' END
  FROM n;
INSERT INTO leases(session_id, number_id, pool_id, leased_at, last_active_at, expires_at)
  SELECT s.id, (SELECT min(id) FROM numbers) + s.id % 100, (SELECT id FROM pools), s.created_at,
         s.created_at + 60000, s.created_at + 1260000
  FROM sessions s WHERE s.id % 5 IN (0, 1);
INSERT INTO events(session_id, type, number, at)
  SELECT s.id, 'tel_click', '+1555555' || printf('%04d', 1001 + s.id % 100), s.created_at + 30000
  FROM sessions s WHERE s.id % 10 = 0;
INSERT INTO calls(id, ext_id, account_id, provider, provider_call_id, number_id, pool_id,
                  to_number, from_number, started_at, status, duration, forwarded_to, method,
                  confidence, session_id, channel, source, medium, campaign, keyword, reason,
                  updated_at, ended_at)
  SELECT s.id / 5, 'call_' || (s.id / 5), 1, 'twilio', 'CA' || s.id,
         (SELECT min(id) FROM numbers) + s.id % 100, (SELECT id FROM pools),
         '+1555555' || printf('%04d', 1001 + s.id % 100),
         '+1' || CASE s.id % 4 WHEN 0 THEN '512' WHEN 1 THEN '415' WHEN 2 THEN '212' ELSE '305' END
              || printf('%07d', 2000000 + (s.id * 7919) % 800000),
         s.created_at + 120000,
         CASE WHEN (s.id / 5) % 10 < 7 THEN 'completed' WHEN (s.id / 5) % 10 < 9 THEN 'no-answer'
              ELSE 'busy' END,
         CASE WHEN (s.id / 5) % 10 < 7 THEN ((s.id / 5) * 37) % 600 + 1 ELSE 0 END,
         '+15555550100', 'exact', 1.0, s.id, s.channel, s.source, s.medium, s.campaign, s.keyword,
         'exact: the number was shown to this session', s.created_at + 600000,
         s.created_at + 600000
  FROM sessions s WHERE s.id % 5 = 0;
UPDATE calls SET first_caller = CASE WHEN EXISTS (SELECT 1 FROM calls e
    WHERE e.account_id = calls.account_id AND e.from_number = calls.from_number AND e.id < calls.id)
    THEN 0 ELSE 1 END;
INSERT INTO conversions(call_id, account_id, name, value, currency, at)
  SELECT id, 1, 'Phone call', 0, 'USD', ended_at FROM calls
  WHERE status = 'completed' AND duration >= 60;
INSERT INTO call_outcomes(call_id, account_id, lead_status, revenue, updated_at)
  SELECT id, 1, CASE id % 3 WHEN 0 THEN 'won' WHEN 1 THEN 'qualified' ELSE 'lost' END,
         CASE WHEN id % 3 = 0 THEN 10000 + (id % 50) * 1000 END, ended_at
  FROM calls WHERE id % 10 = 0;
INSERT INTO call_routes(provider, call_sid, account_id, plan, target, target_number, outcome,
                        payout, price, billable, started_at, updated_at)
  SELECT 'twilio', provider_call_id, 1, 'plan_bench', 'buyer_' || (id % 3),
         '+1555555020' || (id % 3), CASE WHEN status = 'completed' THEN 'connected' ELSE 'dialing' END,
         CASE WHEN status = 'completed' AND duration >= 90 THEN 2000 + (id % 3) * 1000 ELSE 0 END,
         2000 + (id % 3) * 1000,
         CASE WHEN status = 'completed' THEN duration >= 90 END, started_at, updated_at
  FROM calls;
INSERT INTO publishers(id, account_id, ext_id, name, payout, owns, created_at, updated_at)
  VALUES (1, 1, 'pub_search', 'Search affiliate', 800, '{"sources":["google","bing"]}', $START, $START),
         (2, 1, 'pub_social', 'Social affiliate', 600, '{"sources":["facebook"]}', $START, $START),
         (3, 1, 'pub_nums', 'Number reseller', 900,
          '{"numbers":["+15555551001","+15555551002","+15555551003"]}', $START, $START);
INSERT INTO publisher_claims(account_id, kind, value, publisher_id)
  VALUES (1, 'source', 'google', 1), (1, 'source', 'bing', 1), (1, 'source', 'facebook', 2),
         (1, 'number', '+15555551001', 3), (1, 'number', '+15555551002', 3),
         (1, 'number', '+15555551003', 3);
INSERT INTO call_payouts(call_id, account_id, publisher, publisher_name, payout, at)
  SELECT c.id, 1, COALESCE(p.ext_id, ''), COALESCE(p.name, ''), COALESCE(p.payout, 0), c.ended_at
  FROM calls c JOIN call_routes cr ON cr.provider = c.provider AND cr.call_sid = c.provider_call_id
  LEFT JOIN publishers p ON p.id = COALESCE(
    (SELECT publisher_id FROM publisher_claims WHERE account_id = 1 AND kind = 'number'
     AND value = c.to_number),
    (SELECT publisher_id FROM publisher_claims WHERE account_id = 1 AND kind = 'source'
     AND value = c.source))
  WHERE cr.billable = 1;
WITH RECURSIVE d(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM d WHERE k < $DAYS),
     c(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM c WHERE j < 49)
INSERT INTO ad_spend(account_id, platform, day, campaign, keyword, cost, currency, imported_at)
  SELECT 1, CASE j % 2 WHEN 0 THEN 'google_ads' ELSE 'meta' END,
         strftime('%Y-%m-%d', ($START / 1000) + k * 86400, 'unixepoch'), 'campaign-' || j, '',
         5000 + (j * 131 + k * 17) % 20000, 'USD', $NOW
  FROM d, c;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
ANALYZE;
SQL
echo "generated $DB: $(sqlite3 "$DB" 'select count(*) from sessions') sessions," \
  "$(sqlite3 "$DB" 'select count(*) from calls') calls," \
  "$(sqlite3 "$DB" 'select count(*) from ad_spend') spend rows in $(($(date +%s) - t0)) s," \
  "$(du -h "$DB" | cut -f1)"
