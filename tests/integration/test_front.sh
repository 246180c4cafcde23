#!/usr/bin/env bash
# tests/integration/test_front.sh -- the HTTP API front (PRODUCT.md §6): a real pdns_server on
# mxguard with its API on loopback, the front before it, driven with curl and Debian's lexicon.
#   keys: 401 without / with a wrong key, 403 for the panel key on operator endpoints;
#   forwarding: GET of a zone as pdns answers it; an allowed PATCH committed (dig);
#   refusal: 422 with the rule, the name and the remedy, the audit record's seq, dig unchanged;
#   X-MXGUARD-MODE: 403 for the panel key, the operator key writes it (audited);
#   zone create (201, the zone as GET returns it, visible in dig) and delete (204, gone);
#   /api/v1/mxguard/check, scan, audit, audit/verify, last-decision; /metrics;
#   413 for an oversized body; lexicon (provider powerdns) create/list/update/delete through the
#   front, and failing on a refused change; pdns API down: 502.
#
# Ports: DNS 5386 (pdns on mxguard), pdns API 8097, the front 8099.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guard_lib.sh"
mxg_require
it_init

PORT=5386
G_API=8097
FRONT=8099
OLD=192.0.2.10
NEW=203.0.113.80
PANEL=panel-key-1
OPER=operator-key-1
URL="http://127.0.0.1:$FRONT"
Z="$URL/api/v1/servers/localhost/zones"

std() { printf '@ IN A %s\n@ IN MX 10 @\nwww IN A 192.0.2.20\n' "$OLD"; }
std | g_zone fr.example
std | g_zone example.com
std | g_zone md.example

mxg_write_config "$IT_WORK/mxguard" "$PDNS_CONTROL --config-dir=$IT_WORK/pdns-front"
{
    echo "mode=reject"
    echo "api-listen=127.0.0.1:$FRONT"
    echo "api-key=$PANEL"
    echo "operator-key=$OPER"
    echo "pdns-api-url=http://127.0.0.1:$G_API"
    echo "pdns-api-key=secret"
} >>"$MXG_CONF"
mapfile -t zones < <(g_zone_list)
mxg_import_zones "${zones[@]}"
mxg_start
pdns_start --kind remote --port "$PORT" --api-port "$G_API" --name pdns-front
for ((i = 0; i < 100; i++)); do
    curl -s -o /dev/null "$URL/" && break
    sleep 0.1
done

# fc [CURL ARGS...] -- curl through the front; prints the body, then the status on a line.
fc() { curl -sS -m 20 -w '\n%{http_code}' "$@"; }
status() { tail -n1 <<<"$1"; }
bodyof() { sed '$d' <<<"$1"; }
jq_() { python3 -c "import json,sys; r=json.loads(sys.stdin.read()); print($1)"; }

# --- keys ------------------------------------------------------------------------------------
r=$(fc "$Z")
assert_eq 401 "$(status "$r")" "no key: 401"
pdns401=$(curl -sS -H 'Accept: application/json' "http://127.0.0.1:$G_API/api/v1/servers/localhost/zones")
it_log "pdns's own 401: $pdns401; the front's: $(bodyof "$r")"
assert_eq "$(jq_ 'r["error"]' <<<"$pdns401")" "$(bodyof "$r" | jq_ 'r["error"]')" "401 body as pdns's"
assert_eq 401 "$(status "$(fc -H 'X-API-Key: wrong' "$Z")")" "wrong key: 401"
assert_eq 401 "$(status "$(fc -H "X-API-Key: ${PANEL}x" "$Z")")" "panel key plus a byte: 401"
assert_eq 403 "$(status "$(fc -H "X-API-Key: $PANEL" "$URL/api/v1/mxguard/audit")")" "panel key on the audit: 403"
assert_eq 403 "$(status "$(fc -H "X-API-Key: $PANEL" "$URL/metrics")")" "panel key on /metrics: 403"

P=(-H "X-API-Key: $PANEL")
O=(-H "X-API-Key: $OPER")

# --- forwarding --------------------------------------------------------------------------------
r=$(fc "${P[@]}" "$Z/fr.example.")
assert_eq 200 "$(status "$r")" "GET a zone through the front: 200"
direct=$(curl -sS -H 'X-API-Key: secret' "http://127.0.0.1:$G_API/api/v1/servers/localhost/zones/fr.example.")
assert_eq "$direct" "$(bodyof "$r")" "the GET body is pdns's, byte for byte"
assert_eq 404 "$(status "$(fc "${P[@]}" "$Z/nonexistent.example.")")" "GET of an unknown zone: pdns's 404"
assert_eq 200 "$(status "$(fc "${P[@]}" "$URL/api/v1/servers/localhost/statistics")")" "statistics forwarded"

# an allowed PATCH is forwarded and committed
r=$(fc "${P[@]}" -X PATCH -H 'Content-Type: application/json' \
    --data "$(body "$(rr www.fr.example. A 3600 198.51.100.7)")" "$Z/fr.example.")
assert_eq 204 "$(status "$r")" "allowed PATCH (www moved): 204"
assert_answer "$PORT" www.fr.example A 198.51.100.7

# --- refusal: 422 --------------------------------------------------------------------------------
r=$(fc "${P[@]}" -X PATCH -H 'Content-Type: application/json' \
    --data "$(body "$(rr fr.example. A 3600 $NEW)")" "$Z/fr.example.")
assert_eq 422 "$(status "$r")" "apex A moved with MX -> apex: 422"
b=$(bodyof "$r")
err=$(jq_ 'r["error"]' <<<"$b")
it_log "422 error: $err"
assert_contains "$err" "mail-moved" "the error names the rule"
assert_contains "$err" "fr.example" "the error names the name"
assert_contains "$err" "remedy" "the error names a remedy"
assert_eq reject "$(jq_ 'r["mxguard"]["verdict"]' <<<"$b")" "mxguard.verdict is reject"
seq=$(jq_ 'r["mxguard"]["audit_seq"]' <<<"$b")
assert_ne None "$seq" "mxguard.audit_seq is set ($seq)"
assert_answer "$PORT" fr.example A "$OLD"
rec=$(fc "${O[@]}" "$URL/api/v1/mxguard/audit?zone=fr.example&after=$((seq - 1))&limit=1")
assert_eq 200 "$(status "$rec")" "audit through the front: 200"
rb=$(bodyof "$rec")
assert_eq "$seq http reject" "$(jq_ 'str(r["records"][0]["seq"]) + " " + r["records"][0]["source"] + " " + r["records"][0]["verdict"]' <<<"$rb")" \
    "the refusal's audit record: seq $seq, source http, verdict reject"
r=$(fc "${P[@]}" "$URL/api/v1/mxguard/zones/fr.example./last-decision")
assert_eq "$seq" "$(bodyof "$r" | jq_ 'r["record"]["seq"]')" "last-decision names the refusal"

# --- check, scan, verify ------------------------------------------------------------------------
r=$(fc "${P[@]}" -X POST --data "$(body "$(rr fr.example. A 3600 $NEW)")" "$URL/api/v1/mxguard/check?zone=fr.example")
assert_eq 200 "$(status "$r")" "check: 200"
assert_eq reject "$(bodyof "$r" | jq_ 'r["verdict"]')" "check: verdict reject"
r=$(fc "${P[@]}" "$URL/api/v1/mxguard/scan")
assert_eq 200 "$(status "$r")" "scan: 200"
assert_contains "$(bodyof "$r")" "fr.example" "scan lists the zones"
r=$(fc "${O[@]}" "$URL/api/v1/mxguard/audit/verify")
assert_eq True "$(bodyof "$r" | jq_ 'r["valid"]')" "audit/verify: the chain is valid"

# --- X-MXGUARD-* metadata ------------------------------------------------------------------------
M="$Z/md.example./metadata/X-MXGUARD-MODE"
meta='{"kind":"X-MXGUARD-MODE","metadata":["off"]}'
assert_eq 403 "$(status "$(fc "${P[@]}" -X PUT --data "$meta" "$M")")" "panel key PUTs X-MXGUARD-MODE: 403"
assert_eq 403 "$(status "$(fc "${P[@]}" -X POST --data "$meta" "$Z/md.example./metadata")")" "panel key POSTs X-MXGUARD-MODE: 403"
assert_eq 403 "$(status "$(fc "${P[@]}" -X DELETE "$M")")" "panel key DELETEs X-MXGUARD-MODE: 403"
assert_eq 403 "$(status "$(fc "${P[@]}" -X PUT --data '{"kind":"x-mxguard-mode","metadata":["off"]}' "$Z/md.example./metadata/x-mxguard-mode")")" \
    "panel key, lower case kind: 403"
assert_not_contains "$(g_sql "SELECT kind FROM domainmetadata" || true)" "X-MXGUARD" "no guard metadata written by the panel"
r=$(fc "${O[@]}" -X PUT -H 'Content-Type: application/json' --data '{"kind":"X-MXGUARD-MODE","metadata":["warn"]}' "$M")
assert_eq 200 "$(status "$r")" "operator key PUTs X-MXGUARD-MODE: 200"
r=$(fc "${O[@]}" "$URL/api/v1/mxguard/zones/md.example/last-decision")
assert_contains "$(bodyof "$r")" "X-MXGUARD-MODE" "the metadata change is audited"
assert_eq 200 "$(status "$(fc "${P[@]}" -X PUT --data '{"kind":"ALLOW-AXFR-FROM","metadata":["127.0.0.1"]}' "$Z/md.example./metadata/ALLOW-AXFR-FROM")")" \
    "panel key writes other metadata: 200"

# --- zone create and delete -----------------------------------------------------------------------
r=$(fc "${P[@]}" -X POST -H 'Content-Type: application/json' \
    --data '{"name":"new.example.","kind":"Native","nameservers":["ns1.example.net."]}' "$Z")
it_log "POST /zones: $r"
assert_eq 201 "$(status "$r")" "POST /zones: 201"
assert_eq "new.example." "$(bodyof "$r" | jq_ 'r["name"]')" "201 body is the zone as GET returns it"
assert_rcode "$PORT" NOERROR new.example SOA
assert_eq 409 "$(status "$(fc "${P[@]}" -X POST --data '{"name":"new.example.","kind":"Native","nameservers":["ns1.example.net."]}' "$Z")")" \
    "POST /zones of an existing zone: 409"
r=$(fc "${P[@]}" -X PATCH --data "$(body "$(rr www.new.example. A 3600 192.0.2.99)")" "$Z/new.example.")
assert_eq 204 "$(status "$r")" "PATCH of the new zone: 204"
assert_answer "$PORT" www.new.example A 192.0.2.99
r=$(fc "${P[@]}" -X DELETE "$Z/new.example.")
assert_eq 204 "$(status "$r")" "DELETE /zones/new.example.: 204"
for ((i = 0; i < 50; i++)); do
    [ "$(dig_rcode "$PORT" new.example SOA)" = REFUSED ] && break
    sleep 0.1
done
assert_rcode "$PORT" REFUSED new.example SOA
assert_eq 404 "$(status "$(fc "${P[@]}" -X DELETE "$Z/new.example.")")" "DELETE of a zone that is gone: 404"

# zone create with rrsets: created with them, or not at all
r=$(fc "${P[@]}" -X POST -H 'Content-Type: application/json' \
    --data '{"name":"rr.example.","kind":"Native","nameservers":["ns1.example.net."],"rrsets":[{"name":"www.rr.example.","type":"A","ttl":300,"records":[{"content":"192.0.2.44","disabled":false}]}]}' "$Z")
assert_eq 201 "$(status "$r")" "POST /zones with rrsets: 201"
assert_contains "$(bodyof "$r")" "192.0.2.44" "the 201 body has the rrset"
assert_answer "$PORT" www.rr.example A 192.0.2.44
r=$(fc "${P[@]}" -X POST -H 'Content-Type: application/json' \
    --data '{"name":"bad.example.","kind":"Native","nameservers":["ns1.example.net."],"rrsets":[{"name":"www.bad.example.","type":"A","ttl":300,"records":[{"content":"not-an-address","disabled":false}]}]}' "$Z")
it_log "POST /zones with a bad rrset: $r"
assert_eq 422 "$(status "$r")" "POST /zones with an invalid rrset: 422"
assert_eq 404 "$(status "$(fc "${P[@]}" "$Z/bad.example.")")" "... and the zone is not there"

# --- limits --------------------------------------------------------------------------------------
head -c 2000000 /dev/zero | tr '\0' 'a' >"$IT_WORK/big.json"
assert_eq 413 "$(status "$(fc "${P[@]}" -X PATCH --data-binary "@$IT_WORK/big.json" "$Z/fr.example.")")" "a 2 MB body: 413"

# malformed bodies: pdns's own answer, through the front as straight to pdns
for b in '{"rrsets": [' '{"rrsets": 5}' '[]'; do
    want=$(curl -sS -o /dev/null -w '%{http_code}' -X PATCH -H 'X-API-Key: secret' --data "$b" "http://127.0.0.1:$G_API/api/v1/servers/localhost/zones/fr.example.")
    assert_eq "$want" "$(status "$(fc "${P[@]}" -X PATCH --data "$b" "$Z/fr.example.")")" "malformed PATCH body '$b': pdns's $want"
done

# 100 requests at once: every one answered
pids=()
for ((i = 0; i < 100; i++)); do
    curl -sS -m 30 -o /dev/null -w '%{http_code}\n' "${P[@]}" "$Z/fr.example." >>"$IT_WORK/par.out" 2>&1 &
    pids+=($!)
done
wait "${pids[@]}" || true
assert_eq 100 "$(grep -c '^200$' "$IT_WORK/par.out" || true)" "100 parallel GETs through the front: all 200"

# --- /metrics ------------------------------------------------------------------------------------
r=$(fc "${O[@]}" "$URL/metrics")
assert_eq 200 "$(status "$r")" "/metrics: 200"
m=$(bodyof "$r")
assert_contains "$m" 'mxguard_lookups_total ' "/metrics has lookups"
assert_contains "$m" 'mxguard_verdicts_total{verdict="reject"}' "/metrics has verdicts"
assert_contains "$m" 'mxguard_api_refused_total 1' "/metrics counts the 422"

# --- lexicon -------------------------------------------------------------------------------------
if command -v lexicon >/dev/null; then
    lx() { lexicon powerdns "$@" --pdns-server "$URL" --auth-token "$PANEL" >>"$IT_WORK/lexicon.log" 2>&1; }
    assert_ok "lexicon create www2 A" lx create example.com A --name www2 --content 192.0.2.5
    assert_answer "$PORT" www2.example.com A 192.0.2.5
    lexicon powerdns list example.com A --pdns-server "$URL" --auth-token "$PANEL" >"$IT_WORK/lx-list.out" 2>>"$IT_WORK/lexicon.log" || true
    assert_contains "$(cat "$IT_WORK/lx-list.out")" "192.0.2.5" "lexicon list shows the record"
    assert_ok "lexicon update www2 A" lx update example.com A --identifier "A/www2.example.com.=192.0.2.5" --name www2 --content 192.0.2.6
    assert_answer "$PORT" www2.example.com A 192.0.2.6
    assert_ok "lexicon delete www2 A" lx delete example.com A --name www2 --content 192.0.2.6
    assert_rcode "$PORT" NXDOMAIN www2.example.com A
    assert_fails "lexicon update of the apex A (mail moved) fails" lx update example.com A --identifier "A/example.com.=$OLD" --name example.com --content "$NEW"
    assert_answer "$PORT" example.com A "$OLD"
    it_tail "$IT_WORK/lexicon.log" 5
else
    it_fail "lexicon is not installed (Debian package lexicon)"
fi

# --- pdns API down: 502 ----------------------------------------------------------------------------
pdns_stop
r=$(fc "${P[@]}" "$Z/fr.example.")
assert_eq 502 "$(status "$r")" "pdns API down: 502"
assert_contains "$(bodyof "$r")" "unreachable" "502 says pdns's API is unreachable"
it_alive "$MXG_PID" && it_pass "mxguard still running" || it_fail "mxguard died"

it_finish
