#!/bin/sh
# The webhook benchmark: wrk posting signed Twilio voice webhooks, each a new call (unique
# CallSid and caller), to POST /v1/telephony/twilio/voice with 32 connections for DURATION s.
# Every request verifies the signature, attributes the call and commits it before answering.
#   Prints one line "RESULT req/s p50_ms p99_ms non2xx errors requests cpu_us http_us writer_us
#   ckpt_us" (the server's CPU per request, see bench/cpu.sh) for bench/run's table.
#   With SRV_URL (a running server) and DB (its store), and SRV_PID (its pid) for the CPU figures;
#   without SRV_URL it starts a server of its own, and with WEBHOOK_BASELINE=1 (the default) also
#   nginx `return 200`, and prints the table itself (bench/run's columns) after the RESULT line.
# Knobs: DURATION (s, 10), WEBHOOK_CONNS (32), THREADS (2), WEBHOOK_N (pre-signed calls: 50,000
# per second of DURATION, so that none is sent twice), LISTENERS (0: with a server of its own,
# that many `curl` clients read GET /v1/stream during the run, each getting every call event),
# PIN (1: the servers on CPU 1, wrk and the listeners on CPU 0; see bench/cpu.sh), PERF_DATA (a
# file: the server's perf profile over the webhook run, bench/cpu.sh perf_start; PROFILE=0: none).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BIN=${OPENDNI_BIN:-$root/build/opendni}
export OPENDNI_CONFIG= # an installed /etc/opendni/opendni.conf does not apply to the bench
DURATION=${DURATION:-10}
CONNS=${WEBHOOK_CONNS:-32}
THREADS=${THREADS:-2}
N=${WEBHOOK_N:-$((DURATION * 50000))}
LISTENERS=${LISTENERS:-0}
TOKEN=bench-webhook-token-0123456789
PATH_VOICE=/v1/telephony/twilio/voice
. "$root/bench/cpu.sh"
# Provider secrets are sealed with a key outside the database: a random one for this run (with
# SRV_URL, the caller's server must have been started with the same OPENDNI_SECRETS_KEY).
OPENDNI_SECRETS_KEY=${OPENDNI_SECRETS_KEY:-$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')}
export OPENDNI_SECRETS_KEY
work=$(mktemp -d /tmp/opendni-webhook.XXXXXX)
srv_pid=""
ngx_pid=""
listener_pids=""
cleanup() {
  for p in $listener_pids; do kill "$p" 2>/dev/null || true; done
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null || true
  [ -n "$ngx_pid" ] && kill "$ngx_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

start_nginx() {
  ngx_port=$(free_port)
  mkdir -p "$work/nginx/logs"
  sed "s/@PORT@/$ngx_port/; s#@DIR@#$work/nginx#g" "$root/bench/nginx.conf" > "$work/nginx/nginx.conf"
  $SRV_PIN nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/logs/error.log" &
  ngx_pid=$!
}

# A store with one account and a 100-number pool, and a server on it.
start_server() {
  DB="$work/webhook.db"
  "$BIN" init --db "$DB" >/dev/null 2>"$work/init.log"
  API_KEY=$("$BIN" account create Bench --origin https://bench.example --json --db "$DB" |
    sed 's/.*"api_key":"\([^"]*\)".*/\1/')
  sqlite3 "$DB" <<SQL
INSERT INTO pools(ext_id, account_id, name, target, forward_to, lease_ttl, cooldown, on_exhaust, created_at)
  SELECT 'pool_bench', id, 'bench', '+15555550100', '+15555550100', 1200, 1800, 'share', 0 FROM accounts;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
INSERT INTO numbers(ext_id, account_id, number, pool_id, created_at)
  SELECT 'num_b' || i, (SELECT id FROM accounts), '+1212' || printf('%07d', 2000000 + i),
         (SELECT id FROM pools), 0 FROM n;
SQL
  $SRV_PIN "$BIN" serve --db "$DB" --listen 127.0.0.1:0 --port-file "$work/port" --log-level warn \
    --rate-limit-visits 0 --max-new-sessions 0 --max-conns-per-addr 0 2> "$work/serve.log" &
  srv_pid=$!
  for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
  SRV_URL="http://127.0.0.1:$(cat "$work/port")"
}

alone=0
if [ -z "${SRV_URL:-}" ]; then
  alone=1
  [ "${WEBHOOK_BASELINE:-1}" = 1 ] || alone=2 # own server, no nginx: bench/run has the baseline
  [ "$alone" = 1 ] && start_nginx
  start_server
  SRV_PID=$srv_pid
fi
: "${DB:?DB (the server's store) is needed with SRV_URL}"

# The first account answers the calls: give it the token the requests are signed with.
account=$(sqlite3 "$DB" "SELECT ext_id FROM accounts ORDER BY id LIMIT 1")
printf '%s\n' "$TOKEN" | "$BIN" account set "$account" --twilio-auth-token-file - --db "$DB" >/dev/null
sqlite3 "$DB" "SELECT number FROM numbers WHERE pool_id IS NOT NULL AND account_id =
  (SELECT id FROM accounts WHERE ext_id = '$account') ORDER BY id LIMIT 1000" > "$work/numbers"
node "$here/gen.mjs" "$SRV_URL$PATH_VOICE" "$TOKEN" "$work/numbers" "$N" "$work/reqs"

# Wait until the server accepts the token (account caches refresh within seconds).
probe=$(head -n 1 "$work/reqs")
ok=0
for _ in $(seq 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$SRV_URL$PATH_VOICE" \
    -H 'Content-Type: application/x-www-form-urlencoded' \
    -H "X-Twilio-Signature: ${probe%%	*}" --data "${probe#*	}" || true)
  [ "$code" = 200 ] && ok=1 && break
  sleep 0.1
done
[ "$ok" = 1 ] || { echo "webhook bench: the server refused the signed webhook ($code)" >&2; exit 1; }
if [ "$LISTENERS" -gt 0 ] && [ -n "${API_KEY:-}" ]; then
  for _ in $(seq "$LISTENERS"); do
    $CLI_PIN curl -sN -H "Authorization: Bearer $API_KEY" "$SRV_URL/v1/stream" > /dev/null 2>&1 &
    listener_pids="$listener_pids $!"
  done
  sleep 1
fi
sed -i 1d "$work/reqs"

result=$(WEBHOOK_REQS="$work/reqs" bench_wrk "${SRV_PID:-}" "$here/webhook.lua" "$SRV_URL$PATH_VOICE")
echo "$result"
if [ "$alone" = 1 ]; then
  base=$(PERF_DATA= bench_wrk "$(cpu_children "$ngx_pid")" "$root/bench/baseline.lua" "http://127.0.0.1:$ngx_port/")
  set -- $base
  bench_head
  bench_row "nginx return 200 (baseline)" "$base" "$2"
  bench_row "POST twilio voice webhook (c=$CONNS)" "$result" "$2"
fi
