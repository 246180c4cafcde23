#!/usr/bin/env bash
# tests/integration/test_dnssec_oracle.sh -- signed zones served by pdns on mxguard against the
# same zones, with the same keys, served by pdns on gsqlite3 (gsqlite3-dnssec=yes).
#
# dnssec_oracle.py gen writes 12 zones (fixed seed): NSEC, NSEC3 and NSEC3 opt-out in turn, each
# with mail, hosts of several types, empty non-terminals, wildcards, a signed delegation (DS
# and glue), an insecure one and one with occluded data. pdnsutil loads them into gsqlite3,
# signs them (secure-zone, set-nsec3) and rectifies them; mxguard imports the same files and
# takes the very keys; pdnsutil set-nsec3 and rectify-zone run through pdns on mxguard. Then every generated query (positive, NODATA,
# NXDOMAIN, wildcard, referral, DS, DNSKEY; well over 1,000) is asked of both with
# dig +dnssec: rcode, flags and every section must be equal, RRSIG signature bytes aside.
# Every zone's AXFR from pdns on mxguard must pass ldns-verify-zone.
# Then DNS UPDATEs (nsupdate) on an NSEC, an NSEC3 and an opt-out zone -- names added under new
# empty non-terminals, deleted, a delegation added -- and the zone verifies after each; and a
# guard fix on a signed zone (X-MXGUARD-MODE fix: the apex A of z03, whose MX names the apex, moved): the
# mail host the fix writes answers with its RRSIG, and the zone verifies.
#
# Ports: DNS 5315 (pdns on mxguard), 5316 (pdns on gsqlite3).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init

PORT_M=5315
PORT_G=5316
SEED=${MXG_DNSSEC_SEED:-20261204}
GEN="$IT_WORK/gen"
ORACLE="$IT_LIB_DIR/dnssec_oracle.py"
command -v ldns-verify-zone >/dev/null || it_die "ldns-verify-zone is not installed (Debian ldnsutils)"

python3 "$ORACLE" gen --seed "$SEED" --out "$GEN" >"$IT_WORK/gen.log" || it_die "dnssec_oracle.py gen failed"
it_log "$(cat "$IT_WORK/gen.log")"

# --- pdns on gsqlite3: load, sign, rectify ------------------------------------------------------
pdns_start --kind gsqlite3 --port "$PORT_G" --name pdns-gs --zone-cache-refresh 0 -- --gsqlite3-dnssec=yes
GS_DIR=$PDNS_DIR
GS_DB="$GS_DIR/pdns.sqlite3"
echo "gsqlite3-dnssec=yes" >>"$GS_DIR/pdns.conf"
pu() { "$PDNSUTIL" --config-dir="$GS_DIR" "$@" >>"$GS_DIR/pdnsutil.log" 2>&1 || { it_tail "$GS_DIR/pdnsutil.log"; it_die "pdnsutil $*"; }; }
ZONES=()
while read -r zone file chain; do
    ZONES+=("$zone=$file")
    pu create-zone "$zone"
    pu load-zone "$zone" "$file"
    pu secure-zone "$zone"
    case $chain in
        nsec3) pu set-nsec3 "$zone" '1 0 1 ab' ;;
        nsec3-optout) pu set-nsec3 "$zone" '1 1 0 -' ;;
    esac
    pu rectify-zone "$zone"
done <"$GEN/zones.txt"
it_log "gsqlite3: ${#ZONES[@]} zones signed ($(sqlite3 "$GS_DB" 'SELECT count(*) FROM cryptokeys') keys)"

# --- mxguard: the same files, the same keys -----------------------------------------------------
mxg_write_config "$IT_WORK/mxguard"
echo "mode=off" >>"$MXG_CONF"
mxg_import_zones "${ZONES[@]}"
sqlite3 -cmd '.timeout 5000' "$MXG_STORE" "
ATTACH '$GS_DB' AS g;
INSERT INTO cryptokeys (domain_id, flags, active, published, content)
  SELECT d.id, k.flags, k.active, k.published, k.content
  FROM g.cryptokeys k JOIN g.domains gd ON gd.id = k.domain_id JOIN domains d ON d.name = gd.name;" ||
    it_die "cannot copy the keys"
assert_eq "$(sqlite3 "$GS_DB" 'SELECT count(*) FROM cryptokeys')" "$(sqlite3 "$MXG_STORE" 'SELECT count(*) FROM cryptokeys')" \
    "mxguard's store has the same keys"
mxg_start ""
pdns_start --kind remote --port "$PORT_M" --name pdns-mxg -- --remote-dnssec=yes \
    --zone-metadata-cache-ttl=0 --dnssec-key-cache-ttl=0
# NSEC3 set and the zones rectified through pdns on mxguard, with pdnsutil, as an operator would
echo "remote-dnssec=yes" >>"$PDNS_DIR/pdns.conf"
MX_DIR=$PDNS_DIR
pm() { "$PDNSUTIL" --config-dir="$MX_DIR" "$@" >>"$MX_DIR/pdnsutil.log" 2>&1 || { it_tail "$MX_DIR/pdnsutil.log"; it_die "pdnsutil (remote) $*"; }; }
while read -r zone file chain; do
    case $chain in
        nsec3) pm set-nsec3 "$zone" '1 0 1 ab' ;;
        nsec3-optout) pm set-nsec3 "$zone" '1 1 0 -' ;;
    esac
    pm rectify-zone "$zone"
done <"$GEN/zones.txt"
assert_eq "$(sqlite3 "$GS_DB" "SELECT group_concat(content, '|') FROM (SELECT content FROM domainmetadata WHERE kind = 'NSEC3PARAM' ORDER BY domain_id)")" \
    "$(sqlite3 "$MXG_STORE" "SELECT group_concat(content, '|') FROM (SELECT content FROM domainmetadata WHERE kind = 'NSEC3PARAM' ORDER BY domain_id)")" \
    "pdnsutil set-nsec3 through pdns on mxguard stored the same NSEC3PARAM as on gsqlite3"
pm show-zone z01.sig.test
assert_contains "$(tail -n 30 "$MX_DIR/pdnsutil.log")" "NSEC3" "pdnsutil show-zone through mxguard reports the NSEC3 zone"
pm export-zone-ds z00.sig.test

# --- the same answers ----------------------------------------------------------------------------
out=$(python3 "$ORACLE" compare --queries "$GEN/queries.txt" --port-a "$PORT_M" --port-b "$PORT_G" --dig "$DIG" 2>&1) && ok=1 || ok=0
printf '%s\n' "$out" >"$IT_WORK/compare.log"
it_log "$(head -n1 <<<"$out")"
[ "$ok" = 1 ] || printf '%s\n' "$out" | head -40 >&2
nq=$(head -n1 <<<"$out" | awk '{ print $1 }')
assert_ok "at least 1,000 queries asked ($nq)" test "$nq" -ge 1000
assert_eq 1 "$ok" "pdns on mxguard answers every signed query as pdns on gsqlite3 ($(tail -n1 <<<"$out"))"
for rc in NOERROR NXDOMAIN; do
    assert_contains "$(head -n1 <<<"$out")" "$rc" "the queries include $rc answers"
done

# --- every zone verifies --------------------------------------------------------------------------
bad=0
for zf in "${ZONES[@]}"; do
    zone=${zf%%=*}
    "$DIG" @127.0.0.1 -p "$PORT_M" +onesoa +nocmd +nostats +nocomments "$zone" AXFR >"$IT_WORK/axfr-$zone" 2>&1
    if ! ldns-verify-zone "$IT_WORK/axfr-$zone" >"$IT_WORK/verify-$zone.log" 2>&1; then
        bad=$((bad + 1))
        it_log "ldns-verify-zone $zone: $(tail -n3 "$IT_WORK/verify-$zone.log")"
    fi
done
assert_eq 0 "$bad" "every signed AXFR from pdns on mxguard passes ldns-verify-zone (${#ZONES[@]} zones)"

# --- DNS UPDATE on signed zones: still verifying after each -----------------------------------------
nsu() { # ZONE LINES... -- one DNS UPDATE; sets NSU_RC
    local zone=$1
    shift
    NSU_RC=0
    { printf 'server 127.0.0.1 %s\nzone %s\n' "$PORT_M" "$zone"; printf '%s\n' "$@"; echo send; } |
        timeout 20 nsupdate -t 5 >>"$IT_WORK/nsupdate.log" 2>&1 || NSU_RC=$?
}
verify() { # ZONE WHAT
    "$DIG" @127.0.0.1 -p "$PORT_M" +onesoa +nocmd +nostats +nocomments "$1" AXFR >"$IT_WORK/axfr2-$1" 2>&1
    if ldns-verify-zone "$IT_WORK/axfr2-$1" >"$IT_WORK/verify2-$1.log" 2>&1; then
        it_pass "$2: $1 verifies"
    else
        it_fail "$2: $1 does not verify: $(tail -n3 "$IT_WORK/verify2-$1.log")"
    fi
}
for z in z00.sig.test z01.sig.test z02.sig.test; do
    nsu "$z" "update add new1.p.q.$z. 300 IN A 192.0.2.201" "update add new2.$z. 300 IN TXT \"t\""
    assert_eq 0 "$NSU_RC" "DNS UPDATE adds names under new empty non-terminals in $z"
    assert_answer "$PORT_M" "new1.p.q.$z" A 192.0.2.201
    verify "$z" "after adding names"
    nsu "$z" "update delete new2.$z. TXT" "update add deleg.$z. 300 IN NS ns.deleg.$z." "update add ns.deleg.$z. 300 IN A 192.0.2.202"
    assert_eq 0 "$NSU_RC" "DNS UPDATE deletes a name and adds a delegation in $z"
    verify "$z" "after a deletion and a new delegation"
    assert_rcode "$PORT_M" NXDOMAIN "new2.$z" TXT
done

# --- a guard fix on a signed zone --------------------------------------------------------------------
FZ=z03.sig.test
mxg_exec zone list --config "$MXG_CONF" >/dev/null
sqlite3 -cmd '.timeout 5000' "$MXG_STORE" "INSERT INTO domainmetadata (domain_id, kind, content) SELECT id, 'X-MXGUARD-MODE', 'fix' FROM domains WHERE name = '$FZ';"
assert_eq "10 $FZ." "$("$DIG" @127.0.0.1 -p "$PORT_M" +short "$FZ" MX)" "$FZ's MX names its apex"
nsu "$FZ" "update delete $FZ. A" "update add $FZ. 3600 IN A 203.0.113.80"
assert_eq 0 "$NSU_RC" "apex A of $FZ moved behind a proxy: committed with the guard's fix"
mx=$("$DIG" @127.0.0.1 -p "$PORT_M" +short "$FZ" MX | awk '{ print $2 }')
it_log "$FZ MX after the fix: $mx"
assert_ne "$FZ." "$mx" "the fix repointed MX to a dedicated mail host"
a=$("$DIG" @127.0.0.1 -p "$PORT_M" +dnssec +norec "$mx" A)
assert_contains "$a" "192.0.2.1" "the mail host answers at the old apex address"
assert_contains "$(grep RRSIG <<<"$a" || true)" "RRSIG	A 13" "... with its RRSIG"
verify "$FZ" "after the fix"

it_alive "$MXG_PID" && it_pass "mxguard still running" || it_fail "mxguard died"
it_finish
