#!/bin/sh
# The page views' cost on the visit path (issue 14): CPU µs per request (bench/cpu.sh) of new
# sessions, repeat page views (each a page view), pings of the same page and pings reporting a new
# page each time (bench/spa.lua), for BIN (default build/opendni); run it with two binaries back
# to back to compare them. DURATION (5 s), CONNS (32), THREADS (2).
set -eu
cd "$(dirname "$0")/.."
BIN=${1:-build/opendni}
DURATION=${DURATION:-5}; CONNS=${CONNS:-32}; THREADS=${THREADS:-2}; POOL=2000
. bench/cpu.sh
work=$(mktemp -d /tmp/opendni-pv.XXXXXX)
srv_pid=""
trap '[ -n "$srv_pid" ] && kill $srv_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
export OPENDNI_SECRETS_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
db="$work/b.db"
"$BIN" init --db "$db" >/dev/null
acct=$("$BIN" account create Bench --origin https://bench.example --json --db "$db")
ACCOUNT=$(echo "$acct" | sed 's/.*"account_id":"\([^"]*\)".*/\1/'); export ACCOUNT
sqlite3 "$db" <<SQL
INSERT INTO pools(ext_id, account_id, name, target, forward_to, lease_ttl, cooldown, on_exhaust, created_at)
  SELECT 'pool_bench', id, 'bench', '+15555550100', '+15555550100', 1200, 1800, 'share', 0 FROM accounts;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $POOL)
INSERT INTO numbers(ext_id, account_id, number, pool_id, created_at)
  SELECT 'num_b' || i, (SELECT id FROM accounts), '+1212' || printf('%07d', 2000000 + i), (SELECT id FROM pools), 0 FROM n;
SQL
$SRV_PIN "$BIN" serve --db "$db" --listen 127.0.0.1:0 --port-file "$work/port" --log-level warn \
  --rate-limit-visits 0 --max-new-sessions 0 --client-share 0 --client-new-sessions 0 --max-conns-per-addr 0 2> "$work/serve.log" &
srv_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
srv="http://127.0.0.1:$(cat $work/port)"
visit=$(bench_wrk "$srv_pid" bench/visit.lua "$srv/v1/visits")
sqlite3 "$db" "SELECT ext_id FROM sessions ORDER BY id DESC LIMIT 100000" > "$work/recent"
revisit=$(SESSIONS="$work/recent" bench_wrk "$srv_pid" bench/revisit.lua "$srv/v1/visits")
sqlite3 "$db" "SELECT ext_id FROM sessions ORDER BY id DESC LIMIT 10000" > "$work/sessions"
ping=$(SESSIONS="$work/sessions" bench_wrk "$srv_pid" bench/ping.lua "$srv/v1/visits/x/ping")
sqlite3 "$db" "SELECT ext_id FROM sessions ORDER BY id DESC LIMIT 100000" > "$work/spa"
spa=$(SESSIONS="$work/spa" bench_wrk "$srv_pid" bench/spa.lua "$srv/v1/visits/x/ping")
pv=$(sqlite3 "$db" "SELECT COUNT(*) FROM page_views" 2>/dev/null || echo "-")
b=$(echo "$visit" | awk '{print $2}')
echo "(the \"vs nginx\" column is against the new-session row here)"
bench_head
bench_row "POST /v1/visits (new session)" "$visit" "$b"
bench_row "POST /v1/visits (repeat page view)" "$revisit" "$b"
bench_row "ping, same page (url null)" "$ping" "$b"
bench_row "ping, a new page each (SPA)" "$spa" "$b"
echo "page_views rows: $pv"
