#!/usr/bin/env bash
# tests/integration/test_autosecondary.sh -- autoprimary / autosecondary: pdns on mxguard
# (autosecondary=yes) receives a NOTIFY for a zone it does not have from 127.0.0.1, which is
# registered with `mxguard autoprimary add 127.0.0.1 ns1.primary.example.`. pdns asks the
# backend (superMasterBackend), mxguard creates the zone as kind slave with 127.0.0.1 as its
# primary (createSlaveDomain) and pdns transfers it. A NOTIFY for a zone whose NS set does not
# name the autoprimary's nameserver, and one sent after the autoprimary was removed, must not
# create a zone.
#
# pdns 4.7 asks the NOTIFY's sender for the zone's SOA and NS on port 53, whatever port the
# NOTIFY came from (trySuperMasterSynchronous: remote.setPort(53)), and stores the sender's
# address without a port as the new zone's primary, so the transfer also goes to port 53.
# The primary must therefore answer on 127.0.0.1:53. To keep that port private, the test
# re-runs itself in a network namespace of its own (`unshare --net`, plus `--user
# --map-root-user` when not root) with only a loopback interface; nothing it starts is
# reachable from outside the namespace. Without namespaces the test is skipped.
#
# Ports (inside the namespace): primary DNS 5394 and 53, secondary DNS 5393.
set -euo pipefail

if [ "${MXG_IT_NETNS:-}" != 1 ]; then
    if [ "$(id -u)" = 0 ]; then ns=(unshare --net); else ns=(unshare --user --map-root-user --net); fi
    if command -v unshare >/dev/null && command -v ip >/dev/null &&
        "${ns[@]}" -- sh -c 'ip link set lo up' >/dev/null 2>&1; then
        MXG_IT_NETNS=1 exec "${ns[@]}" -- bash "$0" "$@"
    fi
    echo "[$(basename "$0" .sh)] SKIP: cannot create a private network namespace (unshare/ip); pdns 4.7 autosecondary needs the primary on port 53"
    exit 0
fi
ip link set lo up

. "$(dirname "$0")/lib.sh"
mxg_require
it_init

PRI_PORT=5394
SEC_PORT=5393
Z="$IT_WORK/primary-zones"
mkdir -p "$Z"

# zone_file ZONE NS... -- write $Z/ZONE.zone with SOA, the NS set and a few records.
zone_file() {
    local zone=$1 ns
    shift
    {
        echo "\$ORIGIN $zone."
        echo "\$TTL 3600"
        echo "@ IN SOA ns1.primary.example. hostmaster.$zone. 2024050501 7200 3600 1209600 300"
        for ns in "$@"; do echo "@ IN NS $ns"; done
        echo "@ IN A 192.0.2.50"
        echo "www IN A 192.0.2.51"
        echo "mail IN A 192.0.2.52"
        echo "@ IN MX 10 mail.$zone."
        echo "@ IN TXT \"v=spf1 mx -all\""
    } >"$Z/$zone.zone"
}
# The autoprimary's own zone: its nameserver's address.
zone_file primary.example ns1.primary.example.
echo "ns1 IN A 127.0.0.1" >>"$Z/primary.example.zone"
# NS set names the autoprimary's nameserver (and another one).
zone_file auto.example ns1.primary.example. ns2.elsewhere.example.
# NS set does not name it.
zone_file other.example ns1.elsewhere.example. ns2.elsewhere.example.
# Names it, but is notified after the autoprimary was removed.
zone_file late.example ns1.primary.example.

# Primary: bind backend on 127.0.0.1:5394 and, for pdns's autosecondary, on 127.0.0.1:53.
# only-notify is emptied: NOTIFYs are sent by hand with notify-host only.
pdns_start --kind bind --port "$PRI_PORT" --name primary \
    --zone "primary.example=$Z/primary.example.zone" --zone "auto.example=$Z/auto.example.zone" \
    --zone "other.example=$Z/other.example.zone" --zone "late.example=$Z/late.example.zone" \
    -- --primary=yes --only-notify= --local-address=127.0.0.1,127.0.0.1:53
PRI_DIR=$PDNS_DIR
assert_eq 2024050501 "$(dig_short 53 auto.example SOA | awk '{print $3}')" "primary answers on 127.0.0.1:53"

mxg_start
assert_ok "autoprimary add 127.0.0.1 ns1.primary.example." mxg autoprimary add 127.0.0.1 ns1.primary.example.
assert_contains "$(mxg autoprimary list)" "ns1.primary.example" "autoprimary list shows it"

pdns_start --kind remote --port "$SEC_PORT" --name secondary \
    -- --autosecondary=yes --secondary=yes --xfr-cycle-interval=1
SEC_DIR=$PDNS_DIR

# zone_json ZONE -- "kind masters" of ZONE from `mxguard zone list --json`, or ABSENT.
zone_json() {
    mxg zone list --json | python3 -c '
import json, sys
want = sys.argv[1].rstrip(".").lower()
for z in json.load(sys.stdin).get("zones", []):
    if z.get("zone", "").rstrip(".").lower() == want:
        m = z.get("masters", "")
        print(z.get("kind"), ",".join(m) if isinstance(m, list) else m)
        break
else:
    print("ABSENT")' "$1"
}
sec_serial() { { dig_at "$SEC_PORT" +short "$1" SOA 2>/dev/null || true; } | awk 'NF == 7 {print $3}'; }
# wait_for TENTHS CMD... -- until CMD succeeds; true when it did.
wait_for() {
    local tries=$1 i
    shift
    for ((i = 0; i < tries; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}
zone_present() { [ "$(zone_json "$1")" != ABSENT ]; }
serial_is() { [ "$(sec_serial "$1")" = "$2" ]; }
# refused_logged ZONE -- the NOTIFY for ZONE was turned down (mxguard or pdns says so).
refused_logged() {
    grep -q "NOTIFY for unknown zone $1.* not an autoprimary" "$MXG_LOG" 2>/dev/null ||
        grep -q "Unable to find backend willing to host $1" "$SEC_DIR/pdns.log" 2>/dev/null
}
notify_host() { pdns_ctl "$PRI_DIR" notify-host "$1" "127.0.0.1:$SEC_PORT" 2>&1 || true; }

# --- before any NOTIFY: the secondary knows nothing of the zones ------------------------------
assert_eq ABSENT "$(zone_json auto.example)" "auto.example not in mxguard before the NOTIFY"
assert_rcode "$SEC_PORT" REFUSED auto.example SOA

# --- NOTIFY from the autoprimary: the zone is created and transferred --------------------------
assert_contains "$(notify_host auto.example)" "Added to queue" "pdns_control notify-host auto.example"
if wait_for 150 zone_present auto.example; then
    it_pass "auto.example created in mxguard within 15 s of the NOTIFY"
else
    it_fail "auto.example not created within 15 s of the NOTIFY"
    { grep -i -E 'auto.example|supermaster|autoprimary|notify' "$SEC_DIR/pdns.log" || true; } | tail -n 8 | sed 's/^/       /'
    tail -n 8 "$MXG_LOG" | sed 's/^/       /'
fi
assert_eq "slave 127.0.0.1" "$(zone_json auto.example)" "auto.example is of kind slave with primary 127.0.0.1"
assert_eq "SLAVE|127.0.0.1" "$(store_sql "select upper(type), master from domains where name = 'auto.example'")" \
    "store: domains row kind SLAVE, master 127.0.0.1"
if wait_for 150 serial_is auto.example 2024050501; then
    it_pass "secondary transferred auto.example (serial 2024050501) within 15 s"
else
    it_fail "secondary serves serial '$(sec_serial auto.example)' for auto.example, expected 2024050501"
    { grep -i -E 'auto.example|xfr' "$SEC_DIR/pdns.log" || true; } | tail -n 8 | sed 's/^/       /'
fi
assert_answer "$SEC_PORT" www.auto.example A 192.0.2.51
assert_answer "$SEC_PORT" auto.example MX "10 mail.auto.example."
assert_answer "$SEC_PORT" auto.example TXT '"v=spf1 mx -all"'
assert_answer "$SEC_PORT" auto.example NS "ns1.primary.example.
ns2.elsewhere.example."
assert_contains "$(dig_flags "$SEC_PORT" www.auto.example A)" aa "secondary answers auto.example authoritatively"
axfr_sorted() { dig_at "$1" +noall +answer +nottlunits auto.example AXFR | awk '{ $1 = tolower($1); print }' | sort -u; }
if diff <(axfr_sorted "$PRI_PORT") <(axfr_sorted "$SEC_PORT") >"$IT_WORK/axfr.diff"; then
    it_pass "secondary's AXFR of auto.example equals the primary's"
else
    it_fail "secondary's AXFR of auto.example differs from the primary's"; head -n 20 "$IT_WORK/axfr.diff" | sed 's/^/       /'
fi

# --- NOTIFY for a zone whose NS set does not name the autoprimary's nameserver -----------------
assert_contains "$(notify_host other.example)" "Added to queue" "pdns_control notify-host other.example"
if wait_for 150 refused_logged other.example; then it_pass "NOTIFY for other.example was turned down"; else
    it_fail "no sign within 15 s that the NOTIFY for other.example was handled"; fi
sleep 1
assert_eq ABSENT "$(zone_json other.example)" "other.example (NS not the autoprimary's) not created"
assert_rcode "$SEC_PORT" REFUSED other.example SOA

# --- the autoprimary removed: a NOTIFY no longer creates a zone --------------------------------
assert_ok "autoprimary delete 127.0.0.1 ns1.primary.example." mxg autoprimary delete 127.0.0.1 ns1.primary.example.
assert_not_contains "$(mxg autoprimary list)" "ns1.primary.example" "autoprimary list no longer shows it"
assert_contains "$(notify_host late.example)" "Added to queue" "pdns_control notify-host late.example"
if wait_for 150 refused_logged late.example; then it_pass "NOTIFY for late.example was turned down"; else
    it_fail "no sign within 15 s that the NOTIFY for late.example was handled"; fi
sleep 1
assert_eq ABSENT "$(zone_json late.example)" "late.example not created after the autoprimary was removed"
assert_rcode "$SEC_PORT" REFUSED late.example SOA

# --- the zone created earlier is unaffected ------------------------------------------------------
assert_eq "slave 127.0.0.1" "$(zone_json auto.example)" "auto.example still a slave of 127.0.0.1"
assert_answer "$SEC_PORT" www.auto.example A 192.0.2.51
assert_eq 1 "$(store_sql 'select count(*) from domains')" "store holds exactly one zone"
assert_eq ok "$(store_sql 'PRAGMA integrity_check')" "store integrity_check"
if it_alive "$MXG_PID"; then it_pass "mxguard still running"; else it_fail "mxguard died"; fi

it_finish
