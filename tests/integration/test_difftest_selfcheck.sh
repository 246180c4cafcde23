#!/usr/bin/env bash
# tests/integration/difftest_gsqlite3_vs_bind.sh -- harness self-check.
#
# Runs difftest.py between pdns+bind (reference, port 5301) and pdns+gsqlite3
# (candidate, port 5302; zones loaded with pdnsutil create-zone, load-zone,
# rectify-zone) over tests/data/zones. It does not involve mxguard: it proves
# that lib.sh, the zone set and difftest.py work, and that pdns's own
# backends agree on every query, so a difference in test_differential.sh is
# mxguard's.
#
# NOT in run.sh's default set (the name does not match test_*.sh): it tests
# pdns and the harness, not mxguard. It is fast (about 10 s) and has been
# reliable; run it explicitly with
#     tests/integration/run.sh difftest_gsqlite3_vs_bind.sh
# Extra arguments are passed to difftest.py (e.g. --strict-case).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init

REF_PORT=${REF_PORT:-5301}
CAND_PORT=${CAND_PORT:-5302}
mapfile -t ZONES < <(it_default_zones)
zargs=()
for z in "${ZONES[@]}"; do zargs+=(--zone "$z"); done

pdns_start --kind bind --port "$REF_PORT" "${zargs[@]}"
pdns_start --kind gsqlite3 --port "$CAND_PORT" "${zargs[@]}"

rc=0
python3 "$IT_LIB_DIR/difftest.py" --ref-port "$REF_PORT" --cand-port "$CAND_PORT" \
    --ref-label bind --cand-label gsqlite3 "${zargs[@]}" "$@" || rc=$?
if [ "$rc" -eq 0 ]; then it_pass "difftest bind vs gsqlite3"; else it_fail "difftest bind vs gsqlite3 (exit $rc)"; fi

# One address changed under gsqlite3: the A, ANY and AXFR queries that see it must differ.
sqlite3 "$PDNS_DIR/pdns.sqlite3" \
    "UPDATE records SET content = '192.0.2.99' WHERE name = 'ns1.example.com' AND type = 'A'"
rc=0
python3 "$IT_LIB_DIR/difftest.py" --ref-port "$REF_PORT" --cand-port "$CAND_PORT" \
    --ref-label bind --cand-label gsqlite3 "${zargs[@]}" "$@" >"$IT_WORK/changed.out" 2>&1 || rc=$?
assert_eq 1 "$rc" "difftest fails when one record differs"
seen=$(grep '^MISMATCH' "$IT_WORK/changed.out" | sort -u | tr '\n' ' ')
assert_contains "$seen" "MISMATCH ns1.example.com. A" "it names the A query of the changed record"
assert_contains "$seen" "MISMATCH example.com. AXFR" "and the zone's AXFR"
assert_not_contains "$seen" "MISMATCH www.example.com. A" "and not an unchanged name ($seen)"
it_finish
