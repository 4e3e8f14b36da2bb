#!/bin/sh
# The PostgreSQL rows of make bench: a throwaway PostgreSQL (scripts/pg-test-server: fsync and
# synchronous_commit on, so every answer is durable) with two `opendni serve` nodes on it, and
# wrk driving new-session visits and signed Twilio voice webhooks through one node (all CONNS
# connections to node A) and through two (CONNS/2 to each, two wrk at once, the figures summed;
# p50 is the mean of the two and p99 the larger). Prints, per row, "ROW<TAB>label<TAB>result",
# result as bench_wrk prints it (bench/cpu.sh; for two nodes the CPU is both nodes') followed by
# the PostgreSQL server's CPU µs per request: its postmaster and every child (backends,
# walwriter, checkpointer, autovacuum; children that exit are counted through the postmaster's
# cutime/cstime). bench/run puts them in its table. Everything on 127.0.0.1; the trap stops the
# nodes and the PostgreSQL server and removes its directory.
# Knobs: PG (1; 0 skips, printing one line), PG_POOLS (4: the accounts, one pool each, of the
# several-pools row), POOL (10000 numbers per pool), DURATION, CONNS, THREADS, PIN (bench/cpu.sh:
# the nodes and PostgreSQL on CPU 1, wrk on CPU 0), PG_CPU (with PIN=1, the CPU PostgreSQL is
# pinned to: 1, the nodes' (default), or 0, wrk's, so that it has a core to share with wrk
# alone), PG_STATS (0; 1 loads pg_stat_statements
# (track=all, so the statements inside od_lease_claim too) and prints, on stderr after the
# one-node one-pool visit row (after each run with PG_VISIT_RUNS), every statement's calls,
# execution time and shared buffers per visit, the top 20 by time).
# Without PostgreSQL installed, prints one line saying so and exits 0.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BIN=${OPENDNI_BIN:-$root/build/opendni}
export OPENDNI_CONFIG= # an installed /etc/opendni/opendni.conf does not apply to the bench
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
POOL=${POOL:-10000}
PG_POOLS=${PG_POOLS:-4}
WH_CONNS=${WEBHOOK_CONNS:-32}
if [ "${PG:-1}" = 0 ]; then echo "PostgreSQL rows skipped (PG=0)"; exit 0; fi
if ! command -v pg_ctl >/dev/null 2>&1 && ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  echo "PostgreSQL rows skipped: PostgreSQL is not installed (scripts/install-deps installs it)"
  exit 0
fi
. "$root/bench/cpu.sh"
OPENDNI_SECRETS_KEY=${OPENDNI_SECRETS_KEY:-$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')}
export OPENDNI_SECRETS_KEY
work=$(mktemp -d /tmp/opendni-pgbench.XXXXXX)
state="$work/pg.state"
node_a="" node_b=""
cleanup() {
  [ -n "$node_a" ] && kill "$node_a" 2>/dev/null || true
  [ -n "$node_b" ] && kill "$node_b" 2>/dev/null || true
  wait 2>/dev/null || true
  "$root/scripts/pg-test-server" stop "$state" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "${PG_STATS:-0}" = 1 ]; then
  PG_TEST_SERVER_OPTS="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
  export PG_TEST_SERVER_OPTS
fi
PG_PIN=$SRV_PIN
[ "$PIN" = 1 ] && PG_PIN="taskset -c ${PG_CPU:-1}"
$PG_PIN "$root/scripts/pg-test-server" start "$state" >/dev/null 2>"$work/pg.err" ||
  { echo "bench/pg: PostgreSQL did not start:" >&2; cat "$work/pg.err" >&2; exit 1; }
. "$state"
DB=$OPENDNI_PG_URL
pm=$(head -n 1 "$PGDIR/data/postmaster.pid")
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$DB" "$@"; }

# PostgreSQL's CPU so far, in clock ticks: the postmaster (with its exited children) and its
# live children.
pg_ticks() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v pm="$pm" '{
    pid = $1; s = $0; sub(/^.*\) /, "", s); split(s, f, " ")
    if (pid == pm) t += f[12] + f[13] + f[14] + f[15]; else if (f[2] == pm) t += f[12] + f[13] }
    END { print t + 0 }'
}
pg_per_req() { awk -v a="$1" -v b="$2" -v n="$3" -v hz="$CPU_HZ" 'BEGIN {
  if (n <= 0) print "-"; else printf "%.1f\n", (b - a) * 1e6 / hz / n }'; }

# pg_stat_statements (PG_STATS=1): stats_reset before a run, stats_print VISITS after it.
stats_reset() { [ "${PG_STATS:-0}" = 1 ] && q -c "SELECT pg_stat_statements_reset()" >/dev/null || true; }
stats_print() {
  [ "${PG_STATS:-0}" = 1 ] || return 0
  q -F ' | ' <<SQL >&2
SELECT 'pg_stat_statements per visit (' || $1 || ' visits): calls | exec µs | buffers | top | statement';
SELECT to_char(calls::float8 / $1, 'FM990.00'), to_char(total_exec_time * 1000 / $1, 'FM99990.0'),
       to_char((shared_blks_hit + shared_blks_read)::float8 / $1, 'FM99990.0'),
       CASE WHEN toplevel THEN 'top' ELSE 'nested' END,
       left(regexp_replace(query, '\s+', ' ', 'g'), 90)
FROM pg_stat_statements WHERE calls > 0 ORDER BY total_exec_time DESC LIMIT 20;
SQL
}
visits_of() { set -- $1; echo "${7:-0}"; } # the requests of a result line

# The store: PG_POOLS accounts, each with one share-mode pool of POOL numbers.
"$BIN" init --db "$DB" >/dev/null
accounts=""
api_key=""
for i in $(seq "$PG_POOLS"); do
  out=$("$BIN" account create "Bench $i" --origin https://bench.example --json --db "$DB")
  a=$(echo "$out" | sed 's/.*"account_id":"\([^"]*\)".*/\1/')
  [ -n "$api_key" ] || api_key=$(echo "$out" | sed 's/.*"api_key":"\([^"]*\)".*/\1/')
  accounts="$accounts${accounts:+,}$a"
done
ACCOUNT1=${accounts%%,*}
q <<SQL
INSERT INTO pools(ext_id, account_id, name, target, forward_to, lease_ttl, cooldown, on_exhaust, created_at)
  SELECT 'pool_bench' || id, id, 'bench', '+15555550100', '+15555550100', 1200, 1800, 'share', 0 FROM accounts;
INSERT INTO numbers(ext_id, account_id, number, pool_id, created_at)
  SELECT 'num_b' || p.id || '_' || i, p.account_id, '+1' || (2120000000 + p.id * 100000 + i), p.id, 0
  FROM pools p, generate_series(1, $POOL) i;
ANALYZE;
SQL
[ "${PG_STATS:-0}" = 1 ] && q -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
TOKEN=bench-webhook-token-0123456789
printf '%s\n' "$TOKEN" | "$BIN" account set "$ACCOUNT1" --twilio-auth-token-file - --db "$DB" >/dev/null

PUBLIC=http://bench.invalid
start_node() { # NAME: starts a node, sets node_NAME's pid and url_NAME
  $SRV_PIN "$BIN" serve --db "$DB" --listen 127.0.0.1:0 --port-file "$work/port.$1" \
    --spool-dir "$work/spool.$1" --public-url "$PUBLIC" --log-level warn --rate-limit-visits 0 --max-new-sessions 0 \
    --client-share 0 --client-new-sessions 0 --max-conns-per-addr 0 2> "$work/serve.$1.log" &
  eval "node_$1=\$!"
  for _ in $(seq 100); do [ -s "$work/port.$1" ] && break; sleep 0.1; done
  [ -s "$work/port.$1" ] || { echo "bench/pg: node $1 did not start:" >&2; cat "$work/serve.$1.log" >&2; exit 1; }
  eval "url_$1=http://127.0.0.1:\$(cat \"\$work/port.\$1\")"
}
start_node a
start_node b

# wrk through node A alone, or through both (two wrk of CONNS/2 connections at once; each gets
# its own share of WEBHOOK_REQS: $WEBHOOK_REQS.a and .b).
# run1 SCRIPT PATH [CONNS]; run2 SCRIPT PATH [CONNS]: print the result line.
run1() {
  c=${3:-$CONNS}
  b=$(cpu_ticks "$node_a"); pb=$(pg_ticks)
  r=$(WEBHOOK_REQS=${WEBHOOK_REQS:-}.a WRK_THREADS=$THREADS $CLI_PIN wrk -t "$THREADS" -c "$c" -d "${DURATION}s" \
    -s "$1" "$url_a$2" | grep '^RESULT' || true)
  a=$(cpu_ticks "$node_a"); pa=$(pg_ticks)
  [ -n "$r" ] || { echo "bench/pg: wrk gave no result for $url_a$2" >&2; return 1; }
  set -- $r
  echo "$r $(cpu_per_req "$b" "$a" "$7") $(pg_per_req "$pb" "$pa" "$7")"
}
run2() {
  c=${3:-$CONNS} t=$(( THREADS > 1 ? THREADS / 2 : 1 ))
  b=$(cpu_ticks "$node_a" "$node_b"); pb=$(pg_ticks)
  WEBHOOK_REQS=${WEBHOOK_REQS:-}.a WRK_THREADS=$t $CLI_PIN wrk -t "$t" -c $((c / 2)) -d "${DURATION}s" \
    -s "$1" "$url_a$2" > "$work/wrk.a" &
  w1=$!
  WEBHOOK_REQS=${WEBHOOK_REQS:-}.b WRK_THREADS=$t $CLI_PIN wrk -t "$t" -c $((c / 2)) -d "${DURATION}s" \
    -s "$1" "$url_b$2" > "$work/wrk.b" &
  w2=$!
  wait "$w1" "$w2" || true
  a=$(cpu_ticks "$node_a" "$node_b"); pa=$(pg_ticks)
  r=$(cat "$work/wrk.a" "$work/wrk.b" | grep '^RESULT' | awk '
    { n++; rps += $2; p50 += $3; if ($4 > p99) p99 = $4; bad += $5; err += $6; req += $7 }
    END { if (n == 2) printf "RESULT %d %.3f %.3f %d %d %d\n", rps, p50 / 2, p99, bad, err, req }')
  [ -n "$r" ] || { echo "bench/pg: wrk gave no result through two nodes" >&2; return 1; }
  set -- $r
  echo "$r $(cpu_per_req "$b" "$a" "$7") $(pg_per_req "$pb" "$pa" "$7")"
}
row() { printf 'ROW\t%s\t%s\n' "$1" "$2"; }

# Warm-up (1 s through each node): opens the nodes' database connections.
D=$DURATION; DURATION=1
ACCOUNTS=$accounts run2 "$here/visit.lua" /v1/visits >/dev/null
DURATION=$D

if [ "${PG_VISIT_RUNS:-0}" -gt 0 ]; then # only the one-node visit row, that many times
  for i in $(seq "$PG_VISIT_RUNS"); do
    stats_reset
    r=$(ACCOUNTS=$ACCOUNT1 run1 "$here/visit.lua" /v1/visits)
    row "PG visit, 1 node, 1 pool (run $i)" "$r"
    stats_print "$(visits_of "$r")"
  done
  q -c "SELECT 'lease tables (pages): ' || string_agg(relname || ' ' || pg_relation_size(oid) / 8192, ', ' ORDER BY relname)
        FROM pg_class WHERE relname IN ('lease_holders', 'lease_numbers', 'lease_pools', 'sessions')" >&2
  # HOT updates and dead rows of the lease state, and its indexes' sizes (bloat under churn)
  q -c "SELECT 'updates (HOT/all), dead rows: ' || string_agg(relname || ' ' || n_tup_hot_upd || '/'
          || n_tup_upd || ', ' || n_dead_tup || ' dead', '; ' ORDER BY relname)
        FROM pg_stat_user_tables WHERE relname IN ('lease_holders', 'lease_numbers', 'lease_pools')" >&2
  q -c "SELECT 'lease indexes (pages): ' || string_agg(c.relname || ' ' || pg_relation_size(c.oid) / 8192, ', '
          ORDER BY c.relname) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname IN ('lease_holders', 'lease_numbers', 'lease_pools')" >&2
  exit 0
fi

stats_reset
r=$(ACCOUNTS=$ACCOUNT1 run1 "$here/visit.lua" /v1/visits)
row "PG visit, 1 node, 1 pool" "$r"
stats_print "$(visits_of "$r")"
row "PG visit, 2 nodes, 1 pool" "$(ACCOUNTS=$ACCOUNT1 run2 "$here/visit.lua" /v1/visits)"
row "PG visit, 1 node, $PG_POOLS pools" "$(ACCOUNTS=$accounts run1 "$here/visit.lua" /v1/visits)"
row "PG visit, 2 nodes, $PG_POOLS pools" "$(ACCOUNTS=$accounts run2 "$here/visit.lua" /v1/visits)"

# Webhooks: unique signed calls to the first account's numbers (signed for PUBLIC, which both
# nodes are told is theirs), a probe first so the nodes have seen the token.
q -c "SELECT n.number FROM numbers n JOIN accounts a ON a.id = n.account_id
      WHERE a.ext_id = '$ACCOUNT1' ORDER BY n.id LIMIT 100" > "$work/numbers"
N=$((DURATION * 30000))
for f in probe a b; do
  n=$N; [ "$f" = probe ] && n=2
  node "$root/bench/webhook/gen.mjs" "$PUBLIC/v1/telephony/twilio/voice" "$TOKEN" "$work/numbers" "$n" "$work/wh.$f"
done
i=0
for u in "$url_a" "$url_b"; do
  i=$((i + 1)); probe=$(sed -n "${i}p" "$work/wh.probe"); ok=0
  for _ in $(seq 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$u/v1/telephony/twilio/voice" \
      -H 'Content-Type: application/x-www-form-urlencoded' \
      -H "X-Twilio-Signature: ${probe%%	*}" --data "${probe#*	}" || true)
    [ "$code" = 200 ] && ok=1 && break
    sleep 0.1
  done
  [ "$ok" = 1 ] || { echo "bench/pg: node $u refused the signed webhook ($code)" >&2; exit 1; }
done
# One node uses the .a share; two nodes split it into .a and .b halves (all unique CallSids).
head -n $((N / 2)) "$work/wh.a" > "$work/wh2.a"; tail -n +$((N / 2 + 1)) "$work/wh.a" > "$work/wh2.b"
WEBHOOK_REQS="$work/wh" row "PG twilio webhook, 1 node (c=$WH_CONNS)" \
  "$(WEBHOOK_REQS="$work/wh" run1 "$root/bench/webhook/webhook.lua" /v1/telephony/twilio/voice "$WH_CONNS")"
row "PG twilio webhook, 2 nodes (c=$WH_CONNS)" \
  "$(WEBHOOK_REQS="$work/wh2" run2 "$root/bench/webhook/webhook.lua" /v1/telephony/twilio/voice "$WH_CONNS")"
