#!/usr/bin/env bash
# tests/integration/run.sh -- run the mxguard integration tests.
#
#   tests/integration/run.sh                 # every tests/integration/test_*.sh
#   tests/integration/run.sh test_differential.sh test_difftest_selfcheck.sh
#   tests/integration/run.sh --engine postgresql test_write_api.sh ...
#
# With --engine postgresql, one PostgreSQL server is started for the run (tests/pg.sh) and every
# mxguard store the tests make is a database of its own on it (MXG_TEST_PG_STATE, lib.sh).
#
# Each test runs in sequence under `timeout` (MXG_IT_TIMEOUT seconds, default
# 300; timeout signals the whole process group and the test's trap stops
# its servers). Output goes to a per-test log that is printed on failure
# (or always with MXG_IT_VERBOSE=1). The last line is "N passed, M failed";
# the exit status is 1 when any test failed.
# Env: MXGUARD (default <repo>/build/mxguard), MXG_TEST_TMP, MXG_KEEP_TMP.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export MXGUARD=${MXGUARD:-$repo/build/mxguard}
case $MXGUARD in /*) ;; *) MXGUARD=$repo/$MXGUARD ;; esac
limit=${MXG_IT_TIMEOUT:-300}
logdir=$(mktemp -d "${MXG_TEST_TMP:-/tmp}/mxg-it-logs.XXXX")

engine=sqlite
if [ "${1:-}" = --engine ]; then
    engine=${2:?--engine sqlite|postgresql}
    shift 2
fi
pg_state=
if [ "$engine" = postgresql ]; then
    pg_state=$logdir/pg.state
    bash "$repo/tests/pg.sh" start "$pg_state" || { echo "cannot start PostgreSQL"; exit 1; }
    export MXG_TEST_PG_STATE=$pg_state
    trap 'bash "$repo/tests/pg.sh" stop "$pg_state"' EXIT
elif [ "$engine" != sqlite ]; then
    echo "unknown engine $engine (sqlite, postgresql)"; exit 2
fi

tests=()
if [ $# -gt 0 ]; then
    for t in "$@"; do
        [ -f "$t" ] || t=$here/$(basename "$t")
        tests+=("$t")
    done
else
    for t in "$here"/test_*.sh; do [ -f "$t" ] && tests+=("$t"); done
fi

passed=0 failed=0
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    log=$logdir/$name.log
    start=$SECONDS
    if [ ! -f "$t" ]; then
        echo "no such test: $t" >"$log"; rc=127
    else
        timeout --kill-after=15 "$limit" bash "$t" >"$log" 2>&1 </dev/null
        rc=$?
    fi
    dur=$((SECONDS - start))
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        printf 'PASS %s (%ds)\n' "$name" "$dur"
        [ "${MXG_IT_VERBOSE:-0}" = 1 ] && sed 's/^/    /' "$log"
    else
        failed=$((failed + 1))
        why="exit $rc"
        [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && why="timed out after ${limit}s"
        printf 'FAIL %s (%ds, %s; log %s)\n' "$name" "$dur" "$why" "$log"
        # The failed checks first, with their details, so that a shortened report still shows them.
        grep -A3 '^  FAIL ' "$log" | grep -v '^--$' | head -n 40 | sed 's/^/  ! /'
        if [ "$(wc -l <"$log")" -gt 200 ] && [ "${MXG_IT_VERBOSE:-0}" != 1 ]; then
            head -n 120 "$log" | sed 's/^/    /'; echo "    [...]"; tail -n 60 "$log" | sed 's/^/    /'
        else
            sed 's/^/    /' "$log"
        fi
    fi
done
if [ -n "$pg_state" ]; then
    bash "$repo/tests/pg.sh" stop "$pg_state"
    trap - EXIT
fi
[ "$failed" -eq 0 ] && rm -rf "$logdir"
echo "$passed passed, $failed failed${pg_state:+ (engine postgresql)}"
[ "$failed" -eq 0 ]
