#!/usr/bin/env bash
# tests/integration/test_notify_primary.sh -- outgoing NOTIFY: pdns on mxguard as the primary of
# a zone of kind master. mxguard's getUpdatedMasters returns the zone while its SOA serial
# differs from notified_serial; pdns (primary=yes) then sends NOTIFY to the also-notify target
# and records the serial with setNotified, so the same serial is not notified again.
#
# A small python3 UDP listener on 127.0.0.1:$LISTEN_PORT stands in for a secondary: it answers
# every NOTIFY (so pdns does not retry it) and logs one line per NOTIFY received. It is started
# through it_spawn (stopped by PID) and exits by itself after $LISTEN_MAX seconds at most.
# only-notify is emptied so that pdns notifies nothing but the also-notify target.
#
# Ports: DNS 5391, listener 5392, API 8089.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init

PORT=5391
LISTEN_PORT=5392
API=8089
LISTEN_MAX=45
ZONE=notify.example
NLOG="$IT_WORK/notify-listener.log"

# --- the NOTIFY listener ------------------------------------------------------------------------
cat >"$IT_WORK/notify_listener.py" <<'PY'
import socket, struct, sys, time

port, logpath, maxsec = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
deadline = time.monotonic() + maxsec
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
log = open(logpath, "a", buffering=1)
log.write("READY\n")


def qname(msg):
    """The question's name (no compression in a question section that starts at 12)."""
    labels, i = [], 12
    while i < len(msg):
        n = msg[i]
        if n == 0:
            return (".".join(labels) + ".").lower(), i + 1
        if n & 0xC0:
            return None, None
        labels.append(msg[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    return None, None


while True:
    left = deadline - time.monotonic()
    if left <= 0:
        log.write("TIMEOUT\n")
        break
    s.settimeout(left)
    try:
        msg, peer = s.recvfrom(4096)
    except socket.timeout:
        continue
    if len(msg) < 12:
        log.write("SHORT %d\n" % len(msg))
        continue
    qid, flags, qd = struct.unpack("!HHH", msg[:6])
    opcode = (flags >> 11) & 0xF
    name, end = qname(msg) if qd >= 1 else (None, None)
    if opcode != 4 or flags & 0x8000:
        log.write("OTHER opcode=%d qr=%d name=%s\n" % (opcode, flags >> 15, name))
        continue
    log.write("NOTIFY %s id=%d from=%s:%d t=%.2f\n" % (name, qid, peer[0], peer[1], time.time()))
    if end is not None:
        # NOTIFY response: QR + opcode 4 + AA, NOERROR, the question echoed, nothing else.
        reply = struct.pack("!HHHHHH", qid, 0x8000 | (4 << 11) | 0x0400, 1, 0, 0, 0) + msg[12:end + 4]
        s.sendto(reply, peer)
PY

it_spawn "notify listener" "$IT_WORK/notify-listener.out" \
    python3 "$IT_WORK/notify_listener.py" "$LISTEN_PORT" "$NLOG" "$LISTEN_MAX"
LISTENER_PID=$IT_LAST_PID
for ((i = 0; i < 50; i++)); do
    grep -q '^READY' "$NLOG" 2>/dev/null && break
    it_alive "$LISTENER_PID" || break
    sleep 0.1
done
grep -q '^READY' "$NLOG" 2>/dev/null || { it_tail "$IT_WORK/notify-listener.out"; it_die "NOTIFY listener did not start on 127.0.0.1:$LISTEN_PORT"; }

# notify_count -- NOTIFYs for the zone the listener has received so far.
notify_count() { grep -c "^NOTIFY $ZONE\. " "$NLOG" 2>/dev/null || true; }
# wait_notify_count N TENTHS -- until at least N NOTIFYs for the zone arrived; true when they did.
wait_notify_count() {
    local want=$1 tries=$2 i
    for ((i = 0; i < tries; i++)); do
        [ "$(notify_count)" -ge "$want" ] && return 0
        sleep 0.1
    done
    return 1
}
notified_serial() {
    store_sql "select coalesce(cast(notified_serial as text), 'NULL') from domains where name = '$ZONE'"
}
# wait_notified SERIAL TENTHS -- until the store's notified_serial is SERIAL.
wait_notified() {
    local want=$1 tries=$2 i
    for ((i = 0; i < tries; i++)); do
        [ "$(notified_serial)" = "$want" ] && return 0
        sleep 0.1
    done
    return 1
}
serial() { dig_short "$PORT" "$ZONE" SOA | awk '{print $3}'; }

# --- mxguard with a master zone, pdns as its primary ------------------------------------------
mxg_start
assert_ok "zone add $ZONE --kind master" mxg zone add "$ZONE" --kind master --ns "ns1.$ZONE"
assert_eq MASTER "$(store_sql "select upper(type) from domains where name = '$ZONE'")" \
    "store: zone is of kind master"
assert_eq DEFAULT "$(store_sql "select m.content from domainmetadata m join domains d
    on d.id = m.domain_id where d.name = '$ZONE' and m.kind = 'SOA-EDIT-API'")" \
    "store: zone add sets SOA-EDIT-API=DEFAULT"
assert_eq NULL "$(notified_serial)" "store: a new zone has no notified_serial"
# The zone's own ALSO-NOTIFY metadata as well as the global also-notify: pdns reads the metadata
# through the backend when it queues the NOTIFY, while its global list can still be unset in its
# very first communicator cycle ("no valid nameservers or ALSO-NOTIFYs found").
store_sql "insert into domainmetadata (domain_id, kind, content) select id,
    'ALSO-NOTIFY', '127.0.0.1:$LISTEN_PORT' from domains where name = '$ZONE'"

pdns_start --kind remote --port "$PORT" --api-port "$API" --name primary \
    -- --primary=yes --xfr-cycle-interval=1 --also-notify=127.0.0.1:"$LISTEN_PORT" --only-notify=
PRI_DIR=$PDNS_DIR

s0=$(serial)
case $s0 in '' | *[!0-9]*) it_die "no SOA serial for $ZONE from pdns (got '$s0')" ;; esac
it_log "initial serial $s0"

# --- startup: the zone's serial was never notified -> one NOTIFY, then setNotified ------------
if wait_notify_count 1 150; then
    it_pass "NOTIFY for $ZONE (never notified) arrived within 15 s of pdns start"
else
    it_fail "no NOTIFY for $ZONE within 15 s of pdns start"
    { grep -i -E 'notif' "$PRI_DIR/pdns.log" || true; } | tail -n 8 | sed 's/^/       /'
fi
if wait_notified "$s0" 50; then it_pass "setNotified recorded serial $s0 in the store"; else
    it_fail "store notified_serial is '$(notified_serial)', expected $s0"; fi
assert_contains "$(sed -n 's/^NOTIFY [^ ]* id=[0-9]* from=\([0-9.]*\):.*/\1/p' "$NLOG" | head -n 1)" \
    127.0.0.1 "the NOTIFY came from 127.0.0.1"
# pdns's notification queue may still be busy for a moment; give it 3 s of 1 s cycles.
sleep 3
n1=$(notify_count)
assert_eq 1 "$n1" "exactly one NOTIFY for serial $s0 (no re-notify while the serial is unchanged)"

# --- an API PATCH bumps the serial (SOA-EDIT-API=DEFAULT) -> a new NOTIFY ----------------------
api() { curl -sS -m 10 -H 'X-API-Key: secret' "$@"; }
code=$(api -o "$IT_WORK/patch.out" -w '%{http_code}' -X PATCH -H 'Content-Type: application/json' \
    --data '{"rrsets":[{"name":"www.'"$ZONE"'.","type":"A","ttl":300,"changetype":"REPLACE",
             "records":[{"content":"192.0.2.80","disabled":false}]}]}' \
    "http://127.0.0.1:$API/api/v1/servers/localhost/zones/$ZONE") || code=CURL-FAILED
assert_eq 204 "$code" "API PATCH adding www.$ZONE A"
[ "$code" = 204 ] || sed 's/^/       /' "$IT_WORK/patch.out" | head -n 5
assert_answer "$PORT" "www.$ZONE" A 192.0.2.80
s1=$(serial)
if [ -n "$s1" ] && [ "$s1" -gt "$s0" ] 2>/dev/null; then
    it_pass "PATCH raised the serial ($s0 -> $s1)"
else
    it_fail "PATCH did not raise the serial (before $s0, after '$s1')"
fi

if wait_notify_count $((n1 + 1)) 150; then
    it_pass "NOTIFY for $ZONE arrived within 15 s of the serial change"
else
    it_fail "no NOTIFY for $ZONE within 15 s of the serial change to $s1"
    { grep -i -E 'notif' "$PRI_DIR/pdns.log" || true; } | tail -n 8 | sed 's/^/       /'
fi
if wait_notified "$s1" 50; then it_pass "setNotified recorded serial $s1 in the store"; else
    it_fail "store notified_serial is '$(notified_serial)', expected $s1"; fi
sleep 3
n2=$(notify_count)
assert_eq $((n1 + 1)) "$n2" "exactly one NOTIFY for serial $s1 (no re-notify while the serial is unchanged)"
assert_eq "$s1" "$(notified_serial)" "store notified_serial still $s1"

# --- the listener saw nothing but NOTIFYs for the zone -------------------------------------------
assert_eq "" "$(grep -v -E "^(READY|NOTIFY $ZONE\. )" "$NLOG" || true)" "listener log holds only NOTIFYs for $ZONE"
assert_eq ok "$(store_sql 'PRAGMA integrity_check')" "store integrity_check"
if it_alive "$MXG_PID"; then it_pass "mxguard still running"; else it_fail "mxguard died"; fi

it_finish
