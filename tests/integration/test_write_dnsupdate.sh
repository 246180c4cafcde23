#!/usr/bin/env bash
# tests/integration/test_write_dnsupdate.sh -- RFC 2136 DNS UPDATE (nsupdate) through pdns on
# mxguard: adds (new RRset, append to an RRset, TTL change), deleting one record, an RRset and
# everything at a name, prerequisites that hold and that fail (a failed one applies nothing),
# the SOA serial bump, several changes in one message, and an update for a zone not served.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init

PORT=5345

mxg_write_config "$IT_WORK/mxguard"
# These tests are about the write path, not the mail guard: the test network's addresses are
# declared mail ranges so that MX records written here never count as mail moving away.
echo "mail-ranges=192.0.2.0/24,198.51.100.0/24,203.0.113.0/24,2001:db8::/32" >>"$MXG_CONF"
mxg_import_zones "example.com=$IT_ZONES_DIR/example.com.zone" "example.net=$IT_ZONES_DIR/example.net.zone"
mxg_start
pdns_start --kind remote --port "$PORT" --name pdns-remote

# nsu ZONE LINES... -- send one update message; sets NSU_RC and NSU_OUT.
nsu() {
    local zone=$1
    shift
    NSU_RC=0
    NSU_OUT=$({ printf 'server 127.0.0.1 %s\nzone %s\n' "$PORT" "$zone"; printf '%s\n' "$@"; echo send; } |
        timeout 20 nsupdate -t 5 2>&1) || NSU_RC=$?
}
# nsu_ok MESSAGE ZONE LINES... / nsu_refused MESSAGE RCODE ZONE LINES...
nsu_ok() {
    local msg=$1
    shift
    nsu "$@"
    if [ "$NSU_RC" -eq 0 ]; then it_pass "$msg"; else
        it_fail "$msg (nsupdate exit $NSU_RC)"; printf '       %s\n' "$NSU_OUT"; fi
}
nsu_refused() {
    local msg=$1 rcode=$2
    shift 2
    nsu "$@"
    if [ "$NSU_RC" -ne 0 ] && [[ $NSU_OUT == *"$rcode"* ]]; then it_pass "$msg ($rcode)"; else
        it_fail "$msg (want $rcode; nsupdate exit $NSU_RC)"; printf '       %s\n' "$NSU_OUT"; fi
}
serial() { dig_short "$PORT" "${1:-example.com}" SOA | awk '{print $3}'; }
ttl_of() { dig_at "$PORT" +noall +answer "$1" "$2" | awk '{print $2}' | sort -u | tr '\n' ' ' | sed 's/ $//'; }
bumped() { # OLD NEW WHAT
    if [ "$2" -gt "$1" ]; then it_pass "serial bumped by $3 ($1 -> $2)"; else
        it_fail "serial not bumped by $3 ($1 -> $2)"; fi
}

s=$(serial)
assert_eq 2024010101 "$s" "imported serial"

# --- add ----------------------------------------------------------------------------------
nsu_ok "add a new name" example.com 'update add nu1.example.com 300 A 192.0.2.101'
assert_answer "$PORT" nu1.example.com A 192.0.2.101
n=$(serial); bumped "$s" "$n" "the first add"; s=$n
nsu_ok "add a second A to the RRset" example.com 'update add nu1.example.com 300 A 192.0.2.102'
assert_answer "$PORT" nu1.example.com A $'192.0.2.101\n192.0.2.102'
n=$(serial); bumped "$s" "$n" "the append"; s=$n
nsu_ok "add a TXT with spaces and a second string" example.com \
    'update add nu1.example.com 300 TXT "hello world" "second string"'
assert_answer "$PORT" nu1.example.com TXT '"hello world" "second string"'
nsu_ok "add an existing record with another TTL" example.com 'update add nu1.example.com 900 A 192.0.2.101'
assert_eq 900 "$(ttl_of nu1.example.com A)" "the whole RRset takes the new TTL"
assert_answer "$PORT" nu1.example.com A $'192.0.2.101\n192.0.2.102'
nsu_ok "add MX, SRV, CAA and a CNAME in one message" example.com \
    'update add nu2.example.com 300 MX 10 mx1.example.net.' \
    'update add _ldap._tcp.nu2.example.com 300 SRV 0 5 389 nu1.example.com.' \
    'update add nu2.example.com 300 CAA 0 issue "ca.example.net"' \
    'update add nucname.example.com 300 CNAME nu1.example.com.'
assert_answer "$PORT" nu2.example.com MX '10 mx1.example.net.'
assert_answer "$PORT" _ldap._tcp.nu2.example.com SRV '0 5 389 nu1.example.com.'
assert_answer "$PORT" nu2.example.com CAA '0 issue "ca.example.net"'
assert_answer "$PORT" nucname.example.com CNAME nu1.example.com.
assert_rcode "$PORT" NOERROR _tcp.nu2.example.com A   # empty non-terminal
n=$(serial)
if [ "${n:0:8}" = "${s:0:8}" ] && [ "$n" -gt "$s" ]; then
    # Three updates since $s, each bumping once (DEFAULT-style +1 within a day) -- or the
    # serial at least grew.
    it_pass "serial bumped by the adds ($s -> $n)"
else bumped "$s" "$n" "the adds"; fi
s=$(serial)

# --- delete one record, an RRset, everything at a name ---------------------------------------
nsu_ok "delete one record" example.com 'update delete nu1.example.com A 192.0.2.101'
assert_answer "$PORT" nu1.example.com A 192.0.2.102
assert_answer "$PORT" nu1.example.com TXT '"hello world" "second string"'
n=$(serial); bumped "$s" "$n" "the single delete"; s=$n
nsu_ok "delete an RRset" example.com 'update delete nu1.example.com A'
assert_rcode "$PORT" NOERROR nu1.example.com A
assert_answer "$PORT" nu1.example.com A ''
assert_answer "$PORT" nu1.example.com TXT '"hello world" "second string"'
n=$(serial); bumped "$s" "$n" "the RRset delete"; s=$n
nsu_ok "delete everything at a name" example.com 'update delete nu2.example.com'
# nu2 keeps a name below it, so it is an empty non-terminal now: NOERROR, no data.
assert_rcode "$PORT" NOERROR nu2.example.com MX
assert_answer "$PORT" nu2.example.com MX ''
assert_answer "$PORT" nu2.example.com CAA ''
assert_answer "$PORT" _ldap._tcp.nu2.example.com SRV '0 5 389 nu1.example.com.'   # below: kept
nsu_ok "delete everything at a leaf name" example.com 'update delete nucname.example.com'
assert_rcode "$PORT" NXDOMAIN nucname.example.com A
n=$(serial); bumped "$s" "$n" "the name delete"; s=$n
nsu_ok "delete an existing zone-file record" example.com 'update delete shop.example.com MX 20 MX2.example.net.'
assert_answer "$PORT" shop.example.com MX '10 mx1.example.net.'
assert_answer "$PORT" shop.example.com A 192.0.2.25
s=$(serial)
nsu_ok "delete of a record that does not exist (a no-op)" example.com 'update delete nu1.example.com A 192.0.2.250'
assert_answer "$PORT" nu1.example.com TXT '"hello world" "second string"'

# --- prerequisites that hold ---------------------------------------------------------------
s=$(serial)
nsu_ok "prereq yxrrset (value-independent) holds" example.com \
    'prereq yxrrset www.example.com A' 'update add p1.example.com 300 A 192.0.2.111'
assert_answer "$PORT" p1.example.com A 192.0.2.111
nsu_ok "prereq nxdomain holds" example.com \
    'prereq nxdomain nothere.example.com' 'update add p2.example.com 300 A 192.0.2.112'
assert_answer "$PORT" p2.example.com A 192.0.2.112
nsu_ok "prereq yxdomain holds" example.com \
    'prereq yxdomain www.example.com' 'update add p3.example.com 300 A 192.0.2.113'
assert_answer "$PORT" p3.example.com A 192.0.2.113
nsu_ok "prereq nxrrset holds" example.com \
    'prereq nxrrset www.example.com TXT' 'update add p4.example.com 300 A 192.0.2.114'
assert_answer "$PORT" p4.example.com A 192.0.2.114
nsu_ok "prereq yxrrset (value-dependent) holds" example.com \
    'prereq yxrrset www.example.com A 192.0.2.20' 'update add p5.example.com 300 A 192.0.2.115'
assert_answer "$PORT" p5.example.com A 192.0.2.115
nsu_ok "prereq on a record written by an earlier update holds" example.com \
    'prereq yxrrset p5.example.com A 192.0.2.115' 'update delete p5.example.com A'
assert_rcode "$PORT" NXDOMAIN p5.example.com A
n=$(serial); bumped "$s" "$n" "the updates with prerequisites"

# --- prerequisites that fail: nothing applied, serial unchanged --------------------------------
s=$(serial)
nsu_refused "prereq yxrrset on a missing RRset fails" NXRRSET example.com \
    'prereq yxrrset nothere.example.com A' 'update add f1.example.com 300 A 192.0.2.121'
nsu_refused "prereq nxdomain on an existing name fails" YXDOMAIN example.com \
    'prereq nxdomain www.example.com' 'update add f2.example.com 300 A 192.0.2.122'
nsu_refused "prereq yxdomain on a missing name fails" NXDOMAIN example.com \
    'prereq yxdomain nothere.example.com' 'update add f3.example.com 300 A 192.0.2.123'
nsu_refused "prereq nxrrset on an existing RRset fails" YXRRSET example.com \
    'prereq nxrrset www.example.com A' 'update add f4.example.com 300 A 192.0.2.124'
nsu_refused "prereq yxrrset with another value fails" NXRRSET example.com \
    'prereq yxrrset www.example.com A 192.0.2.99' 'update add f5.example.com 300 A 192.0.2.125' \
    'update delete p1.example.com A'
for i in 1 2 3 4 5; do assert_rcode "$PORT" NXDOMAIN "f$i.example.com" A; done
assert_answer "$PORT" p1.example.com A 192.0.2.111
assert_eq "$s" "$(serial)" "failed prerequisites leave the serial alone"

# --- an explicit SOA with a higher serial is taken as is -------------------------------------
soa=$(dig_short "$PORT" example.com SOA)
read -r mname rname _ refresh retry expire minimum <<<"$soa"
nsu_ok "update the SOA with serial 2090010100" example.com \
    "update add example.com 3600 SOA $mname $rname 2090010100 $refresh $retry $expire $minimum" \
    'update add soa-too.example.com 300 A 192.0.2.130'
assert_eq 2090010100 "$(serial)" "the SOA serial the update set"
assert_answer "$PORT" soa-too.example.com A 192.0.2.130
nsu_ok "one more add" example.com 'update add after-soa.example.com 300 A 192.0.2.131'
n=$(serial); bumped 2090010100 "$n" "the add after the explicit SOA"

# --- another zone, and a zone that is not served ----------------------------------------------
s=$(serial example.net)
nsu_ok "add to example.net" example.net 'update add nu.example.net 300 AAAA 2001:db8:1::77'
assert_answer "$PORT" nu.example.net AAAA 2001:db8:1::77
n=$(serial example.net); bumped "$s" "$n" "the example.net update"
nsu_refused "update for a zone that is not served" NOTAUTH example.org \
    'update add x.example.org 300 A 192.0.2.1'
nsu_refused "update of a name outside the zone section" NOTZONE example.com \
    'update add x.example.net 300 A 192.0.2.1'
assert_rcode "$PORT" NXDOMAIN x.example.net A

# --- everything survives an mxguard restart (committed) ----------------------------------------
s=$(serial)
mxg_stop
mxg_start
ok=no
for _ in 1 2 3 4 5; do
    [ "$(dig_short "$PORT" example.com SOA 2>/dev/null | awk '{print $3}')" = "$s" ] && { ok=yes; break; }
    sleep 0.3
done
assert_eq yes "$ok" "serial survives the restart"
assert_answer "$PORT" p1.example.com A 192.0.2.111
assert_answer "$PORT" nu1.example.com TXT '"hello world" "second string"'
nsu_ok "update after the restart" example.com 'update add post-restart.example.com 300 A 192.0.2.140'
assert_answer "$PORT" post-restart.example.com A 192.0.2.140

it_finish
