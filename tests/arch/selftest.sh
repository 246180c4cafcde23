#!/usr/bin/env bash
# tests/arch/selftest.sh -- arch_check.py fails on a table that does not match the code: a row
# that misses what its file includes (as when a new include breaks the row), a row that names
# what its files do not include, a source file in no row.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
doc=$repo/docs/architecture.md
check() { /usr/bin/python3 "$repo/tests/arch/arch_check.py" --doc "$1" "$repo" >"$tmp/out" 2>&1; }
fails=0
expect_fail() { # NAME FILE WORDS
    if check "$2"; then echo "FAIL $1: passed"; fails=$((fails + 1));
    elif ! grep -q "$3" "$tmp/out"; then echo "FAIL $1: $(cat "$tmp/out")"; fails=$((fails + 1));
    else echo "ok   $1: $(head -n 1 "$tmp/out")"; fi
}
check "$doc" || { cat "$tmp/out"; echo "FAIL the real table"; exit 1; }
echo "ok   the real table passes"
sed 's/, reply_cache, store, txn, writer |$/, reply_cache, store, txn |/' "$doc" >"$tmp/a.md"
expect_fail "backend.c includes writer.h, its row no longer names writer" "$tmp/a.md" "uses writer"
sed 's/| jansson, json |$/| jansson, json, libpq |/' "$doc" >"$tmp/b.md"
expect_fail "proto.c's row names libpq" "$tmp/b.md" "names libpq"
grep -v '^| `src/json.c`' "$doc" >"$tmp/c.md"
expect_fail "json.c in no row" "$tmp/c.md" "src/json.c: in no row"
[ "$fails" -eq 0 ]
