# What bench/run and bench/webhook/run.sh share (sourced, POSIX sh): core pinning, a wrk run
# measured with the server's CPU time from /proc, and the table's columns.
#   CPU per request = the CPU time (utime + stime, clock ticks) the server spent between just
#   before and just after a wrk run, over the requests wrk completed. The total is the process's
#   (/proc/PID/stat: every thread, including any that exited); the group-commit writer and the
#   checkpointer are the threads named od-writer and od-checkpoint (/proc/PID/task/*/comm and
#   stat); the HTTP threads are the rest (libmicrohttpd's pool, the stream's wake thread, main).
#   For nginx the processes measured are the master's children (its workers).
# Knob: PIN (1: the server and nginx run on CPU 1, wrk and the other clients on CPU 0, so that
# the clients' CPU is not counted; 0: no pinning). Needs two cores; with one, PIN is ignored.
# The caller sets THREADS, CONNS and DURATION (wrk's -t, -c, -d in s).

PIN=${PIN:-1}
if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ]; then
  SRV_PIN="taskset -c 1" # prefix for the server and nginx
  CLI_PIN="taskset -c 0" # prefix for wrk and the other clients
else
  PIN=0
  SRV_PIN=""
  CLI_PIN=""
fi
CPU_HZ=$(getconf CLK_TCK)

# cpu_children PID: the pids whose parent is PID (nginx's workers), one a line.
cpu_children() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v pp="$1" '{
    s = $0; sub(/^.*\) /, "", s); split(s, f, " "); if (f[2] == pp) print $1 }'
}

# cpu_ticks PID...: "total writer checkpoint", the clock ticks used by the processes PID... so
# far. Threads may come and go while this reads; a file gone is skipped.
cpu_ticks() {
  for _p in "$@"; do
    grep -H '' "/proc/$_p/stat" "/proc/$_p/task/"*/comm "/proc/$_p/task/"*/stat 2>/dev/null
  done | awk '
    { i = index($0, ":"); file = substr($0, 1, i - 1); line = substr($0, i + 1)
      dir = file; sub(/\/[a-z]+$/, "", dir) }
    file ~ /\/comm$/ { name[dir] = line; next }
    { s = line; sub(/^.*\) /, "", s); split(s, f, " "); t = f[12] + f[13] } # utime, stime
    file !~ /\/task\// { total += t; next }
    name[dir] == "od-writer" { writer += t }
    name[dir] == "od-checkpoint" { ckpt += t }
    END { printf "%d %d %d\n", total, writer, ckpt }'
}

# cpu_per_req BEFORE AFTER REQUESTS: "total http writer checkpoint" CPU µs per request, from two
# cpu_ticks lines ("- - - -" without requests).
cpu_per_req() {
  awk -v a="$1" -v b="$2" -v n="$3" -v hz="$CPU_HZ" 'BEGIN {
    split(a, x, " "); split(b, y, " ")
    if (n <= 0) { print "- - - -"; exit }
    k = 1e6 / hz / n; t = (y[1] - x[1]) * k; w = (y[2] - x[2]) * k; c = (y[3] - x[3]) * k
    printf "%.1f %.1f %.1f %.1f\n", t, t - w - c, w, c }'
}

# bench_wrk PIDS SCRIPT URL [wrk args...]: runs wrk (pinned) with SCRIPT against URL and prints
# "RESULT req/s p50_ms p99_ms non2xx errors requests cpu_total http writer checkpoint" (µs per
# request of the processes PIDS, a space-separated list; "-" for each if PIDS is empty). wrk's
# stderr (the scripts' warnings) is left to the caller's. With PERF_DATA, also a profile of PIDS
# in a run of its own after it (PROFILE_SECONDS, 5; the scripts see PROFILE_RUN=1): perf attached
# to the server's threads costs it CPU (its sampling interrupts, and work at every context
# switch: pings measured 2-4 µs more with it), so the measured run goes without.
bench_wrk() {
  _pids=$1 _script=$2 _url=$3
  shift 3
  _before=$(cpu_ticks $_pids)
  _res=$(WRK_THREADS=$THREADS $CLI_PIN wrk -t "$THREADS" -c "$CONNS" -d "${DURATION}s" -s "$_script" "$@" "$_url" |
    grep '^RESULT' || true)
  _after=$(cpu_ticks $_pids)
  if [ "$PROFILE" != 0 ] && [ -n "${PERF_DATA:-}" ] && [ -n "$_pids" ]; then
    perf_start "$_pids" "$PERF_DATA"
    PROFILE_RUN=1 WRK_THREADS=$THREADS $CLI_PIN wrk -t "$THREADS" -c "$CONNS" -d "${PROFILE_SECONDS:-5}s" \
      -s "$_script" "$@" "$_url" >/dev/null 2>&1 || true
    perf_stop
  fi
  [ -n "$_res" ] || { echo "bench: wrk gave no result for $_url" >&2; return 1; }
  set -- $_res
  _cpu="- - - -"
  [ -z "$_pids" ] || _cpu=$(cpu_per_req "$_before" "$_after" "$7")
  echo "$_res $_cpu"
}

# The table: bench_head, then bench_row LABEL RESULT BASELINE_RPS per row (RESULT as bench_wrk
# prints it; for nginx the HTTP column repeats the total and the others are "-"). PG µs/req: the
# PostgreSQL server's CPU per request (bench/pg/run.sh appends it to its results), else "-".
bench_head() { # literal: printf pads bytes, and µ is two
  echo '| test                               |     req/s | vs nginx |   p50 ms |   p99 ms | non-2xx | CPU µs/req |  HTTP µs | writer µs | ckpt µs | PG µs/req |'
  echo '|------------------------------------|-----------|----------|----------|----------|---------|------------|----------|-----------|---------|-----------|'
}
bench_row() {
  _label=$1 _base=$3
  set -- $2
  _ratio=$(awk -v a="$2" -v b="$_base" 'BEGIN { printf "%.2f", a / b }')
  _http=$9 _writer=${10} _ckpt=${11} _pg=${12:--}
  case $_label in nginx*) _http=$8 _writer=- _ckpt=- ;; esac
  printf '| %-34s | %9s | %8s | %8s | %8s | %7s | %10s | %8s | %9s | %7s | %9s |\n' "$_label" "$2" "$_ratio" "$3" "$4" "$5" \
    "$8" "$_http" "$_writer" "$_ckpt" "$_pg"
}

# ---- profiles (bench/run's gap report) ----
# With PERF_DATA set (a file name), bench_wrk also records the processes PIDS with
# `perf record -F $PROFILE_HZ -g` for the wrk run (perf itself runs on the clients' CPU; its sampling
# interrupts are charged to the server, ~1,000 a second). PROFILE=0 or no perf: never.
PROFILE=${PROFILE:-1}
PROFILE_HZ=${PROFILE_HZ:-999} # samples a second
if [ "$PROFILE" != 0 ] && ! command -v perf >/dev/null 2>&1; then
  PROFILE=0
  PROFILE_NOTE="profiles skipped: perf is not installed (Debian: linux-perf)"
elif [ "$PROFILE" = 0 ]; then
  PROFILE_NOTE="profiles skipped (PROFILE=0)"
else
  PROFILE_NOTE=""
fi

# perf_start PIDS FILE / perf_stop: a perf record of PIDS (space-separated) into FILE.
perf_start() {
  _perf_pid=""
  [ "$PROFILE" != 0 ] && [ -n "$2" ] && [ -n "$1" ] || return 0
  $CLI_PIN perf record -q -F "$PROFILE_HZ" -g -o "$2" -p "$(echo $1 | tr ' ' ',')" >/dev/null 2>&1 &
  _perf_pid=$!
  sleep 0.3 # perf attaches to every thread before the run starts
}
perf_stop() {
  [ -n "$_perf_pid" ] || return 0
  kill -INT "$_perf_pid" 2>/dev/null || true
  wait "$_perf_pid" 2>/dev/null || true
  _perf_pid=""
}

# perf_summary FILE [N]: the thread split (HTTP threads, od-writer, od-checkpoint, as shares of
# the samples) on one line, then the N (8) functions with the most self time (≥ 2 %), one a
# line: "  share  function  object", then opendni's own six with the most (≥ 0.5 %) on one line.
perf_summary() {
  [ -s "$1" ] || { echo "    (no profile recorded)"; return 0; }
  perf report -i "$1" --no-children --stdio --sort comm -g none --percent-limit 0 2>/dev/null |
    awk '/^ +[0-9.]+%/ { p = $1; sub(/%/, "", p); c = $2
           if (c == "od-writer") w += p; else if (c == "od-checkpoint") k += p; else h += p }
         END { if (h + w + k > 0) printf "    samples by thread: HTTP threads %.0f%%, od-writer %.0f%%, od-checkpoint %.0f%%\n", h, w, k }'
  perf report -i "$1" --no-children --stdio --sort dso,symbol -g none --percent-limit 2 2>/dev/null |
    awk -v n="${2:-8}" '/^ +[0-9.]+%/ && shown < n {
           p = $1; dso = $2; sym = ""
           for (i = 4; i <= NF && $i != "-"; i++) sym = sym (i > 4 ? " " : "") $i
           sub(/^.*\//, "", dso); sub(/\.so.*$/, "", dso); if ($3 == "[k]") dso = "kernel"
           if (length(sym) > 60) sym = substr(sym, 1, 57) "..."
           printf "    %6s  %-60s %s\n", p, sym, dso; shown++ }'
  # opendni's own functions (the ones this code can change), shares of all samples
  perf report -i "$1" --no-children --stdio --sort dso,symbol -g none --percent-limit 0.5 \
    --percentage absolute 2>/dev/null |
    awk '/^ +[0-9.]+%/ && $2 ~ /opendni/ && shown < 6 {
           sym = ""; for (i = 4; i <= NF && $i != "-"; i++) sym = sym (i > 4 ? " " : "") $i
           line = line (shown ? ", " : "") sym " " $1; shown++ }
         END { if (shown) print "    opendni'"'"'s own, most self time: " line }'
}
