#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# The frozen realistic traces of issue 20 (tests/data/traces/local-business-{a,b}.csv): a local
# business's traffic, about 2,000 visits a day for 14 days, peak hours of ~300 visits, a sixth of
# the tracked calls more than 30 minutes after the visitor's last activity, tel: taps, number
# copies and repeat callers. Trace a (seed 1) is the one the policy was tuned on; trace b
# (seed 2) was held out. This script first checks that the committed files are exactly what the
# generator makes from the documented seeds (so nobody edits a trace to flatter a policy), then
# replays both through `opendni simulate` over the sizes that matter.
# Usage: bench/sim/local-business.sh [path/to/opendni] [--pool-size A..B:STEP] [other flags]
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${1:-${OPENDNI_BIN:-$here/build/opendni}}"
[ $# -gt 0 ] && shift
[ -x "$bin" ] || { echo "error: no opendni binary at '$bin' (run make first)" >&2; exit 2; }
diurnal=0.1,0.05,0.05,0.05,0.05,0.1,0.2,0.5,1.0,1.5,2.0,3.0,4.5,3.0,1.5,1.2,1.2,1.5,2.5,3.5,2.0,1.0,0.5,0.2
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
for t in a:1 b:2; do
    name="${t%%:*}" seed="${t##*:}"
    trace="$here/tests/data/traces/local-business-$name.csv"
    "$bin" simulate --days 14 --seed "$seed" --visits-per-day 2000 --diurnal "$diurnal" \
        --call-delay 0.82,0.13,0.05 --pool-size 1 --write-trace "$tmp" >/dev/null
    if ! cmp -s "$tmp" "$trace"; then
        echo "warning: $trace is not what seed $seed generates now (generator changed?)" >&2
    fi
    echo "== local-business-$name (seed $seed)"
    if [ $# -gt 0 ]; then
        "$bin" simulate --trace "$trace" "$@"
    else
        "$bin" simulate --trace "$trace" --pool-size 36..90:2
    fi
done
