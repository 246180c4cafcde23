#!/usr/bin/env bash
# run-fuzzers.sh -- the long fuzzing run: builds build-fuzz/ with clang (libFuzzer, AddressSanitizer
# and UndefinedBehaviorSanitizer, -Werror), then runs every fuzz target of tests/fuzz/ for the
# given number of seconds, one after another, and prints per target the executions, executions
# per second, corpus size and the crashes, leaks and timeouts found.
#
# Usage: tests/fuzz/run-fuzzers.sh [--no-build] [--merge] [SECONDS] [TARGET...]
#   SECONDS    per target, default 600
#   TARGET     fuzz_backend, fuzz_policy, ... (default: every tests/fuzz/fuzz_*.c)
#   --merge    afterwards, add the new inputs that reach new coverage to tests/fuzz/corpus/TARGET/
#   --no-build use build-fuzz/ as it is
#
# The committed corpus is only read: new inputs go to build-fuzz/fuzz-out/TARGET/, a crashing
# input to build-fuzz/fuzz-artifacts/TARGET/ (replay it with build-fuzz/tests/fuzz/TARGET FILE).
# Exits 1 when any target found a crash, leak or timeout.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build-fuzz
seconds=600
merge=0
do_build=1
targets=()
for arg in "$@"; do
    case $arg in
    --merge) merge=1 ;;
    --no-build) do_build=0 ;;
    --help | -h)
        sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    [0-9]*) seconds=$arg ;;
    fuzz_*) targets+=("$arg") ;;
    *)
        echo "run-fuzzers.sh: unknown argument $arg" >&2
        exit 2
        ;;
    esac
done
if [ ${#targets[@]} -eq 0 ]; then
    for src in "$root"/tests/fuzz/fuzz_*.c; do
        targets+=("$(basename "$src" .c)")
    done
fi

if [ $do_build -eq 1 ]; then
    CC=clang cmake -S "$root" -B "$build" -DMXG_FUZZ=ON -DMXG_SANITIZE=ON -DMXG_WERROR=ON >/dev/null
    cmake --build "$build" -j2 >/dev/null
fi

# A smaller quarantine than ASan's 256 MiB: every input opens a fresh in-memory SQLite store, and
# recycling freed memory sooner roughly doubles the executions per second.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=32}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
summary=()
for t in "${targets[@]}"; do
    bin=$build/tests/fuzz/$t
    corpus=$root/tests/fuzz/corpus/$t
    out=$build/fuzz-out/$t
    art=$build/fuzz-artifacts/$t
    log=$build/fuzz-logs/$t.log
    if [ ! -x "$bin" ]; then
        echo "run-fuzzers.sh: $bin missing (clang and -DMXG_FUZZ=ON?)" >&2
        exit 2
    fi
    mkdir -p "$out" "$art" "$(dirname "$log")" "$corpus"
    echo "== $t: ${seconds}s, corpus $(find "$corpus" -type f | wc -l) files, log $log"
    stamp=$build/fuzz-logs/$t.start
    touch "$stamp"
    start=$(date +%s)
    rc=0
    "$bin" "$out" "$corpus" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$art/" >"$log" 2>&1 || rc=$?
    elapsed=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    found=$(find "$art" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
        -o -name 'oom-*' -o -name 'slow-unit-*' \) -newer "$stamp" 2>/dev/null | wc -l)
    found=$((found + 0))
    if [ $rc -ne 0 ] || [ "$found" -ne 0 ]; then
        status=1
        grep -m3 -E 'ERROR|SUMMARY|Test unit written' "$log" || true
    fi
    new=$(find "$out" -type f | wc -l)
    line=$(printf '%-14s %6ss  %12s execs  %8s exec/s  %4s new inputs  %d findings  exit %d' \
        "$t" "$elapsed" "${execs:-?}" "${rate:-?}" "$new" "$found" "$rc")
    echo "$line"
    summary+=("$line")
    if [ $merge -eq 1 ]; then
        "$bin" -merge=1 "$corpus" "$out" >"$build/fuzz-logs/$t.merge.log" 2>&1 || true
        echo "   merged: corpus now $(find "$corpus" -type f | wc -l) files"
    fi
done
echo
echo "== summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
exit $status
