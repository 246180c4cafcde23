#!/usr/bin/env bash
# tests/integration/test_front.sh -- the HTTP API front (PRODUCT.md §6): a real pdns_server on
# mxguard with its API on loopback, the front before it, driven with curl and Debian's lexicon.
#   keys: 401 without / with a wrong key, 403 for the panel key on operator endpoints;
#   forwarding: GET of a zone as pdns answers it; an allowed PATCH committed (dig);
#   refusal: 422 with the rule, the name and the remedy, the audit record's seq, dig unchanged;
#   X-MXGUARD-MODE: 403 for the panel key, the operator key writes it (audited);
#   zone create (201, the zone as GET returns it, visible in dig) and delete (204, gone);
#   /api/v1/mxguard/check, scan, audit, audit/verify, last-decision; /metrics;
#   PUT /zones/{id} kind and masters (audited; a secondary needs the operator key);
#   soa_edit_api on create; /metrics parsed by python3-prometheus-client, its counters moving;
#   413 for an oversized body; slow clients cut at api-timeout; 1,000 concurrent requests;
#   lexicon (provider powerdns) create/list/update/delete through the
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
printf '@ IN A %s\n@ IN MX 10 mail\nmail IN A 192.0.2.25\n' "$OLD" | g_zone race.example

mxg_write_config "$IT_WORK/mxguard" "$PDNS_CONTROL --config-dir=$IT_WORK/pdns-front"
{
    echo "mode=reject"
    echo "api-listen=127.0.0.1:$FRONT"
    echo "api-key=$PANEL"
    echo "operator-key=$OPER"
    echo "pdns-api-url=http://127.0.0.1:$G_API"
    echo "pdns-api-key=secret"
    echo "api-timeout=3"
} >>"$MXG_CONF"
mapfile -t zones < <(g_zone_list)
mxg_import_zones "${zones[@]}"
mxg_start
pdns_start --kind remote --port "$PORT" --api-port "$G_API" --name pdns-front
front_wait "$URL"
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

# --- a refusal at commit (a change in between): the 422 of that commit, never pdns's 500 ----------
# Two PATCHes that each keep mail but together move it: the MX to the apex, and the apex A to
# the proxy. Sent at once, both can pass the front's check; pdns then commits one and the other's
# commit is refused (pdns: 500), which the front answers with the 422 of that commit's audit
# record. Never both committed, never a 500.
RZ="$Z/race.example."
mx_apex=$(body "$(rr race.example. MX 3600 '10 race.example.')")
a_proxy=$(body "$(rr race.example. A 3600 "$NEW")")
hits=0 both=0 bad=0
for ((round = 0; round < 25; round++)); do
    fc "${P[@]}" -X PATCH --data "$mx_apex" "$RZ" >"$IT_WORK/race1" &
    p1=$!
    fc "${P[@]}" -X PATCH --data "$a_proxy" "$RZ" >"$IT_WORK/race2" &
    p2=$!
    wait "$p1" "$p2" || true
    s1=$(tail -n1 "$IT_WORK/race1")
    s2=$(tail -n1 "$IT_WORK/race2")
    case "$s1 $s2" in
    "204 204") both=$((both + 1)) ;;
    "204 422" | "422 204")
        for f in "$IT_WORK/race1" "$IT_WORK/race2"; do
            [ "$(tail -n1 "$f")" = 422 ] || continue
            q=$(sed '$d' "$f" | jq_ 'r["mxguard"]["audit_seq"]')
            src=$(fc "${O[@]}" "$URL/api/v1/mxguard/audit?after=$((q - 1))&limit=1" | sed '$d' | jq_ 'r["records"][0]["source"]')
            [ "$src" = api ] && hits=$((hits + 1))
        done
        ;;
    *) bad=$((bad + 1)); it_log "round $round: $s1 $s2: $(cat "$IT_WORK/race1" "$IT_WORK/race2")" ;;
    esac
    # back to the start: MX to mail first (the apex A may then move back freely)
    g_api -X PATCH --data "$(body "$(rr race.example. MX 3600 '10 mail.race.example.')")" \
        "http://127.0.0.1:$G_API/api/v1/servers/localhost/zones/race.example." >/dev/null
    g_api -X PATCH --data "$(body "$(rr race.example. A 3600 "$OLD")")" \
        "http://127.0.0.1:$G_API/api/v1/servers/localhost/zones/race.example." >/dev/null
done
it_log "race: $hits refusals at commit answered 422 (audit source api), $both both-committed, $bad other"
assert_eq 0 "$both" "two PATCHes that together move mail: never both committed"
assert_eq 0 "$bad" "two PATCHes at once: each answered 204 or 422, never pdns's 500"
assert_answer "$PORT" race.example A "$OLD"

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
# pdns keeps the last of a member given twice: so does the front
assert_eq 403 "$(status "$(fc "${P[@]}" -X POST --data '{"kind":"ALLOW-AXFR-FROM","kind":"X-MXGUARD-MODE","metadata":["off"]}' "$Z/md.example./metadata")")" \
    "panel key, X-MXGUARD-MODE as the second of two kinds: 403"
assert_eq 400 "$(status "$(fc "${P[@]}" -X POST --data '{"kind":"X-MXGUARD-MODE","metadata":["off"],"x":1e999}' "$Z/md.example./metadata")")" \
    "a metadata body mxguard cannot read is not forwarded: 400"
assert_not_contains "$(g_sql "SELECT kind FROM domainmetadata" || true)" "X-MXGUARD" "no guard metadata written by the panel"
r=$(fc "${O[@]}" -X PUT -H 'Content-Type: application/json' --data '{"kind":"X-MXGUARD-MODE","metadata":["warn"]}' "$M")
assert_eq 200 "$(status "$r")" "operator key PUTs X-MXGUARD-MODE: 200"
r=$(fc "${O[@]}" "$URL/api/v1/mxguard/zones/md.example/last-decision")
assert_contains "$(bodyof "$r")" "X-MXGUARD-MODE" "the metadata change is audited"
assert_eq 200 "$(status "$(fc "${P[@]}" -X PUT --data '{"kind":"ALLOW-AXFR-FROM","metadata":["127.0.0.1"]}' "$Z/md.example./metadata/ALLOW-AXFR-FROM")")" \
    "panel key writes other metadata: 200"

# --- PUT /zones/{id}: kind and masters --------------------------------------------------------
kind_of() { fc "${P[@]}" "$Z/$1" | sed '$d' | jq_ 'r["kind"] + " " + ",".join(r["masters"])'; }
r=$(fc "${P[@]}" -X PUT -H 'Content-Type: application/json' --data '{"kind":"Master"}' "$Z/md.example.")
assert_eq 204 "$(status "$r")" "panel key PUTs kind Master: 204"
assert_eq "Master " "$(kind_of md.example.)" "GET shows kind Master"
r=$(fc "${O[@]}" "$URL/api/v1/mxguard/zones/md.example./last-decision")
assert_eq "http native master" "$(bodyof "$r" | jq_ 'r["record"]["source"] + " " + " ".join(r["record"]["settings"]["kind"])')" \
    "the kind change is audited (source http, before and after)"
r=$(fc "${P[@]}" -X PUT --data '{"kind":"Slave","masters":["192.0.2.53"]}' "$Z/md.example.")
assert_eq 403 "$(status "$r")" "panel key makes the zone a secondary: 403"
assert_eq 403 "$(status "$(fc "${P[@]}" -X PUT --data '{"masters":["192.0.2.53"]}' "$Z/md.example.")")" "panel key sets masters: 403"
assert_eq "Master " "$(kind_of md.example.)" "... and the kind is unchanged"
r=$(fc "${O[@]}" -X PUT --data '{"kind":"Slave","masters":["192.0.2.53","192.0.2.54:5300"]}' "$Z/md.example.")
assert_eq 204 "$(status "$r")" "operator key makes the zone a secondary: 204"
assert_eq "Slave 192.0.2.53,192.0.2.54:5300" "$(kind_of md.example.)" "GET shows kind Slave and its masters"
r=$(fc "${O[@]}" -X PUT --data '{"kind":"Native","masters":[]}' "$Z/md.example.")
assert_eq 204 "$(status "$r")" "back to Native: 204"
assert_eq "Native " "$(kind_of md.example.)" "GET shows kind Native, no masters"
assert_eq 422 "$(status "$(fc "${O[@]}" -X PUT --data '{"kind":"Slave","masters":["not an address"]}' "$Z/md.example.")")" \
    "masters that are no addresses: 422"
assert_eq 404 "$(status "$(fc "${P[@]}" -X PUT --data '{"kind":"Master"}' "$Z/nonexistent.example.")")" "PUT of an unknown zone: 404"
r=$(fc "${P[@]}" -X PUT --data '{"soa_edit_api":"INCEPTION-INCREMENT"}' "$Z/md.example.")
assert_eq 204 "$(status "$r")" "PUT soa_edit_api (pdns's own): 204"
assert_eq INCEPTION-INCREMENT "$(fc "${P[@]}" "$Z/md.example." | sed '$d' | jq_ 'r["soa_edit_api"]')" "GET shows soa_edit_api"

# --- zone create and delete -----------------------------------------------------------------------
r=$(fc "${P[@]}" -X POST -H 'Content-Type: application/json' \
    --data '{"name":"new.example.","kind":"Native","nameservers":["ns1.example.net."]}' "$Z")
it_log "POST /zones: $r"
assert_eq 201 "$(status "$r")" "POST /zones: 201"
assert_eq "new.example." "$(bodyof "$r" | jq_ 'r["name"]')" "201 body is the zone as GET returns it"
assert_eq DEFAULT "$(bodyof "$r" | jq_ 'r["soa_edit_api"]')" "a new zone gets soa_edit_api DEFAULT, as with pdns"
r=$(fc "${P[@]}" -X POST --data '{"name":"sea.example.","kind":"Native","nameservers":["ns1.example.net."],"soa_edit_api":"EPOCH"}' "$Z")
assert_eq 201 "$(status "$r")" "POST /zones with soa_edit_api: 201"
assert_eq EPOCH "$(bodyof "$r" | jq_ 'r["soa_edit_api"]')" "... and the zone has it"
r=$(fc "${O[@]}" "$URL/api/v1/mxguard/zones/sea.example./last-decision")
assert_eq http "$(bodyof "$r" | jq_ 'r["record"]["source"]')" "the zone creation is audited with source http"
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

# slow clients: idle, and a body that trickles in, are cut at api-timeout (3 s here)
slow() {
    python3 - "$FRONT" "$1" <<'PY'
import socket, sys, time
port, how = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
t0 = time.monotonic()
try:
    if how == "trickle":
        s.sendall(b"PATCH /api/v1/servers/localhost/zones/fr.example. HTTP/1.1\r\nHost: x\r\n"
                  b"X-API-Key: panel-key-1\r\nContent-Length: 400\r\n\r\n")
        for _ in range(400):
            s.sendall(b" ")
            time.sleep(0.25)
    else:
        s.settimeout(60)
        s.recv(1)
except OSError:
    pass
print(round(time.monotonic() - t0))
PY
}
t=$(slow idle)
assert_ok "an idle connection is closed within 10 s (took ${t}s)" test "$t" -le 10
t=$(slow trickle)
assert_ok "a trickling body is cut within 15 s, not after its 100 s (took ${t}s)" test "$t" -le 15

# 1,000 requests at once, half of them forwarded, half mxguard's own: every one answered
python3 - "$URL" "$PANEL" >"$IT_WORK/c1000.out" <<'PY'
import sys, threading, urllib.request
url, key = sys.argv[1], sys.argv[2]
codes = {}
lock = threading.Lock()
def one(i):
    path = "/api/v1/servers/localhost/zones/fr.example." if i % 2 else "/api/v1/mxguard/zones/fr.example./last-decision"
    req = urllib.request.Request(url + path, headers={"X-API-Key": key})
    try:
        code = urllib.request.urlopen(req, timeout=120).status
    except urllib.error.HTTPError as e:
        code = e.code
    except Exception as e:
        code = type(e).__name__
    with lock:
        codes[code] = codes.get(code, 0) + 1
ts = [threading.Thread(target=one, args=(i,)) for i in range(1000)]
for t in ts: t.start()
for t in ts: t.join()
print(" ".join("%s:%d" % kv for kv in sorted(codes.items(), key=str)))
PY
it_log "1,000 concurrent requests: $(cat "$IT_WORK/c1000.out")"
assert_eq "200:1000" "$(cat "$IT_WORK/c1000.out")" "1,000 concurrent requests: all 200"
it_alive "$MXG_PID" && it_pass "mxguard alive after the load" || it_fail "mxguard died under load"

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
# prom FILE -- the samples of a scrape as "name{labels} value" lines, parsed by
# python3-prometheus-client's text parser (a parse error fails the test). Debian's python3: the
# package installs for it, whatever other python3 comes first on PATH.
prom() {
    /usr/bin/python3 -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in fam.samples:
        labels = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
        print("%s{%s} %s" % (s.name, labels, s.value))
' "$1"
}
sample() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
# moved A B N -- B >= A + N
moved() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[2]) >= float(sys.argv[1]) + float(sys.argv[3]) else 1)' "$@"; }
r=$(fc "${O[@]}" "$URL/metrics")
assert_eq 200 "$(status "$r")" "/metrics: 200"
bodyof "$r" >"$IT_WORK/m1.txt"
assert_ok "/metrics parses with prometheus_client" prom "$IT_WORK/m1.txt"
prom "$IT_WORK/m1.txt" >"$IT_WORK/m1.samples"
assert_ok "/metrics counts the 422s" moved 0 "$(sample "$IT_WORK/m1.samples" 'mxguard_api_refused_total{}')" 1
assert_ok "/metrics: verdicts by rule (the front's refusals)" moved 0 \
    "$(sample "$IT_WORK/m1.samples" 'mxguard_rule_verdicts_total{rule=mail-moved,verdict=reject}')" 1
# traffic: lookups and an allowed commit
for ((i = 0; i < 20; i++)); do dig_rcode "$PORT" "n$i.fr.example" A >/dev/null; done
r=$(fc "${P[@]}" -X PATCH --data "$(body "$(rr www.fr.example. A 3600 198.51.100.8)")" "$Z/fr.example.")
assert_eq 204 "$(status "$r")" "an allowed PATCH between two scrapes"
fc "${O[@]}" "$URL/metrics" | sed '$d' >"$IT_WORK/m2.txt"
prom "$IT_WORK/m2.txt" >"$IT_WORK/m2.samples"
for k in 'mxguard_lookups_total{}:20' 'mxguard_commits_total{}:1' 'mxguard_commit_duration_seconds_count{}:1' \
    'mxguard_api_requests_total{}:2' 'mxguard_api_forwarded_total{}:1'; do
    name=${k%:*}
    a=$(sample "$IT_WORK/m1.samples" "$name")
    b=$(sample "$IT_WORK/m2.samples" "$name")
    assert_ok "$name moved by at least ${k##*:} ($a -> $b)" moved "${a:-0}" "${b:-0}" "${k##*:}"
done
assert_contains "$(cat "$IT_WORK/m2.samples")" 'mxguard_commit_duration_seconds_bucket{le=+Inf}' "the commit latency histogram"
assert_contains "$(cat "$IT_WORK/m2.samples")" 'mxguard_backend_connections{}' "backend connections"

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
before=$(g_sql "SELECT (SELECT count(*) FROM domains), (SELECT count(*) FROM records)" | tr '\n' ' ')
r=$(fc "${P[@]}" -X PATCH --data "$(body "$(rr www.fr.example. A 3600 198.51.100.99)")" "$Z/fr.example.")
assert_eq 502 "$(status "$r")" "pdns API down: a PATCH is 502"
r=$(fc "${P[@]}" -X POST --data '{"name":"down.example.","kind":"Native","nameservers":["ns1.example.net."]}' "$Z")
assert_eq 502 "$(status "$r")" "pdns API down: a zone create is 502"
assert_eq "$before" "$(g_sql "SELECT (SELECT count(*) FROM domains), (SELECT count(*) FROM records)" | tr '\n' ' ')" \
    "pdns API down: nothing written (zones and records as before)"
it_alive "$MXG_PID" && it_pass "mxguard still running" || it_fail "mxguard died"

it_finish
