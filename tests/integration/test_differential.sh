#!/usr/bin/env bash
# tests/integration/test_differential.sh -- mxguard vs pdns's bind backend.
#
# Reference: pdns_server launch=bind reading tests/data/zones/*.zone (port
# 5311). Candidate: pdns_server launch=remote on `mxguard serve` (port 5312)
# with the same files loaded through `mxguard import --zone ZONE FILE`.
# difftest.py then asks both servers ~1400 questions and compares the
# answers (see its header); any mismatch fails the test.
#
# MXG_DIFF_IMPORT selects how the zones get in:
#   before (default)  import with the CLI while no daemon runs, then start
#                     `mxguard serve` and pdns.
#   live              start `mxguard serve` (config has pdns-control=...) and
#                     pdns with no zones, import a stale example.com, then
#                     import every file while both run; mxguard itself must
#                     run `pdns_control rediscover` and the re-import must
#                     replace the stale records (test_differential_live.sh).
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

check_zone_list() {
    local zl z
    zl=$(mxg zone list 2>&1) || { printf '%s\n' "$zl"; it_die "mxguard zone list failed"; }
    for z in "${ZONES[@]}"; do
        assert_contains "$zl" "${z%%=*}" "mxguard zone list shows ${z%%=*}"
    done
}

case ${MXG_DIFF_IMPORT:-before} in
before)
    # Load the zones through the CLI (no daemon running: it opens the store).
    mxg_write_config "$IT_WORK/mxguard"
    mxg_import_zones "${ZONES[@]}"
    check_zone_list
    mxg_start ""
    pdns_start --kind bind --port "$REF_PORT" "${zargs[@]}"
    pdns_start --kind remote --port "$CAND_PORT" --name pdns-remote
    ;;
live)
    mxg_write_config "$IT_WORK/mxguard" "$PDNS_CONTROL --config-dir=$IT_WORK/pdns-remote"
    mxg_start ""
    pdns_start --kind bind --port "$REF_PORT" "${zargs[@]}"
    pdns_start --kind remote --port "$CAND_PORT" --name pdns-remote
    assert_rcode "$CAND_PORT" REFUSED example.com SOA
    stale="$IT_WORK/stale-example.com.zone"
    # shellcheck disable=SC2016 # literal zone-file directives
    printf '%s\n' '$ORIGIN example.com.' '$TTL 60' \
        '@ SOA ns1 hostmaster 1 7200 3600 1209600 300' '@ NS ns1' \
        'stale A 192.0.2.99' 'www A 192.0.2.98' >"$stale"
    mxg_import_zones "example.com=$stale"
    mxg_import_zones "${ZONES[@]}"
    check_zone_list
    # mxguard runs `pdns_control rediscover`; give pdns up to 5 s to see it.
    for ((i = 0; i < 50; i++)); do
        all=yes
        for z in "${ZONES[@]}"; do
            [ "$(dig_rcode "$CAND_PORT" "${z%%=*}" SOA)" = NOERROR ] || all=no
        done
        [ "$all" = yes ] && break
        sleep 0.1
    done
    assert_eq yes "$all" "pdns sees every imported zone (rediscover run by mxguard)"
    ;;
*) it_die "MXG_DIFF_IMPORT must be before or live" ;;
esac

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
if it_alive "$MXG_PID"; then it_pass "mxguard still running after the test"; else it_fail "mxguard died during the test"; fi
it_finish
