#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Simulator speed (issue 6): 30 days of synthetic traffic at 100,000 visits a day, generated and
# replayed for one pool size (the goal is <= 10 s on one core), then a 4-size sweep to show the
# sweep using every core. Prints one machine-readable line per run:
#   bench=sim case=<name> seconds=<wall> cpu_seconds=<user+sys> sessions=… calls=…
# Usage: bench/sim/run.sh [path/to/opendni]   (default: $OPENDNI_BIN or build/opendni)
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${1:-${OPENDNI_BIN:-$here/build/opendni}}"
[ -x "$bin" ] || { echo "error: no opendni binary at '$bin' (run make first)" >&2; exit 2; }

run() { # name, then simulate arguments
    local name="$1"; shift
    local out err
    out="$(mktemp)"; err="$(mktemp)"
    /usr/bin/env time -f '%e %U %S' -o "$err" "$bin" simulate --visits-per-day 100000 --days 30 \
        --seed 1 --json "$@" >"$out"
    read -r wall user sys <"$err"
    local calls
    calls="$(head -n1 "$out" | sed -n 's/.*"calls":\([0-9]*\).*/\1/p')"
    echo "bench=sim case=$name seconds=$wall cpu_seconds=$(awk "BEGIN{print $user + $sys}")" \
         "visits_per_day=100000 days=30 calls=$calls"
    rm -f "$out" "$err"
}

run one_pool_size --pool-size 2000 --threads 1
run sweep_4_sizes --pool-size 500..2000:500
