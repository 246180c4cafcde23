#!/usr/bin/env bash
# tests/integration/test_front_diff.sh -- the HTTP API front answers like pdns's own API.
#
# Candidate: mxguard's front (PRODUCT.md §6) before pdns on mxguard (launch=remote).
# Reference: pdns's own API on its native gsqlite3 backend, a fresh database from the Debian
# schema. Both start without zones. front_diff.py sends both the same requests -- zone creation
# (nameservers; rrsets with apex MX and A; kinds Master and Slave with masters; soa_edit_api set,
# empty and absent), duplicates (409), invalid names and bodies, malformed JSON, PATCHes
# (REPLACE, DELETE, several RRsets, invalid content, changetype missing, RRsets outside the
# zone), metadata GET/PUT/POST/DELETE, PUT /zones/{id} (kind, masters, soa_edit_api), the zone
# list, deletion (204, then 404 twice), wrong keys (401), and 30 PATCHes drawn from a fixed
# seed -- and compares every status code, every successful JSON body and, after each request
# that can change a zone, the zone as GET returns it on both sides (serials aside; the
# normalisation is printed in the summary, see front_diff.py's header).
#
# No request here changes what mail uses: the test is about compatibility with pdns, not about
# the guard (mail-ranges covers every address used, the apex A and the mail hosts stay put).
#
# The panel key (api-key) sends the requests, but for the PUTs that make a zone a secondary or
# set its masters: those go with the operator key (see front_diff.py).
#
# Both pdns run with default-api-rectify=no (pdns-config/ requires it for pdns on mxguard; the
# reference gets the same so that "api_rectify" means the same on both).
#
# Ports: pdns on mxguard DNS 5388, API 8102; the front 8103; pdns on gsqlite3 DNS 5389, API 8104.
# Env: MXGUARD, MXG_KEEP_TMP=1; FRONT_DIFF_SEED and FRONT_DIFF_RANDOM change the random PATCHes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init

CAND_PORT=5388 CAND_API=8102 FRONT=8103
REF_PORT=5389 REF_API=8104
PANEL=panel-key-diff
OPER=operator-key-diff

# Both pdns get the same API settings on their command line (which needs no change of lib.sh's
# HTTP port range); default-api-rectify=no as above.
api_args() {
    printf '%s\n' --api=yes --api-key=secret --webserver=yes --webserver-address=127.0.0.1 \
        "--webserver-port=$1" --webserver-allow-from=127.0.0.1 --default-api-rectify=no
}

mxg_write_config "$IT_WORK/mxguard" "$PDNS_CONTROL --config-dir=$IT_WORK/pdns-front"
{
    echo "mode=reject"
    echo "mail-ranges=192.0.2.0/24,198.51.100.0/24,203.0.113.0/24,2001:db8::/32"
    echo "api-listen=127.0.0.1:$FRONT"
    echo "api-key=$PANEL"
    echo "operator-key=$OPER"
    echo "pdns-api-url=http://127.0.0.1:$CAND_API"
    echo "pdns-api-key=secret"
} >>"$MXG_CONF"
mxg_start
mapfile -t cargs < <(api_args "$CAND_API")
pdns_start --kind remote --port "$CAND_PORT" --name pdns-front -- "${cargs[@]}"
CAND_LOG=$PDNS_LOG
mapfile -t rargs < <(api_args "$REF_API")
pdns_start --kind gsqlite3 --port "$REF_PORT" --name pdns-gsqlite3 -- "${rargs[@]}"
REF_LOG=$PDNS_LOG

for url in "http://127.0.0.1:$FRONT/" "http://127.0.0.1:$CAND_API/" "http://127.0.0.1:$REF_API/"; do
    for ((i = 0; i < 100; i++)); do
        curl -s -o /dev/null "$url" && break
        sleep 0.1
    done
done

rc=0
python3 "$IT_LIB_DIR/front_diff.py" \
    --front "http://127.0.0.1:$FRONT" --front-key "$PANEL" --front-operator-key "$OPER" \
    --ref "http://127.0.0.1:$REF_API" --ref-key secret \
    --seed "${FRONT_DIFF_SEED:-20240601}" --random "${FRONT_DIFF_RANDOM:-30}" \
    --report "$IT_WORK/front_diff.json" --log "$IT_WORK/front_diff.log" || rc=$?
case $rc in
    0) it_pass "the front answers as pdns on gsqlite3 does" ;;
    1) it_fail "the front differs from pdns on gsqlite3 (the differences above; every check in $IT_WORK/front_diff.log)" ;;
    *) it_fail "front_diff.py could not run (exit $rc)" ;;
esac
if [ "$rc" -ne 0 ]; then
    grep -E 'HTTP ISE|Exception|exception' "$CAND_LOG" | sort | uniq -c | sort -rn | head -n 10 || true
    grep -E 'HTTP ISE|Exception|exception' "$REF_LOG" | sort | uniq -c | sort -rn | head -n 10 || true
fi
if it_alive "$MXG_PID"; then it_pass "mxguard still running"; else it_fail "mxguard died"; fi
it_finish
