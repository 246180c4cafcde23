#!/usr/bin/env bash
# mxguard demo: installs what is needed (Debian 12), builds mxguard, and runs PowerDNS
# Authoritative on 127.0.0.1:5300 answering from mxguard's embedded store, loaded with a demo
# zone. Shows the guard at work: a panel-style API PATCH that repoints the apex to a CDN is
# refused in `reject` mode and fixed in `fix` mode, with the audit records and dig answers that
# prove it. Then keeps pdns and mxguard running until Ctrl-C.
#   --check   run the demo's queries, verify the answers, stop everything and exit (for tests)
#   --no-install  skip the package installation
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
check=0
install=1
for a in "$@"; do
  case "$a" in
    --check) check=1 ;;
    --no-install) install=0 ;;
    *) echo "usage: $0 [--check] [--no-install]" >&2; exit 2 ;;
  esac
done
DNS_PORT=${MXG_DEMO_DNS_PORT:-5300}
API_PORT=${MXG_DEMO_API_PORT:-8081}
BUILD=${MXG_BUILD_DIR:-$ROOT/build}

[ "$install" -eq 1 ] && bash .ci/install-deps.sh
if [ ! -x "$BUILD/mxguard" ] || [ "$check" -eq 0 ]; then
  cmake -S "$ROOT" -B "$BUILD" >/dev/null
  cmake --build "$BUILD" -j2 --target mxguard >/dev/null
fi
MXGUARD=$BUILD/mxguard

DIR=$(mktemp -d "${TMPDIR:-/tmp}/mxguard-demo.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  [ "${MXG_DEMO_KEEP:-0}" = 1 ] || rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$DIR/mxguard.conf" <<CONF
backend-socket=$DIR/backend.sock
control-socket=$DIR/control.sock
store=sqlite:$DIR/mxguard.sqlite3
mode=reject
CONF
mkdir -p "$DIR/pdns"
cat >"$DIR/pdns/pdns.conf" <<CONF
launch=remote
remote-connection-string=unix:path=$DIR/backend.sock,timeout=2000
default-api-rectify=no
local-address=127.0.0.1
local-port=$DNS_PORT
socket-dir=$DIR/pdns
guardian=no
daemon=no
disable-syslog=yes
loglevel=4
security-poll-suffix=
api=yes
api-key=demo
webserver=yes
webserver-address=127.0.0.1
webserver-port=$API_PORT
webserver-allow-from=127.0.0.1
dnsupdate=yes
allow-dnsupdate-from=127.0.0.1/32
CONF

"$MXGUARD" --config "$DIR/mxguard.conf" import --zone example.com pdns-config/demo/example.com.zone
# From now on zone changes made with the CLI reach the running pdns at once.
echo "pdns-control=pdns_control --config-dir=$DIR/pdns --socket-dir=$DIR/pdns" >>"$DIR/mxguard.conf"
"$MXGUARD" --config "$DIR/mxguard.conf" serve 2>"$DIR/mxguard.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$DIR/backend.sock" ] && break; sleep 0.05; done
[ -S "$DIR/backend.sock" ] || { echo "mxguard did not start:"; cat "$DIR/mxguard.log"; exit 1; }
pdns_server --config-dir="$DIR/pdns" >"$DIR/pdns.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  dig +short +tries=1 +time=1 @127.0.0.1 -p "$DNS_PORT" example.com SOA >/dev/null 2>&1 && break
  sleep 0.1
done

echo
echo "pdns answers on 127.0.0.1:$DNS_PORT from mxguard (store $DIR/mxguard.sqlite3):"
fail=0
show() {
  echo "\$ dig +short @127.0.0.1 -p $DNS_PORT $*"
  local out
  out=$(dig +short +tries=1 +time=2 @127.0.0.1 -p "$DNS_PORT" "$@")
  echo "$out"
  [ -n "$out" ] || fail=1
}
show example.com MX
show example.com A
show mail.example.com A
show _imaps._tcp.example.com SRV
echo
API="http://127.0.0.1:$API_PORT/api/v1/servers/localhost/zones/example.com."
mxg() { "$MXGUARD" --config "$DIR/mxguard.conf" "$@"; }
expect() { # WHAT EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then echo "   ok: $1"; else echo "   UNEXPECTED: $1: wanted '$2', got '$3'"; fail=1; fi
}
PATCH='{"rrsets":[{"name":"example.com.","type":"A","ttl":300,"changetype":"REPLACE","records":[{"content":"203.0.113.7","disabled":false}]}]}'
echo
echo "== mxguard scan: the apex is web site and mail server at once"
mxg scan || true
echo
echo "== A panel puts the web site behind a CDN: PATCH example.com A -> 203.0.113.7 (mode reject)"
echo "\$ curl -X PATCH -H 'X-API-Key: demo' --data '$PATCH' $API"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H 'X-API-Key: demo' \
  -H 'Content-Type: application/json' --data "$PATCH" "$API")
echo "HTTP $code"
expect "pdns reports the refusal to the panel" 500 "$code"
expect "the apex keeps its address" 10.0.1.100 "$(dig +short @127.0.0.1 -p "$DNS_PORT" example.com A)"
echo "\$ mxguard last-decision --zone example.com"
mxg last-decision --zone example.com
echo
echo "== The operator lets mxguard fix this zone: X-MXGUARD-MODE=fix, then the same PATCH"
curl -s -o /dev/null -X PUT -H 'X-API-Key: demo' -H 'Content-Type: application/json' \
  --data '{"metadata":["fix"]}' "$API/metadata/X-MXGUARD-MODE"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H 'X-API-Key: demo' \
  -H 'Content-Type: application/json' --data "$PATCH" "$API")
echo "HTTP $code"
expect "the PATCH is accepted" 204 "$code"
show example.com A
show example.com MX
show mail.example.com A
expect "the web site moved to the CDN" 203.0.113.7 "$(dig +short @127.0.0.1 -p "$DNS_PORT" example.com A)"
expect "MX now names a dedicated mail host" "10 mail.example.com." "$(dig +short @127.0.0.1 -p "$DNS_PORT" example.com MX)"
expect "the mail host keeps the old address" 10.0.1.100 "$(dig +short @127.0.0.1 -p "$DNS_PORT" mail.example.com A)"
echo
echo "== The audit log"
mxg audit show
mxg audit verify || fail=1
echo
echo "pdns HTTP API: curl -H 'X-API-Key: demo' $API"
if [ "$check" -eq 1 ]; then
  [ "$fail" -eq 0 ] && echo "demo check: ok" || { echo "demo check: FAILED"; tail -20 "$DIR/mxguard.log" "$DIR/pdns.log"; }
  exit "$fail"
fi
echo "Ctrl-C stops pdns and mxguard."
wait
