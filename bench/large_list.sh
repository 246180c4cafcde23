#!/usr/bin/env bash
# Where does a large zone stop working through pdns's remote backend?
# For zones of N A records, measures: mxguard's own time to answer `list` over its socket
# (no pdns), and through pdns 4.7.3: AXFR (dig) and the HTTP API zone GET (curl), with the
# default timeout=2000 and with timeout=20000 in the connection string.
#   bash bench/large_list.sh [N...]      (default: 1000 5000 10000 20000 50000)
# Run by hand; loopback only; every process is stopped by PID at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MXGUARD=${MXGUARD:-$ROOT/build/mxguard}
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000 5000 10000 20000 50000)
DNS_PORT=5298
API_PORT=8078
W=$(mktemp -d /tmp/mxg-large.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT

list_time() { # SOCKET ZONE -> "seconds bytes"
  python3 - "$1" "$2" <<'PY'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile("rwb")
def call(m, p):
    f.write((json.dumps({"method": m, "parameters": p}) + "\n").encode()); f.flush()
    return f.readline()
call("initialize", {})
t = time.perf_counter()
line = call("list", {"zonename": sys.argv[2], "domain_id": -1, "include_disabled": False})
dt = time.perf_counter() - t
n = len(json.loads(line)["result"])
print(f"{dt:.3f} {len(line)} {n}")
PY
}

printf '%-8s %-10s %-12s %-14s %-14s %-14s %-14s\n' records reply_MB mxguard_list \
  axfr_t2000 api_t2000 axfr_t20000 api_t20000
for n in "${SIZES[@]}"; do
  d=$W/$n
  mkdir -p "$d/pdns"
  {
    echo "\$ORIGIN big.example."
    echo "\$TTL 3600"
    echo "@ SOA ns1.big.example. hostmaster.big.example. 1 3600 600 604800 300"
    echo "@ NS ns1.big.example."
    for ((i = 0; i < n; i++)); do echo "h$i A 10.$((i / 65536 % 256)).$((i / 256 % 256)).$((i % 256))"; done
  } >"$d/zone"
  cat >"$d/mxguard.conf" <<CONF
backend-socket=$d/backend.sock
control-socket=$d/control.sock
store=sqlite:$d/store.sqlite3
log-level=warning
CONF
  "$MXGUARD" --config "$d/mxguard.conf" import --zone big.example "$d/zone" >/dev/null
  "$MXGUARD" --config "$d/mxguard.conf" serve 2>"$d/mxguard.log" &
  mpid=$!
  pids+=("$mpid")
  for _ in $(seq 100); do [ -S "$d/backend.sock" ] && break; sleep 0.05; done
  read -r lt bytes _ < <(list_time "$d/backend.sock" big.example.)
  row=("$n" "$(awk -v b="$bytes" 'BEGIN{printf "%.2f", b/1048576}')" "${lt}s")
  for timeout in 2000 20000; do
    cat >"$d/pdns/pdns.conf" <<CONF
launch=remote
remote-connection-string=unix:path=$d/backend.sock,timeout=$timeout
default-api-rectify=no
local-address=127.0.0.1
local-port=$DNS_PORT
socket-dir=$d/pdns
guardian=no
daemon=no
disable-syslog=yes
loglevel=3
security-poll-suffix=
allow-axfr-ips=127.0.0.0/8
api=yes
api-key=secret
webserver=yes
webserver-address=127.0.0.1
webserver-port=$API_PORT
webserver-allow-from=127.0.0.1
CONF
    pdns_server --config-dir="$d/pdns" >"$d/pdns.log" 2>&1 &
    ppid=$!
    pids+=("$ppid")
    for _ in $(seq 50); do dig +short +tries=1 +time=1 @127.0.0.1 -p $DNS_PORT big.example SOA >/dev/null 2>&1 && break; sleep 0.1; done
    t0=$(date +%s.%N)
    cnt=$(dig +tries=1 +time=60 @127.0.0.1 -p $DNS_PORT big.example AXFR 2>/dev/null | grep -c '	IN	A	' || true)
    t1=$(date +%s.%N)
    if [ "$cnt" -eq "$n" ]; then axfr=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "ok %.2fs", b-a}'); else axfr="FAIL"; fi
    t0=$(date +%s.%N)
    code=$(curl -s -m 120 -o "$d/get.json" -w '%{http_code}' -H 'X-API-Key: secret' \
      "http://127.0.0.1:$API_PORT/api/v1/servers/localhost/zones/big.example." || true)
    t1=$(date +%s.%N)
    if [ "$code" = 200 ]; then api=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "ok %.2fs", b-a}'); else api="FAIL($code)"; fi
    row+=("$axfr" "$api")
    kill "$ppid"; wait "$ppid" 2>/dev/null || true
  done
  kill "$mpid"; wait "$mpid" 2>/dev/null || true
  printf '%-8s %-10s %-12s %-14s %-14s %-14s %-14s\n' "${row[@]}"
done
