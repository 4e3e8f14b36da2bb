#!/bin/sh
# The routing-decision benchmark (bench/route/b_route.c): N first steps of new calls through a
# plan of 10 targets (round robin) on a fresh SQLite store. Knobs: N (20,000), B_ROUTE (the
# binary: build/b_route).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${B_ROUTE:-$root/build/b_route}
work=$(mktemp -d /tmp/opendni-route.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$BIN" "$work/route.db" "${N:-20000}" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
