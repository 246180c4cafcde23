#!/usr/bin/env bash
# tests/integration/test_privileges.sh -- started as root with setuid/setgid, mxguard binds its
# sockets with the configured mode and group, then drops to the unprivileged user and keeps
# serving and committing; max-connections holds on the live daemon.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init
if [ "$(id -u)" -ne 0 ] || ! getent passwd nobody >/dev/null || ! getent group nogroup >/dev/null; then
    echo "SKIP: needs root and the nobody/nogroup accounts"
    it_finish
fi

PORT=5397
API=8086
mxg_write_config "$IT_WORK/mxguard"
chmod 755 "$IT_WORK" "$IT_WORK/mxguard"
{
    echo "setuid=nobody"
    echo "setgid=nogroup"
    echo "backend-socket-mode=0660"
    echo "backend-socket-group=nogroup"
    echo "control-socket-mode=0600"
    echo "max-connections=8"
} >>"$MXG_CONF"
mxg_import_zones "example.com=$IT_ZONES_DIR/example.com.zone"
mxg_start

# Sockets: mode and group as configured (bound as root, before the drop).
assert_eq "660 nogroup" "$(stat -c '%a %G' "$MXG_SOCK")" "backend socket mode 0660, group nogroup"
assert_eq "600" "$(stat -c '%a' "$MXG_CTL_SOCK")" "control socket mode 0600"
# The running daemon has dropped to nobody:nogroup, with no supplementary groups but nogroup.
uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$MXG_PID/status")
gids=$(awk '/^Gid:/ {print $2, $3, $4, $5}' "/proc/$MXG_PID/status")
nobody=$(id -u nobody)
nogroup=$(getent group nogroup | cut -d: -f3)
assert_eq "$nobody $nobody $nobody $nobody" "$uids" "real, effective, saved and fs uid are nobody"
assert_eq "$nogroup $nogroup $nogroup $nogroup" "$gids" "all gids are nogroup"
assert_eq "$nogroup" "$(awk '/^Groups:/ {print $2}' "/proc/$MXG_PID/status")" \
    "supplementary groups reduced to nogroup"

# It still serves and commits (the store was opened before the drop).
pdns_start --kind remote --port "$PORT" --api-port "$API" --name pdns-remote
assert_rcode "$PORT" NOERROR www.example.com A
code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' -X PATCH -H 'X-API-Key: secret' \
    -H 'Content-Type: application/json' \
    --data '{"rrsets":[{"name":"shop.example.com.","type":"A","ttl":300,"changetype":"REPLACE","records":[{"content":"192.0.2.77","disabled":false}]}]}' \
    "http://127.0.0.1:$API/api/v1/servers/localhost/zones/example.com.")
assert_eq 204 "$code" "a PATCH commits after the privilege drop"
assert_answer "$PORT" shop.example.com A 192.0.2.77

# max-connections=8: pdns holds some; open more until the daemon closes the surplus at once.
out=$(python3 - "$MXG_SOCK" <<'PY'
import json, socket, sys
conns, refused = [], 0
for i in range(16):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect(sys.argv[1])
    try:
        s.sendall(b'{"method":"initialize","parameters":{}}\n')
        data = s.recv(100)
    except OSError:
        data = b""
    if data.startswith(b'{"result":true}'):
        conns.append(s)
    else:
        refused += 1
        s.close()
print(len(conns), refused)
PY
)
read -r kept refused <<<"$out"
[ "$kept" -ge 1 ] && [ "$kept" -le 8 ] && it_pass "at most 8 connections served ($kept of 16 more)" ||
    it_fail "max-connections: $kept extra connections served"
[ "$refused" -ge 8 ] && it_pass "the surplus was closed ($refused)" || it_fail "only $refused closed"
assert_contains "$(cat "$MXG_LOG")" "max-connections (8) reached" "the daemon logged it"
# Once they are gone, pdns is served again.
assert_rcode "$PORT" NOERROR www.example.com A
assert_ok "audit verify" mxg audit verify
it_finish
