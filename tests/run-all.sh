#!/usr/bin/env bash
# The whole mxguard test suite, from a fresh Debian 12 machine:
#   1. installs the Debian packages it needs (.ci/install-deps.sh),
#   2. builds with -Werror and runs the unit tests and fuzz-corpus replays (ctest),
#   3. runs the integration tests: real pdns_server instances against mxguard, driven by
#      dig, curl, nsupdate and pdnsutil (tests/integration/run.sh),
#   4. repeats 2 and 3 in an AddressSanitizer + UndefinedBehaviorSanitizer build and fails on
#      any sanitizer report.
# Options: --quick skips the sanitizer pass; --no-install skips step 1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-2}
quick=0
install=1
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    --no-install) install=0 ;;
    *) echo "usage: $0 [--quick] [--no-install]" >&2; exit 2 ;;
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

run_pass release "$ROOT/build"
if [ "$quick" -eq 0 ]; then
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    run_pass sanitize "$ROOT/build-asan" -DMXG_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
fi

echo
echo "suite: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
