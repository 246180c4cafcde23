#!/usr/bin/env bash
# tests/integration/test_front_race.sh -- a PATCH that the front's check allows but whose commit
# the guard refuses, because another change landed in between: pdns answers 500, and the front
# turns it into the 422 of that commit's audit record (PRODUCT.md §6).
#
# The in-between is made certain, not hoped for: the front forwards to pdns's API through a small
# proxy (slow_proxy below) that holds every PATCH for 2 s. While the panel's PATCH (the apex A
# moved; the MX names mail.race.example) waits there, the MX is pointed at the apex straight
# through pdns's API. The PATCH then reaches pdns, the guard refuses its commit (mail would
# move), pdns answers 500 -- and the panel gets 422 naming the rule, with the seq of the commit's
# audit record (source api). dig shows neither the moved apex nor a moved mail host.
#
# Ports: DNS 5317 (pdns on mxguard), pdns API 8114, the front 8115, the proxy 8116.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guard_lib.sh"
mxg_require
it_init

PORT=5317
G_API=8114
FRONT=8115
PROXY=8116
OLD=192.0.2.10
NEW=203.0.113.80
URL="http://127.0.0.1:$FRONT"
Z="$URL/api/v1/servers/localhost/zones"

# mail.race.example and the apex share an address: pointing MX at the apex keeps mail where it is.
printf '@ IN A %s\n@ IN MX 10 mail\nmail IN A %s\n' "$OLD" "$OLD" | g_zone race.example
mxg_write_config "$IT_WORK/mxguard" "$PDNS_CONTROL --config-dir=$IT_WORK/pdns-race"
{
    echo "mode=reject"
    echo "api-listen=127.0.0.1:$FRONT"
    echo "api-key=panel-key"
    echo "operator-key=operator-key"
    echo "pdns-api-url=http://127.0.0.1:$PROXY"
    echo "pdns-api-key=secret"
} >>"$MXG_CONF"
mapfile -t zones < <(g_zone_list)
mxg_import_zones "${zones[@]}"
mxg_start
pdns_start --kind remote --port "$PORT" --api-port "$G_API" --name pdns-race

# slow_proxy: HTTP/1.1 to pdns's API, holding each PATCH for 2 s before passing it on.
cat >"$IT_WORK/slow_proxy.py" <<'PY'
import http.client, http.server, sys, time
listen, upstream = int(sys.argv[1]), int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def relay(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.command == "PATCH":
            time.sleep(2)
        c = http.client.HTTPConnection("127.0.0.1", upstream, timeout=30)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        c.request(self.command, self.path, body=body, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    do_GET = do_PATCH = do_PUT = do_POST = do_DELETE = relay
http.server.ThreadingHTTPServer(("127.0.0.1", listen), H).serve_forever()
PY
it_spawn "slow proxy" "$IT_WORK/proxy.log" python3 "$IT_WORK/slow_proxy.py" "$PROXY" "$G_API"
for ((i = 0; i < 100; i++)); do
    curl -s -o /dev/null "http://127.0.0.1:$PROXY/" && break
    sleep 0.1
done

# The panel's PATCH: allowed as things stand (MX names mail.race.example, not the apex).
a_proxy=$(body "$(rr race.example. A 3600 "$NEW")")
r=$(curl -sS -m 10 -H 'X-API-Key: panel-key' -X POST --data "$a_proxy" "$URL/api/v1/mxguard/check?zone=race.example")
assert_eq allow "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["verdict"])' "$r")" \
    "the front's check allows the apex move on its own"
curl -sS -m 30 -w '\n%{http_code}' -H 'X-API-Key: panel-key' -X PATCH --data "$a_proxy" "$Z/race.example." >"$IT_WORK/panel.out" &
panel=$!
sleep 0.7
# ... and while it waits in the proxy, the MX moves to the apex straight through pdns's API.
g_api -X PATCH --data "$(body "$(rr race.example. MX 3600 '10 race.example.')")" \
    "http://127.0.0.1:$G_API/api/v1/servers/localhost/zones/race.example." >"$IT_WORK/mx.out"
assert_answer "$PORT" race.example MX "10 race.example."
wait "$panel" || true
status=$(tail -n1 "$IT_WORK/panel.out")
b=$(sed '$d' "$IT_WORK/panel.out")
it_log "panel PATCH after the change in between: $status $b"
assert_eq 422 "$status" "the refused commit (pdns: 500) reaches the panel as 422"
err=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["error"])' "$b")
assert_contains "$err" "mail-moved" "the 422 names the rule"
seq=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["mxguard"]["audit_seq"])' "$b")
rec=$(curl -sS -H 'X-API-Key: operator-key' "$URL/api/v1/mxguard/audit?after=$((seq - 1))&limit=1")
assert_eq "api reject" "$(python3 -c 'import json,sys; r=json.loads(sys.argv[1])["records"][0]; print(r["source"], r["verdict"])' "$rec")" \
    "the 422 names the commit's own audit record (seq $seq: source api, verdict reject)"
assert_answer "$PORT" race.example A "$OLD"
it_alive "$MXG_PID" && it_pass "mxguard still running" || it_fail "mxguard died"
it_finish
