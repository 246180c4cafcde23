#!/usr/bin/env bash
# The whole mxguard test suite, from a fresh Debian 12 machine:
#   1. installs the Debian packages it needs (.ci/install-deps.sh),
#   2. builds with -Werror and runs the unit tests and fuzz-corpus replays (ctest),
#   3. runs the integration tests: real pdns_server instances against mxguard, driven by
#      dig, curl, nsupdate and pdnsutil (tests/integration/run.sh),
#   4. in the release build, runs the write-path and guard integration tests again with the
#      PostgreSQL store engine (PG_TESTS: one throw-away server for the pass, a database per
#      store; tests/pg.sh),
#   4b. builds for the prefix /usr and checks what an operator installs: the staged install,
#      the man pages against the program, the unit, the Debian package installed and removed
#      (tests/package/test_package.sh),
#   5. repeats 2 and 3 in an AddressSanitizer + UndefinedBehaviorSanitizer build and fails on
#      any sanitizer report,
#   6. runs the ctest tests (but the minutes-long full-disk test) and an integration subset
#      under valgrind memcheck in a plain Debug build (build-vg/) and fails on any memcheck
#      error or definite/indirect leak.
# Options: --quick skips the sanitizer and valgrind passes; --no-valgrind skips the valgrind
# pass; --no-install skips step 1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-2}
quick=0
install=1
valgrind=1
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    --no-install) install=0 ;;
    --no-valgrind) valgrind=0 ;;
    *) echo "usage: $0 [--quick] [--no-install] [--no-valgrind]" >&2; exit 2 ;;
  esac
done

[ "$install" -eq 1 ] && bash .ci/install-deps.sh

total_pass=0
total_fail=0

run_pass() { # NAME BUILD_DIR CMAKE_ARGS...
  local name=$1 dir=$2
  shift 2
  echo "=== $name: build ($dir)"
  cmake -S "$ROOT" -B "$dir" -DMXG_WERROR=ON "$@" >"$dir.cmake.log" 2>&1 || {
    cat "$dir.cmake.log"; return 1; }
  cmake --build "$dir" -j"$JOBS" 2>&1 | tail -n 3
  echo "=== $name: unit tests and fuzz-corpus replays"
  local ok=1
  if ctest --test-dir "$dir" --output-on-failure -j"$JOBS"; then
    total_pass=$((total_pass + 1))
  else
    total_fail=$((total_fail + 1)); ok=0
  fi
  echo "=== $name: integration tests"
  local tmp
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/mxg-it-$name.XXXXXX")
  if MXGUARD="$dir/mxguard" MXG_TEST_TMP="$tmp" bash tests/integration/run.sh; then
    total_pass=$((total_pass + 1))
  else
    total_fail=$((total_fail + 1)); ok=0
  fi
  if grep -rlE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$tmp" >/dev/null 2>&1; then
    echo "!!! sanitizer reports in:"
    grep -rlE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$tmp"
    grep -rhE -A20 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$tmp" | head -60
    total_fail=$((total_fail + 1)); ok=0
  fi
  [ "$ok" -eq 1 ] && rm -rf "$tmp"
  return 0
}

# The valgrind pass. Every ctest command runs under memcheck (the build's
# CMAKE_CROSSCOMPILING_EMULATOR prefixes it), except test_store_full: it drives SQLite through
# a whole disk's worth of commits, 17 s natively and ten minutes under valgrind, and runs in the
# other two passes. Then the integration tests of VG_TESTS (serving, pdns's clients, API and
# DNS UPDATE writes, refused and rolled-back writes, the guard through the API and the CLI) with
# every mxguard process under memcheck (MXG_VALGRIND=1 in lib.sh); each process's log must end
# with "ERROR SUMMARY: 0 errors".
VG_OPTS="--error-exitcode=99;--leak-check=full;--show-leak-kinds=definite,indirect"
VG_OPTS="$VG_OPTS;--errors-for-leak-kinds=definite,indirect;--num-callers=30"
VG_OPTS="$VG_OPTS;--suppressions=$ROOT/tests/valgrind.supp"
VG_TESTS=(test_pdns_clients.sh test_write_api.sh test_write_dnsupdate.sh test_write_refusals.sh
  test_guard_api.sh test_guard_clients.sh)

run_valgrind_pass() {
  local dir=$ROOT/build-vg start=$SECONDS
  echo "=== valgrind: build ($dir)"
  cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DMXG_SANITIZE=OFF \
    "-DCMAKE_CROSSCOMPILING_EMULATOR=valgrind;$VG_OPTS" >"$dir.cmake.log" 2>&1 || {
    cat "$dir.cmake.log"; total_fail=$((total_fail + 1)); return 0; }
  cmake --build "$dir" -j"$JOBS" 2>&1 | tail -n 3
  echo "=== valgrind: unit tests, fuzz-corpus replays, bad-input corpus, allocation sweep"
  if ctest --test-dir "$dir" --output-on-failure -j"$JOBS" -E '^test_store_full$'; then
    total_pass=$((total_pass + 1))
  else
    total_fail=$((total_fail + 1))
  fi
  echo "=== valgrind: integration tests ${VG_TESTS[*]} with mxguard under memcheck"
  local tmp logs ok=1 n bad
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/mxg-it-valgrind.XXXXXX")
  logs=$tmp/valgrind-logs
  MXGUARD="$dir/mxguard" MXG_VALGRIND=1 MXG_VALGRIND_LOGS="$logs" MXG_TEST_TMP="$tmp" \
    bash tests/integration/run.sh "${VG_TESTS[@]}" || ok=0
  # lib.sh already fails a test on a bad log; this also catches a pass that ran nothing.
  n=$(find "$logs" -name '*.log' 2>/dev/null | wc -l)
  bad=$(grep -L 'ERROR SUMMARY: 0 errors' "$logs"/*.log 2>/dev/null || true)
  if [ "$n" -lt "${#VG_TESTS[@]}" ]; then
    echo "!!! only $n valgrind logs for ${#VG_TESTS[@]} tests"; ok=0
  fi
  if [ -n "$bad" ]; then
    echo "!!! valgrind errors in:"
    for f in $bad; do echo "--- $f"; head -n 100 "$f"; done
    ok=0
  fi
  echo "=== valgrind: $n mxguard processes checked, $((SECONDS - start)) s for the pass"
  if [ "$ok" -eq 1 ]; then
    total_pass=$((total_pass + 1)); rm -rf "$tmp"
  else
    total_fail=$((total_fail + 1))
  fi
  return 0
}

# The write path and the guard on the PostgreSQL engine: every test here runs against its own
# database on one server started for the pass. (test_fleet.sh and test_gpgsql_interop.sh run in
# every pass, on a server of their own. Tests that compare SQLite files byte for byte with
# gsqlite3's, or crash a daemon against SQLite's journal, stay on SQLite: test_escaped_names.sh,
# test_crash_safety.sh, test_full_disk.sh; test_fleet.sh kills nodes during commits on PostgreSQL.)
PG_TESTS=(test_write_api.sh test_write_dnsupdate.sh test_write_pdnsutil.sh test_write_refusals.sh
  test_guard_api.sh test_guard_clients.sh test_guard_shapes.sh test_guard_crash.sh
  test_guard_audit.sh test_audit_syslog.sh test_external_writes.sh
  test_pdns_clients.sh test_dnssec_keys.sh test_concurrency.sh test_sigterm_commit.sh
  test_front.sh test_front_diff.sh test_front_race.sh
  test_axfr_secondary.sh test_notify_primary.sh test_autosecondary.sh)

run_pg_pass() {
  local dir=$1 tmp start=$SECONDS
  echo "=== postgresql: integration tests ${PG_TESTS[*]} on the PostgreSQL store engine"
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/mxg-it-postgresql.XXXXXX")
  if MXGUARD="$dir/mxguard" MXG_TEST_TMP="$tmp" \
    bash tests/integration/run.sh --engine postgresql "${PG_TESTS[@]}"; then
    total_pass=$((total_pass + 1)); rm -rf "$tmp"
  else
    total_fail=$((total_fail + 1))
  fi
  echo "=== postgresql: $((SECONDS - start)) s for the pass"
}

run_package_pass() {
  echo "=== package: staged install, man pages, unit, Debian package (tests/package)"
  if JOBS=$JOBS bash tests/package/test_package.sh; then
    total_pass=$((total_pass + 1))
  else
    total_fail=$((total_fail + 1))
  fi
}

run_pass release "$ROOT/build"
run_pg_pass "$ROOT/build"
run_package_pass
if [ "$quick" -eq 0 ]; then
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    run_pass sanitize "$ROOT/build-asan" -DMXG_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
  if [ "$valgrind" -eq 1 ]; then run_valgrind_pass; fi
fi

echo
echo "suite: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
