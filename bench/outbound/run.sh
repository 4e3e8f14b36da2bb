#!/bin/sh
# The outbound benchmark (issue 16): does sending slow the visit and webhook paths? The same wrk
# runs as bench/run's "POST /v1/visits (new session)" and "POST twilio voice webhook" rows, while
# a driver (driver.mjs) posts new calls to a second account: first with no destination (nothing
# leaves the server), then with DESTS webhook destinations of that account taking call.started on
# a local receiver (receiver.mjs; the server runs with --outbound-allow-private), so RATE events a
# second are signed and sent by the outbox's sender thread. Prints bench/run's
# table, the events the receiver got per second, the server's CPU per event with the sending
# alone (no wrk; by thread), and the outbox rows still pending at the end.
# Then the same two paths at a paced load (PACE, 50 % by default, of the rate the first rows
# reached with nothing going out; bench/outbound/paced.lua), with and without the events: at
# saturation a row shows the CPU the sending takes from the visits, paced whether a visitor's
# request waits longer for it (latency at the same load). Last, the destinations are deleted and
# the rows with nothing going out run again: every run grows the store (calls, sessions, the
# delivery log), so the rows after differ from the rows before by drift alone, which bounds what
# the rows with the sending owe to it.
# Knobs: DURATION (s, 10), CONNS (64, visits), WEBHOOK_CONNS (32), THREADS (2), RATE (1000 events/s
# out), DESTS (50 webhook destinations, each taking every call.started: the driver posts
# RATE/DESTS calls a second; one destination cannot take 1,000 a second at 4 requests in flight),
# POOL (10000), PIN (see bench/cpu.sh: the server on CPU 1, wrk, driver and receiver on CPU 0),
# PACE (50: the paced rows' load, % of the saturated rate with nothing going out; 0 skips them),
# WARM (3: visit runs before the first row, not reported: the numbers' lease history fills),
# KEEP (set: the work directory, with the server's log and store, is kept).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BIN=${OPENDNI_BIN:-$root/build/opendni}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
WEBHOOK_CONNS=${WEBHOOK_CONNS:-32}
THREADS=${THREADS:-2}
RATE=${RATE:-1000}
DESTS=${DESTS:-50}
POOL=${POOL:-10000}
PACE=${PACE:-50}
WARM=${WARM:-3}
TOKEN=bench-webhook-token-0123456789
. "$root/bench/cpu.sh"
OPENDNI_SECRETS_KEY=${OPENDNI_SECRETS_KEY:-$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')}
export OPENDNI_SECRETS_KEY
work=$(mktemp -d /tmp/opendni-outbound.XXXXXX)
srv_pid=""
rx_pid=""
drv_pid=""
cleanup() {
  for p in $drv_pid $srv_pid $rx_pid; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

db="$work/bench.db"
"$BIN" init --db "$db" >/dev/null
acct=$("$BIN" account create Bench --origin https://bench.example --json --db "$db")
ACCOUNT=$(echo "$acct" | sed 's/.*"account_id":"\([^"]*\)".*/\1/')
API_KEY=$(echo "$acct" | sed 's/.*"api_key":"\([^"]*\)".*/\1/')
export ACCOUNT
printf '%s\n' "$TOKEN" | "$BIN" account set "$ACCOUNT" --twilio-auth-token-file - --db "$db" >/dev/null
# A second account takes the driver's calls and owns the destinations, so the events going out
# are the driver's RATE a second whatever wrk does; wrk's visits and calls go to the first.
drv_acct=$("$BIN" account create Driven --origin https://driven.example --json --db "$db")
DRV_ACCOUNT=$(echo "$drv_acct" | sed 's/.*"account_id":"\([^"]*\)".*/\1/')
DRV_KEY=$(echo "$drv_acct" | sed 's/.*"api_key":"\([^"]*\)".*/\1/')
printf '%s\n' "$TOKEN" | "$BIN" account set "$DRV_ACCOUNT" --twilio-auth-token-file - --db "$db" >/dev/null
sqlite3 "$db" <<SQL
INSERT INTO pools(ext_id, account_id, name, target, forward_to, lease_ttl, cooldown, on_exhaust, created_at)
  SELECT 'pool_bench', id, 'bench', '+15555550100', '+15555550100', 1200, 1800, 'share', 0
  FROM accounts WHERE ext_id = '$ACCOUNT';
INSERT INTO pools(ext_id, account_id, name, target, forward_to, lease_ttl, cooldown, on_exhaust, created_at)
  SELECT 'pool_driven', id, 'driven', '+15555550200', '+15555550200', 1200, 1800, 'share', 0
  FROM accounts WHERE ext_id = '$DRV_ACCOUNT';
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $POOL)
INSERT INTO numbers(ext_id, account_id, number, pool_id, created_at)
  SELECT 'num_b' || i, p.account_id, '+1212' || printf('%07d', 2000000 + i), p.id, 0
  FROM n, pools p WHERE p.ext_id = 'pool_bench';
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
INSERT INTO numbers(ext_id, account_id, number, pool_id, created_at)
  SELECT 'num_d' || i, p.account_id, '+1313' || printf('%07d', 2000000 + i), p.id, 0
  FROM n, pools p WHERE p.ext_id = 'pool_driven';
SQL
$SRV_PIN "$BIN" serve --db "$db" --listen 127.0.0.1:0 --port-file "$work/port" --log-level warn \
  --rate-limit-visits 0 --max-new-sessions 0 --client-share 0 --client-new-sessions 0 \
  --max-conns-per-addr 0 --outbound-allow-private 2> "$work/serve.log" &
srv_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
srv="http://127.0.0.1:$(cat "$work/port")"
voice="$srv/v1/telephony/twilio/voice"

# Pre-signed unique calls: for the wrk webhook runs (two of them) and the driver.
sqlite3 "$db" "SELECT number FROM numbers WHERE ext_id LIKE 'num_b%' ORDER BY id LIMIT 1000" > "$work/numbers"
sqlite3 "$db" "SELECT number FROM numbers WHERE ext_id LIKE 'num_d%' ORDER BY id" > "$work/numbers_d"
n_wrk=$((DURATION * 20000))
CALL_RATE=$(( (RATE + DESTS - 1) / DESTS ))
runs=6
[ "$PACE" -gt 0 ] && runs=12
n_drv=$((CALL_RATE * ((runs + WARM) * DURATION + 20)))
node "$root/bench/webhook/gen.mjs" "$voice" "$TOKEN" "$work/numbers" $((6 * n_wrk)) "$work/all"
split -n l/6 -d -a 1 "$work/all" "$work/reqs" # reqs0..reqs5: one set of unique calls per run
node "$root/bench/webhook/gen.mjs" "$voice" "$TOKEN" "$work/numbers_d" "$n_drv" "$work/drive"

row_visit() { bench_wrk "$srv_pid" "$root/bench/visit.lua" "$srv/v1/visits"; }
# outbox_ticks: the CPU clock ticks the sender thread (od-outbox) used so far. Its CPU is in the
# table's HTTP column (the threads other than the writer and checkpointer); this splits it out.
outbox_ticks() {
  for _t in /proc/"$srv_pid"/task/*; do
    [ "$(cat "$_t/comm" 2>/dev/null)" = od-outbox ] || continue
    sed 's/^.*) //' "$_t/stat" | awk '{ print $12 + $13 }'
    return
  done
  echo 0
}
row_webhook() {
  WEBHOOK_REQS="$1" CONNS=$WEBHOOK_CONNS bench_wrk "$srv_pid" "$root/bench/webhook/webhook.lua" "$voice"
}
# Paced rows (bench/outbound/paced.lua): PACE_MS from the saturated rate ($1 req/s) and CONNS.
pace_ms() { awk -v r="$1" -v c="$2" -v p="$PACE" 'BEGIN { printf "%.1f\n", c * 1000 / (r * p / 100) }'; }
row_visit_paced() {
  PACED_SCRIPT="$root/bench/visit.lua" PACE_MS="$1" bench_wrk "$srv_pid" "$here/paced.lua" "$srv/v1/visits"
}
row_webhook_paced() {
  PACED_SCRIPT="$root/bench/webhook/webhook.lua" PACE_MS="$2" WEBHOOK_REQS="$1" CONNS=$WEBHOOK_CONNS \
    bench_wrk "$srv_pid" "$here/paced.lua" "$voice"
}

# A driver posts RATE new calls/s through all four runs, so both pairs of rows carry the same
# load of calls; the second pair adds the webhook destination: every call.started (the driver's
# and wrk's) is signed and sent out.
$CLI_PIN node "$here/receiver.mjs" > "$work/rx.out" &
rx_pid=$!
for _ in $(seq 50); do [ -s "$work/rx.out" ] && break; sleep 0.1; done
rx_port=$(head -n 1 "$work/rx.out")
$CLI_PIN node "$here/driver.mjs" "$voice" "$work/drive" "$CALL_RATE" $(((runs + WARM) * DURATION + 15)) > "$work/drv.out" &
drv_pid=$!
sleep 2

# Warm-up, not reported: WARM visit runs first, so the numbers' lease history (the up to 64
# holders a call's attribution reads, app/calls.c) is as full as in a store that has run for a
# while; on a new store the webhook rows' cost grows run by run with it.
for _ in $(seq "$WARM"); do row_visit > /dev/null; done

# --- the calls, nothing leaves ---
visit_q=$(row_visit)
hook_q=$(row_webhook "$work/reqs0")
if [ "$PACE" -gt 0 ]; then
  visit_pace=$(pace_ms "$(echo "$visit_q" | cut -d' ' -f2)" "$CONNS")
  hook_pace=$(pace_ms "$(echo "$hook_q" | cut -d' ' -f2)" "$WEBHOOK_CONNS")
  visit_pq=$(row_visit_paced "$visit_pace")
  hook_pq=$(row_webhook_paced "$work/reqs1" "$hook_pace")
fi

# --- the same, every call.started sent out ---
for i in $(seq "$DESTS"); do
  curl -sf -X POST "$srv/v1/webhooks" -H "Authorization: Bearer $DRV_KEY" -H 'Content-Type: application/json' \
    -d "{\"url\":\"http://127.0.0.1:$rx_port/hook/$i\",\"events\":[\"call.started\"]}" |
    sed 's/.*"id":"\([^"]*\)".*/\1/' >> "$work/dests"
done
sleep 3 # the flow settles
count() { kill -USR2 "$rx_pid"; sleep 0.2; grep '^COUNT' "$work/rx.out" | tail -n 1 | cut -d' ' -f2; }
# The sending alone (no wrk) for DURATION s: the server's CPU per event received, by thread.
s0=$(cpu_ticks "$srv_pid")
so0=$(outbox_ticks)
sg0=$(count)
sleep "$DURATION"
s1=$(cpu_ticks "$srv_pid")
so1=$(outbox_ticks)
sg1=$(count)
got0=$(count)
t0=$(date +%s.%N)
o0=$(outbox_ticks)
visit_f=$(row_visit)
o1=$(outbox_ticks)
got1=$(count)
t1=$(date +%s.%N)
hook_f=$(row_webhook "$work/reqs2")
o2=$(outbox_ticks)
got2=$(count)
t2=$(date +%s.%N)
if [ "$PACE" -gt 0 ]; then
  visit_pf=$(row_visit_paced "$visit_pace")
  hook_pf=$(row_webhook_paced "$work/reqs3" "$hook_pace")
  got3=$(count)
  t3=$(date +%s.%N)
fi

# --- nothing leaves again: the store has grown since the first rows (every run adds calls and
# sessions, the sending adds its log), so a difference between the first rows and these is drift,
# not the sending ---
while read -r wh; do
  curl -sf -X DELETE "$srv/v1/webhooks/$wh" -H "Authorization: Bearer $DRV_KEY" > /dev/null
done < "$work/dests"
sleep 3 # what was claimed is sent
visit_q2=$(row_visit)
hook_q2=$(row_webhook "$work/reqs4")
if [ "$PACE" -gt 0 ]; then
  visit_pq2=$(row_visit_paced "$visit_pace")
  hook_pq2=$(row_webhook_paced "$work/reqs5" "$hook_pace")
fi
wait "$drv_pid" || true
drv_pid=""
# pending: messages with a row due again, and the published events after each cursor (sql/0033)
pending=$(sqlite3 "$db" "SELECT (SELECT COUNT(*) FROM outbox WHERE state = 0) + (SELECT COUNT(*)
  FROM outbox_cursors c JOIN outbox_events e ON e.account_id = c.account_id AND e.fanout = 1
  AND e.id > c.pos)")
delivered=$(sqlite3 "$db" "SELECT COUNT(*) FROM outbox_attempts WHERE status BETWEEN 200 AND 299")

pinning="unpinned"
[ "$PIN" = 1 ] && pinning="server pinned to CPU 1; wrk, driver and receiver on CPU 0"
echo "machine: $(nproc) cores, $(uname -sr); wrk -t$THREADS -d${DURATION}s (visits c=$CONNS, webhooks c=$WEBHOOK_CONNS); $pinning"
echo "every row: a driver posts $CALL_RATE new calls/s to a second account; 'all out': each call.started goes to its $DESTS destinations = $((CALL_RATE * DESTS)) events/s, signed and sent to a local receiver"
bench_head
set -- $visit_q
base=$2
bench_row "POST /v1/visits, none out" "$visit_q" "$base"
bench_row "POST /v1/visits, $((CALL_RATE * DESTS)) events/s out" "$visit_f" "$base"
bench_row "POST /v1/visits, none out again" "$visit_q2" "$base"
bench_row "twilio voice webhook, none out" "$hook_q" "$base"
bench_row "  same, $((CALL_RATE * DESTS)) events/s out" "$hook_f" "$base"
bench_row "  same, none out again" "$hook_q2" "$base"
if [ "$PACE" -gt 0 ]; then
  bench_row "POST /v1/visits, paced, none out" "$visit_pq" "$base"
  bench_row "POST /v1/visits, paced, events out" "$visit_pf" "$base"
  bench_row "POST /v1/visits, paced, none again" "$visit_pq2" "$base"
  bench_row "voice webhook, paced, none out" "$hook_pq" "$base"
  bench_row "  same, paced, events out" "$hook_pf" "$base"
  bench_row "  same, paced, none out again" "$hook_pq2" "$base"
fi
echo "(the 'vs nginx' column here is relative to the first row; paced: each connection waits a random 0-2×${visit_pace:-} ms (visits) / 0-2×${hook_pace:-} ms (webhooks) before each request, about $PACE % of the first rows' rates)"
awk -v a="$got0" -v b="$got1" -v c="$got2" -v s="$t0" -v m="$t1" -v e="$t2" 'BEGIN {
  printf "events received: %.0f/s during the visit run, %.0f/s during the webhook run\n", (b - a) / (m - s), (c - b) / (e - m) }'
[ "$PACE" -gt 0 ] && awk -v a="$got2" -v b="$got3" -v s="$t2" -v e="$t3" 'BEGIN {
  printf "events received: %.0f/s during the paced runs\n", (b - a) / (e - s) }'
awk -v a="$s0" -v b="$s1" -v o0="$so0" -v o1="$so1" -v g0="$sg0" -v g1="$sg1" -v hz="$CPU_HZ" 'BEGIN {
  split(a, x, " "); split(b, y, " "); n = g1 - g0; if (n < 1) n = 1; k = 1e6 / hz / n
  t = (y[1] - x[1]) * k; w = (y[2] - x[2]) * k; c = (y[3] - x[3]) * k; o = (o1 - o0) * k
  printf "sending alone (no wrk): %d events received; server CPU per event %.1f µs = sender thread %.1f + writer %.1f + checkpointer %.1f + HTTP (the driver'"'"'s calls) %.1f\n",
    n, t, o, w, c, t - o - w - c }'
# The sender thread's CPU per event received, and the HTTP column without it (µs per request).
set -- $visit_f
v_n=$7 v_http=$9
set -- $hook_f
h_n=$7 h_http=${9}
awk -v a="$got0" -v b="$got1" -v c="$got2" -v o0="$o0" -v o1="$o1" -v o2="$o2" -v hz="$CPU_HZ" \
  -v vn="$v_n" -v vh="$v_http" -v hn="$h_n" -v hh="$h_http" 'BEGIN {
  k = 1e6 / hz
  printf "sender thread (od-outbox): %.1f µs CPU per event sent during the visit run, %.1f during the webhook run\n",
    (o1 - o0) * k / (b > a ? b - a : 1), (o2 - o1) * k / (c > b ? c - b : 1)
  printf "HTTP µs/req without the sender thread: visits %.1f, webhooks %.1f\n",
    vh - (o1 - o0) * k / vn, hh - (o2 - o1) * k / hn }'
echo "driver: $(cat "$work/drv.out"); outbox at the end: $delivered delivered, $pending pending"
