#!/usr/bin/env bash
# tests/integration/test_differential.sh -- mxguard vs pdns's bind backend.
#
# Reference: pdns_server launch=bind reading tests/data/zones/*.zone (port
# 5311). Candidate: pdns_server launch=remote on `mxguard serve` (port 5312),
# the same files loaded with `mxguard import --zone ZONE FILE` before the
# daemon starts. difftest.py then asks both servers ~1400 questions and
# compares the answers (see its header); any mismatch fails the test.
#
# Env: MXGUARD (binary), REF_PORT/CAND_PORT, MXG_KEEP_TMP=1 to keep logs.
# Extra arguments are passed to difftest.py (e.g. --max-report 10).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init

REF_PORT=${REF_PORT:-5311}
CAND_PORT=${CAND_PORT:-5312}
mapfile -t ZONES < <(it_default_zones)
zargs=()
for z in "${ZONES[@]}"; do zargs+=(--zone "$z"); done

# Load the zones through the CLI (no daemon running: it opens the store).
mxg_write_config "$IT_WORK/mxguard"
mxg_import_zones "${ZONES[@]}"
zl=$(mxg zone list 2>&1) || { printf '%s\n' "$zl"; it_die "mxguard zone list failed"; }
for z in "${ZONES[@]}"; do
    assert_contains "$zl" "${z%%=*}" "mxguard zone list shows ${z%%=*}"
done

mxg_start
pdns_start --kind bind --port "$REF_PORT" "${zargs[@]}"
pdns_start --kind remote --port "$CAND_PORT"

rc=0
python3 "$IT_LIB_DIR/difftest.py" --ref-port "$REF_PORT" --cand-port "$CAND_PORT" \
    --ref-label bind --cand-label mxguard "${zargs[@]}" "$@" || rc=$?
if [ "$rc" -eq 0 ]; then
    it_pass "difftest pdns+bind vs pdns+remote(mxguard)"
else
    it_fail "difftest pdns+bind vs pdns+remote(mxguard) (exit $rc)"
    grep -iE 'remotebackend|exception|error' "$PDNS_LOG" | sort | uniq -c | sort -rn | head -n 15 || true
    it_tail "$MXG_LOG" 20
fi
it_alive "$MXG_PID" && it_pass "mxguard still running after the test" || it_fail "mxguard died during the test"
it_finish
