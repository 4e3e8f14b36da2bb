#!/bin/sh
# Instructions per request of one hot path, counted by valgrind's callgrind (user space only;
# kernel time is not counted), which the shared machine's load does not move, unlike CPU time.
# The server runs under callgrind with instrumentation off; WARM requests warm it up, then
# instrumentation is switched on for exactly N requests (CONNS keep-alive connections) and off
# again. Prints one line: "cg ROW n=N http=… writer=… ckpt=… reload=…" in instructions per
# request: the HTTP threads (every thread but the writer and the checkpointer, less the account
# snapshots' periodic reloads), the group-commit writer (od-writer), the WAL checkpointer, and the
# snapshot reloads that fell into the run (what accounts.c get() called besides its locks and
# lookup: the store reads of a reload; not in http=). A reload every 5 s falls on more requests
# under callgrind, which runs the server tens of times slower, than in a real run.
# Usage: bench/cg/run.sh visit|revisit|ping|webhook   Knobs: N (2000), WARM (500), CONNS (8),
#   POOL (1000 numbers; the webhook's 100), OPENDNI_BIN (build/opendni), KEEP (a directory to
#   keep the callgrind files in).
set -eu
ROW=${1:?usage: bench/cg/run.sh visit|revisit|ping|webhook}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BIN=${OPENDNI_BIN:-$root/build/opendni}
N=${N:-2000}
WARM=${WARM:-500}
CONNS=${CONNS:-8}
POOL=${POOL:-1000}
[ "$ROW" = webhook ] && POOL=${WEBHOOK_POOL:-100}
TOKEN=bench-webhook-token-0123456789
export OPENDNI_CONFIG=
OPENDNI_SECRETS_KEY=${OPENDNI_SECRETS_KEY:-$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')}
export OPENDNI_SECRETS_KEY
work=$(mktemp -d /tmp/opendni-cg.XXXXXX)
srv_pid=""
cleanup() {
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

db="$work/cg.db"
"$BIN" init --db "$db" >/dev/null 2>&1
ACCOUNT=$("$BIN" account create Bench --origin https://bench.example --json --db "$db" |
  sed 's/.*"account_id":"\([^"]*\)".*/\1/')
sqlite3 "$db" <<SQL
INSERT INTO pools(ext_id, account_id, name, target, forward_to, lease_ttl, cooldown, on_exhaust, created_at)
  SELECT 'pool_bench', id, 'bench', '+15555550100', '+15555550100', 1200, 1800, 'share', 0 FROM accounts;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $POOL)
INSERT INTO numbers(ext_id, account_id, number, pool_id, created_at)
  SELECT 'num_b' || i, (SELECT id FROM accounts), '+1212' || printf('%07d', 2000000 + i),
         (SELECT id FROM pools), 0 FROM n;
SQL
[ "$ROW" != webhook ] ||
  printf '%s\n' "$TOKEN" | "$BIN" account set "$ACCOUNT" --twilio-auth-token-file - --db "$db" >/dev/null

valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes \
  --callgrind-out-file="$work/cg.out.%p" "$BIN" serve --db "$db" --listen 127.0.0.1:0 \
  --port-file "$work/port" --log-level warn --rate-limit-visits 0 --max-new-sessions 0 \
  --client-share 0 --client-new-sessions 0 --max-conns-per-addr 0 2> "$work/serve.log" &
srv_pid=$!
for _ in $(seq 600); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "cg: the server did not start" >&2; cat "$work/serve.log" >&2; exit 1; }
srv="http://127.0.0.1:$(cat "$work/port")"
hdr='{"Content-Type":"text/plain","User-Agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"}'
total=$((WARM + N))
visits() { # COUNT: new-session visit requests
  body='{"account":"'$ACCOUNT'","url":"https://bench.example/landing?utm_source=google&utm_medium=cpc&utm_campaign=bench&utm_term=plumber&gclid=BENCH","referrer":"https://www.google.com/"}'
  awk -v n="$1" -v h="$hdr" -v b="$body" 'BEGIN { for (i = 0; i < n; i++) printf "/v1/visits\t%s\t%s\n", h, b }'
}
case $ROW in
  visit) visits "$total" > "$work/reqs" ;;
  revisit | ping)
    visits "$total" > "$work/new"
    node "$here/client.mjs" "$srv" "$CONNS" "$work/new" 0 "$total"
    sqlite3 "$db" "SELECT ext_id FROM sessions ORDER BY id" > "$work/ids"
    if [ "$ROW" = revisit ]; then
      awk -v a="$ACCOUNT" -v h="$hdr" '{ printf "/v1/visits\t%s\t{\"account\":\"%s\",\"url\":\"https://bench.example/page2\",\"referrer\":\"https://bench.example/landing\",\"session_id\":\"%s\"}\n", h, a, $1 }' "$work/ids" > "$work/reqs"
    else
      awk -v h="$hdr" '{ printf "/v1/visits/%s/ping\t%s\t{\"url\":null}\n", $1, h }' "$work/ids" > "$work/reqs"
    fi ;;
  webhook)
    sqlite3 "$db" "SELECT number FROM numbers ORDER BY id" > "$work/numbers"
    node "$root/bench/webhook/gen.mjs" "$srv/v1/telephony/twilio/voice" "$TOKEN" "$work/numbers" "$total" "$work/signed"
    awk -F '\t' '{ printf "/v1/telephony/twilio/voice\t{\"Content-Type\":\"application/x-www-form-urlencoded\",\"X-Twilio-Signature\":\"%s\"}\t%s\n", $1, $2 }' "$work/signed" > "$work/reqs" ;;
  *) echo "cg: unknown row $ROW" >&2; exit 2 ;;
esac
node "$here/client.mjs" "$srv" "$CONNS" "$work/reqs" 0 "$WARM"
callgrind_control -i on "$srv_pid" >/dev/null 2>&1
node "$here/client.mjs" "$srv" "$CONNS" "$work/reqs" "$WARM" "$N"
callgrind_control -i off "$srv_pid" >/dev/null 2>&1
kill "$srv_pid"
wait "$srv_pid" 2>/dev/null || true
srv_pid=""
[ -z "${KEEP:-}" ] || cp "$work"/cg.out.* "$KEEP"/
http=0 writer=0 ckpt=0 reload=0
for f in "$work"/cg.out.*; do
  t=$(awk '/^totals:/ { print $2 }' "$f")
  [ -n "$t" ] || t=0
  # the reloads: what accounts.c get() called besides its fast path's locks and lookup
  r=$(callgrind_annotate --inclusive=yes --tree=calling --threshold=100 "$f" 2>/dev/null |
    awk '/\*  .*accounts\.c:get( |$)/ { p = 1; next } p && /^ *$/ { p = 0 }
         p && /> / && !/pthread_mutex|strcmp/ { gsub(/,/, "", $1); r += $1 }
         END { print r + 0 }')
  [ -n "$r" ] || r=0
  if grep -q 'fn=([0-9]*) run_batch$' "$f"; then writer=$((writer + t))
  elif grep -q 'fn=([0-9]*) checkpoint_loop$' "$f"; then ckpt=$((ckpt + t))
  else http=$((http + t - r)); reload=$((reload + r)); fi
done
awk -v row="$ROW" -v n="$N" -v h="$http" -v w="$writer" -v c="$ckpt" -v r="$reload" 'BEGIN {
  printf "cg %s n=%d http=%.1fk writer=%.1fk ckpt=%.1fk reload=%.1fk (instructions per request)\n",
    row, n, h / n / 1000, w / n / 1000, c / n / 1000, r / n / 1000 }'
