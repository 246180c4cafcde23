#!/usr/bin/env bash
# Static analysis, run by .ci/run after the format check. Fails on any finding:
#   1. configures a clang build with a compile database in build-tidy/ and builds it with
#      -Werror (the strict warning set of CMakeLists.txt, as clang 14 sees it; gcc 12 sees it
#      in the test suite's own -Werror build),
#   2. clang-tidy 14 over the C files of that compile database under SCOPE (the sources, unit
#      tests and fuzz targets), with .clang-tidy (tests/.clang-tidy for tests/), warnings as
#      errors,
#   3. cppcheck over the same files, with .cppcheck-suppressions and .ci/cppcheck/jansson.cfg.
# A new test directory joins SCOPE once it is clean.
# docs/reliability.md ("Compiler warnings and static analysis") describes the configuration.
# Environment: JOBS (default 2), BUILD_DIR (default build-tidy).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-2}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-tidy}
SCOPE=(src tests/unit tests/fuzz tests/alloc tests/badinput tests/support)
fail=0

pick() { # first command of the arguments that exists
  local c
  for c in "$@"; do
    if command -v "$c" >/dev/null 2>&1; then
      echo "$c"
      return 0
    fi
  done
  return 1
}
CLANG_TIDY=$(pick clang-tidy-14 clang-tidy) || { echo "static-analysis: clang-tidy not found" >&2; exit 1; }
command -v cppcheck >/dev/null 2>&1 || { echo "static-analysis: cppcheck not found" >&2; exit 1; }
CLANG=$(pick clang-14 clang) || { echo "static-analysis: clang not found" >&2; exit 1; }

echo "=== static analysis: clang -Werror build and compile database ($BUILD_DIR)"
mkdir -p "$BUILD_DIR"
CC=$CLANG cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DMXG_WERROR=ON \
  >"$BUILD_DIR/cmake.log" 2>&1 || { cat "$BUILD_DIR/cmake.log"; exit 1; }
if cmake --build "$BUILD_DIR" -j"$JOBS" >"$BUILD_DIR/build.log" 2>&1; then
  echo "clang -Werror build: ok"
else
  grep -E 'error|warning' "$BUILD_DIR/build.log" | head -50
  echo "!!! clang -Werror build failed (full log: $BUILD_DIR/build.log)"
  fail=1
fi
DB=$BUILD_DIR/compile_commands.json

# The C files of the compile database under SCOPE.
mapfile -t FILES < <(python3 -c '
import json, os, sys
root = os.path.realpath(sys.argv[1])
dirs = tuple(os.path.join(root, d) + "/" for d in sys.argv[3:])
seen = set()
for e in json.load(open(sys.argv[2])):
    f = os.path.realpath(os.path.join(e["directory"], e["file"]))
    if f.startswith(dirs) and f.endswith(".c") and f not in seen:
        seen.add(f)
        print(f)
' "$ROOT" "$DB" "${SCOPE[@]}" | sort)
echo "=== static analysis: clang-tidy ($($CLANG_TIDY --version | grep -o 'version [0-9.]*')) over ${#FILES[@]} files"
tidy_log=$BUILD_DIR/clang-tidy.log
RUN_TIDY=$(pick run-clang-tidy-14 run-clang-tidy || true)
if [ -n "$RUN_TIDY" ]; then
  # run-clang-tidy selects the database's files by regular expression.
  scope_re="^$(printf "%s" "$ROOT" | sed 's/[.+]/\\&/g')/($(IFS='|'; echo "${SCOPE[*]}"))/"
  tidy_rc=0
  "$RUN_TIDY" -clang-tidy-binary "$(command -v "$CLANG_TIDY")" -p "$BUILD_DIR" -j "$JOBS" -quiet \
    "$scope_re" >"$tidy_log" 2>&1 || tidy_rc=$?
else
  tidy_rc=0
  : >"$tidy_log"
  for f in "${FILES[@]}"; do
    "$CLANG_TIDY" -p "$BUILD_DIR" --quiet "$f" >>"$tidy_log" 2>&1 || tidy_rc=$?
  done
fi
# A finding is a "file:line:col: warning|error: ... [check]" line (errors of the compiler
# included: a file clang-tidy cannot parse fails too).
sed -E 's/\x1b\[[0-9;]*m//g' "$tidy_log" | grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error): ' \
  | sort -u >"$tidy_log.findings" || true
if [ -s "$tidy_log.findings" ]; then
  sed "s|$ROOT/||" "$tidy_log.findings"
  echo "!!! clang-tidy: $(wc -l <"$tidy_log.findings") findings (full output: $tidy_log)"
  fail=1
elif [ "$tidy_rc" -ne 0 ]; then
  tail -n 30 "$tidy_log"
  echo "!!! clang-tidy failed (exit $tidy_rc) without a finding (full output: $tidy_log)"
  fail=1
else
  echo "clang-tidy: no findings"
fi

echo "=== static analysis: $(cppcheck --version) over ${#FILES[@]} files"
cppcheck_log=$BUILD_DIR/cppcheck.log
# With the database given by a relative path, cppcheck names files relative to ROOT, which is
# what --file-filter and the file names of .cppcheck-suppressions match.
filters=()
for d in "${SCOPE[@]}"; do filters+=("--file-filter=$d/*"); done
if cppcheck --enable=warning,style,performance,portability --std=c11 --error-exitcode=1 \
  --inline-suppr --suppressions-list="$ROOT/.cppcheck-suppressions" \
  --library=posix --library=sqlite3 --library=openssl \
  --library="$ROOT/.ci/cppcheck/jansson.cfg" \
  --project="$(realpath --relative-to="$ROOT" "$DB")" "${filters[@]}" \
  -j "$JOBS" --quiet --template='{file}:{line}: {severity}: {message} [{id}]' \
  >"$cppcheck_log" 2>&1; then
  echo "cppcheck: no findings"
else
  sed "s|$ROOT/||" "$cppcheck_log"
  echo "!!! cppcheck: findings above"
  fail=1
fi

[ "$fail" -eq 0 ] && echo "static analysis: clean"
exit "$fail"
