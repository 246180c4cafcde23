#!/usr/bin/env bash
# tests/integration/test_pdns_clients.sh -- pdns's own clients against pdns on mxguard:
# zone add/delete reaching a running pdns, pdnsutil (list-all-zones, list-zone, set-meta,
# get-meta, backend-cmd), the HTTP API (zone list, zone GET equal to what dig answers, a PATCH,
# metadata), refusals that must leave the store untouched, and systemd readiness.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init

PORT=5321
API=8091
PDNS_NAME=pdns-remote
mxg_write_config "$IT_WORK/mxguard" "$PDNS_CONTROL --config-dir=$IT_WORK/$PDNS_NAME"
mxg_import_zones "example.com=$IT_ZONES_DIR/example.com.zone"

# Readiness: READY=1 reaches $NOTIFY_SOCKET once the backend socket accepts connections.
python3 - "$IT_WORK/notify.sock" "$IT_WORK/notify.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(10)
try:
    msg = s.recv(4096).decode()
except socket.timeout:
    msg = "timeout"
open(sys.argv[2], "w").write(msg)
PY
notify_pid=$!
for _ in $(seq 100); do [ -S "$IT_WORK/notify.sock" ] && break; sleep 0.05; done
NOTIFY_SOCKET="$IT_WORK/notify.sock" mxg_start
wait "$notify_pid" || true
assert_contains "$(cat "$IT_WORK/notify.out")" "READY=1" "mxguard notifies systemd when ready"

pdns_start --kind remote --port "$PORT" --api-port "$API" --name "$PDNS_NAME"
PDNSUTIL_CONF=(--config-dir="$PDNS_DIR")
api() { curl -sS -m 5 -H 'X-API-Key: secret' "$@"; }
BASE="http://127.0.0.1:$API/api/v1/servers/localhost"

# --- zones appear and disappear without restarting pdns --------------------------------
assert_rcode "$PORT" REFUSED example.org SOA
assert_ok "zone add" mxg zone add example.org --ns ns1.example.org --ns ns2.example.org
assert_rcode "$PORT" NOERROR example.org SOA
assert_answer "$PORT" example.org NS $'ns1.example.org.\nns2.example.org.'
soa=$(dig_short "$PORT" example.org SOA)
assert_contains "$soa" "ns1.example.org. hostmaster.example.org. $(date -u +%Y%m%d)01" "new zone SOA"
assert_fails "zone add of an existing zone fails" mxg zone add example.org
assert_fails "zone add with a bad name fails" mxg zone add 'bad..name'
assert_fails "slave zone needs a primary" mxg zone add sec.example --kind slave
assert_ok "slave zone with primary" mxg zone add sec.example --kind slave --primary 192.0.2.1:5300

# --- pdnsutil --------------------------------------------------------------------------
out=$("$PDNSUTIL" "${PDNSUTIL_CONF[@]}" list-all-zones 2>&1)
assert_contains "$out" "example.com" "pdnsutil list-all-zones shows example.com"
assert_contains "$out" "example.org" "pdnsutil list-all-zones shows example.org"
out=$("$PDNSUTIL" "${PDNSUTIL_CONF[@]}" list-zone example.com 2>&1)
assert_contains "$out" "www.example.com" "pdnsutil list-zone shows www"
assert_contains "$out" "_sip._tcp.example.com" "pdnsutil list-zone shows the SRV"
assert_eq "pong" "$("$PDNSUTIL" "${PDNSUTIL_CONF[@]}" backend-cmd remote ping 2>&1 | tail -n 1)" \
    "pdnsutil backend-cmd remote ping"
assert_contains "$("$PDNSUTIL" "${PDNSUTIL_CONF[@]}" backend-cmd remote version 2>&1)" "mxguard" \
    "pdnsutil backend-cmd remote version"
assert_ok "pdnsutil set-meta" "$PDNSUTIL" "${PDNSUTIL_CONF[@]}" set-meta example.com ALSO-NOTIFY 192.0.2.53
assert_contains "$("$PDNSUTIL" "${PDNSUTIL_CONF[@]}" get-meta example.com ALSO-NOTIFY 2>&1)" \
    "192.0.2.53" "pdnsutil get-meta reads it back"
assert_ok "pdnsutil set-meta X-MXGUARD-MODE fix" \
    "$PDNSUTIL" "${PDNSUTIL_CONF[@]}" set-meta example.com X-MXGUARD-MODE fix
assert_fails "pdnsutil set-meta X-MXGUARD-MODE with a bad value is refused" \
    "$PDNSUTIL" "${PDNSUTIL_CONF[@]}" set-meta example.com X-MXGUARD-MODE always
assert_contains "$("$PDNSUTIL" "${PDNSUTIL_CONF[@]}" get-meta example.com X-MXGUARD-MODE 2>&1)" \
    "fix" "the refused value did not replace the stored one"

# --- HTTP API ----------------------------------------------------------------------------
zones=$(api "$BASE/zones")
assert_contains "$(tr -d " " <<<"$zones")" '"name":"example.com."' "API lists example.com"
assert_contains "$(tr -d ' ' <<<"$zones")" '"name":"example.org."' "API lists example.org"
zone_json=$(api "$BASE/zones/example.com")
# Every A record the API shows is what dig answers.
python3 - "$zone_json" >"$IT_WORK/api-a.txt" <<'PY'
import json, sys
z = json.loads(sys.argv[1])
for rr in z["rrsets"]:
    if rr["type"] == "A":
        for r in rr["records"]:
            print(rr["name"], r["content"])
PY
n=0
while read -r name addr; do
    # Below the delegation at sub.example.com pdns answers with a referral, not the glue.
    case $name in *.sub.example.com.) continue ;; esac
    n=$((n + 1))
    assert_contains "$(dig_short "$PORT" "$name" A)" "$addr" "API and dig agree on $name A $addr"
done <"$IT_WORK/api-a.txt"
[ "$n" -ge 3 ] && it_pass "API showed $n A records" || it_fail "API showed only $n A records"
assert_contains "$(tr -d ' ' <<<"$zone_json")" '"kind":"Native"' "API shows the zone kind"
meta=$(api "$BASE/zones/example.com/metadata")
assert_contains "$meta" "SOA-EDIT-API" "API metadata lists SOA-EDIT-API"

# An API PATCH goes through mxguard's transaction and is what dig answers next.
code=$(api -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/json' \
    --data '{"rrsets":[{"name":"shop.example.com.","type":"A","ttl":300,"changetype":"REPLACE","records":[{"content":"203.0.113.7","disabled":false}]}]}' \
    "$BASE/zones/example.com")
assert_eq 204 "$code" "API PATCH is accepted"
assert_answer "$PORT" shop.example.com A 203.0.113.7
assert_contains "$(api "$BASE/zones/example.com" | tr -d ' ')" '"content":"203.0.113.7"' \
    "API GET shows the patched record"
# Zone creation through the API is impossible with a remote backend (pdns answers 422).
code=$(api -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data '{"name":"new.example.","kind":"Native","nameservers":["ns1.new.example."]}' "$BASE/zones")
assert_eq 422 "$code" "API POST /zones is refused by pdns"

# --- zone delete reaches pdns -------------------------------------------------------------
assert_ok "zone delete" mxg zone delete example.org
assert_rcode "$PORT" REFUSED example.org SOA
assert_fails "deleting it again fails" mxg zone delete example.org
assert_not_contains "$(mxg zone list)" "example.org" "zone list no longer shows it"
assert_contains "$(mxg zone list --json)" '"zone":"example.com."' "zone list --json"

# --- a second daemon on the same socket is refused; the first keeps serving -----------------
rc=0
"$MXGUARD" serve --config "$MXG_CONF" >"$IT_WORK/second.log" 2>&1 || rc=$?
assert_eq 2 "$rc" "second mxguard on a live socket exits with status 2"
assert_contains "$(cat "$IT_WORK/second.log")" "in use" "and says the socket is in use"
assert_rcode "$PORT" NOERROR www.example.com A

it_finish
