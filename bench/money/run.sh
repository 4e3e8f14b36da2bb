#!/bin/sh
# The money reports' benchmark: starts `opendni serve` on a store made by bench/money/gen.sh and
# times, with curl on loopback (the request's total time: on loopback that is the server's time
# plus well under a millisecond), the first page of GET /v1/calls and each report over the last 30
# and the last 90 days. Each request runs REPEAT times (3); the median is printed, in ms, with the
# targets of issue #18 (first page <= 300 ms, a report <= 1 s for 30 days and <= 3 s for 90), as
# "wall/cpu": the wall time and the server's CPU time (/proc/PID/stat, every thread) for it. On a
# shared machine the wall time includes waiting for a core; the CPU time does not.
#   usage: bench/money/run.sh DB     (DB.account.json from gen.sh holds the API key)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BIN=${OPENDNI_BIN:-$root/build/opendni}
DB=$1
REPEAT=${REPEAT:-3}
KEY=$(sed -n 's/.*"api_key":"\([^"]*\)".*/\1/p' "$DB.account.json")
work=$(mktemp -d /tmp/opendni-money.XXXXXX)
srv_pid=""
cleanup() {
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
"$BIN" serve --db "$DB" --listen 127.0.0.1:0 --port-file "$work/port" --log-level warn \
  2> "$work/serve.log" &
srv_pid=$!
i=0
while [ ! -s "$work/port" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
URL="http://127.0.0.1:$(cat "$work/port")"
now=$(date +%s)
day() { date -u -d "@$(($now - $1 * 86400))" +%Y-%m-%dT%H:%M:%SZ; }
until=$(day 0)
HZ=$(getconf CLK_TCK)
# the server's CPU time so far (utime + stime of every thread), in clock ticks
ticks() { awk '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " "); print f[12] + f[13] }' "/proc/$srv_pid/stat"; }
# "wall/cpu": the median of REPEAT runs of one GET, wall time and the server's CPU time, in ms;
# the status must be 200
time_get() {
  n=0
  : > "$work/times"
  while [ $n -lt "$REPEAT" ]; do
    t0=$(ticks)
    out=$(curl -s -o "$work/body" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $KEY" "$URL$1")
    t1=$(ticks)
    code=${out% *}
    [ "$code" = 200 ] || { echo "GET $1 -> $code: $(head -c 300 "$work/body")" >&2; exit 1; }
    echo "${out#* } $(((t1 - t0) * 1000 / HZ))" >> "$work/times"
    n=$((n + 1))
  done
  sort -n "$work/times" | awk -v m=$(((REPEAT + 1) / 2)) 'NR == m { printf "%.0f/%d", $1 * 1000, $2 }'
}
printf '%-58s %12s %12s\n' "request ($(sqlite3 "$DB" 'select count(*) from calls') calls," "30 days" "90 days"
printf '%-58s %12s %12s\n' " $(sqlite3 "$DB" 'select count(*) from sessions') sessions; median of $REPEAT)" "wall/cpu ms" "wall/cpu ms"
printf '%-58s %12s %12s\n' "GET /v1/calls (first page, 50)" "$(time_get "/v1/calls?limit=50&since=$(day 30)&until=$until")" "$(time_get "/v1/calls?limit=50&since=$(day 90)&until=$until")"
for q in "reports/calls" "reports/calls?group_by=channel,campaign" "reports/calls?group_by=day" \
  "reports/calls?group_by=number" "reports/calls?group_by=region,hour" \
  "reports/calls?group_by=lead_status&lead_status=won" "reports/funnel?group_by=channel" \
  "reports/cohorts" "reports/pnl" "reports/pnl?group_by=day" \
  "reports/pnl?group_by=source,buyer,publisher"; do
  case $q in *\?*) sep='&' ;; *) sep='?' ;; esac
  printf '%-58s %12s %12s\n' "GET /v1/$q" "$(time_get "/v1/$q${sep}since=$(day 30)&until=$until")" \
    "$(time_get "/v1/$q${sep}since=$(day 90)&until=$until")"
done
echo "load average while measuring: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
