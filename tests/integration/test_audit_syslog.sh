#!/usr/bin/env bash
# tests/integration/test_audit_syslog.sh -- audit-syslog=yes streams every audit record to
# syslog. The test runs mxguard in a private mount namespace in which /dev/log is a datagram
# socket of its own (a small python3 listener), so nothing reaches the machine's syslog; each
# received line must be "audit " followed by exactly the record stored in the audit log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init

if [ -z "${MXG_IN_NS:-}" ]; then
    if [ "$(id -u)" -ne 0 ] || ! unshare --mount true 2>/dev/null; then
        echo "SKIP: needs root and mount namespaces"
        trap - EXIT
        rm -rf "$IT_WORK"
        exit 0
    fi
    created=0
    if [ ! -e /dev/log ]; then
        : >/dev/log # the bind mount needs a target; removed below
        created=1
    fi
    rc=0
    MXG_IN_NS=1 unshare --mount --propagation private bash "$0" || rc=$?
    [ "$created" -eq 1 ] && rm -f /dev/log
    trap - EXIT
    rm -rf "$IT_WORK"
    exit "$rc"
fi

# Inside the namespace: our own /dev/log.
python3 - "$IT_WORK/log.sock" "$IT_WORK/syslog.out" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.5)
deadline = time.time() + 30
with open(sys.argv[2], "w") as out:
    while time.time() < deadline:
        try:
            out.write(s.recv(65536).decode("utf-8", "replace") + "\n")
            out.flush()
        except socket.timeout:
            pass
PY
IT_PIDS+=($!)
for _ in $(seq 100); do [ -S "$IT_WORK/log.sock" ] && break; sleep 0.05; done
mount --bind "$IT_WORK/log.sock" /dev/log

mxg_write_config "$IT_WORK/mxguard"
echo "audit-syslog=yes" >>"$MXG_CONF"
mxg_import_zones "example.com=$IT_ZONES_DIR/example.com.zone"
mxg_start
pdns_start --kind remote --port 5396 --api-port 8090 --name pdns-remote
code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' -X PATCH -H 'X-API-Key: secret' \
    -H 'Content-Type: application/json' \
    --data '{"rrsets":[{"name":"www.example.com.","type":"A","ttl":300,"changetype":"REPLACE","records":[{"content":"192.0.2.99","disabled":false}]}]}' \
    "http://127.0.0.1:8090/api/v1/servers/localhost/zones/example.com.")
assert_eq 204 "$code" "API PATCH accepted"
for _ in $(seq 50); do grep -q '"source":"api"' "$IT_WORK/syslog.out" 2>/dev/null && break; sleep 0.1; done

n=$(mxg audit export | wc -l)
assert_eq 2 "$n" "two audit records (import, PATCH)"
# Every record (the CLI's import and the daemon's commit) reached syslog, byte for byte.
while read -r rec; do
    if grep -qF "audit $rec" "$IT_WORK/syslog.out"; then
        it_pass "record $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seq"])' "$rec") streamed to syslog"
    else
        it_fail "record missing from syslog: ${rec:0:120}"
    fi
done < <(mxg audit export)
it_finish
