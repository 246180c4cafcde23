#!/usr/bin/env bash
# tests/integration/test_port_taken.sh -- a test whose port is already taken refuses to start
# its servers, saying which port and who holds it, instead of testing a stray server: a DNS port
# held over UDP, a pdns API port and an API front port held over TCP.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init
DNS=5308 API=8119 FRONT=8118
python3 - "$DNS" "$API" "$FRONT" >"$IT_WORK/holder.log" 2>&1 <<'PY' &
import socket, sys, time
socks = []
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", int(sys.argv[1]))); socks.append(u)
for p in sys.argv[2:]:
    t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("127.0.0.1", int(p))); t.listen(1); socks.append(t)
print("ready", flush=True)
time.sleep(60)
PY
IT_PIDS+=($!)
for ((i = 0; i < 50; i++)); do grep -q ready "$IT_WORK/holder.log" && break; sleep 0.1; done

out=$( (pdns_start --kind bind --port "$DNS") 2>&1) && rc=0 || rc=$?
assert_ne 0 "$rc" "pdns_start on a DNS port held over UDP refuses"
assert_contains "$out" "DNS port $DNS is already in use" "and says which port"
assert_contains "$out" "python3" "and who holds it"
out=$( (pdns_start --kind bind --port 5309 --api-port "$API") 2>&1) && rc=0 || rc=$?
assert_ne 0 "$rc" "pdns_start on an API port held over TCP refuses"
assert_contains "$out" "HTTP port $API is already in use" "and says which port"
mxg_write_config "$IT_WORK/mxguard"
echo "api-listen=127.0.0.1:$FRONT" >>"$MXG_CONF"
echo "api-key=k" >>"$MXG_CONF"
out=$( (mxg_start) 2>&1) && rc=0 || rc=$?
assert_ne 0 "$rc" "mxguard with its API front on a held port is not started"
assert_contains "$out" "API front port $FRONT is already in use" "and the message says so"
it_finish
