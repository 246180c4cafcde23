#!/usr/bin/env bash
# tests/integration/test_axfr_secondary.sh -- incoming AXFR: pdns on mxguard as the secondary of
# a pdns/bind primary. The zone is created with `mxguard zone add --kind slave --primary`, the
# secondary must transfer it and then follow changes on the primary (NOTIFY and the refresh
# cycle), each within a bounded wait. The store's record count must equal the primary's zone.
#
# Ports: primary DNS 5361, secondary DNS 5362.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init

PRI_PORT=5361
SEC_PORT=5362
Z="$IT_WORK/primary-zones"
mkdir -p "$Z"
cp "$IT_ZONES_DIR/example.com.zone" "$IT_ZONES_DIR/example.com.include" "$Z/"
chmod u+w "$Z"/*

pdns_start --kind bind --port "$PRI_PORT" --name primary --zone "example.com=$Z/example.com.zone" \
    -- --primary=yes --also-notify=127.0.0.1:"$SEC_PORT" --xfr-cycle-interval=1
PRI_DIR=$PDNS_DIR

mxg_write_config "$IT_WORK/mxguard" "$PDNS_CONTROL --config-dir=$IT_WORK/secondary"
mxg_start
assert_ok "zone add --kind slave" mxg zone add example.com --kind slave --primary "127.0.0.1:$PRI_PORT" --ns ns1.example.com
assert_contains "$(mxg zone list)" "slave" "zone list shows the slave zone"
pdns_start --kind remote --port "$SEC_PORT" --name secondary -- --secondary=yes --xfr-cycle-interval=1
SEC_DIR=$PDNS_DIR

pri_serial() { dig_short "$PRI_PORT" example.com SOA | awk '{print $3}'; }
sec_serial() { { dig_at "$SEC_PORT" +short example.com SOA 2>/dev/null || true; } | awk 'NF == 7 {print $3}'; }
# wait_serial SERIAL TENTHS -- until the secondary answers SERIAL; true when it did.
wait_serial() {
    local want=$1 tries=$2 i
    for ((i = 0; i < tries; i++)); do
        [ "$(sec_serial)" = "$want" ] && return 0
        sleep 0.1
    done
    return 1
}
# store_count -- records of example.com in mxguard's store (ENT rows excluded).
store_count() {
    store_sql "select count(*) from records r join domains d on d.id = r.domain_id
        where d.name = 'example.com' and r.type is not null and r.type != ''"
}
# pri_count -- records the primary transfers (AXFR minus the repeated SOA).
pri_count() { dig_at "$PRI_PORT" +noall +answer example.com AXFR | grep -c . | awk '{print $1 - 1}'; }
# same_data -- the secondary's AXFR equals the primary's (records, TTLs, case-folded owners).
axfr_sorted() { dig_at "$1" +noall +answer +nottlunits example.com AXFR | awk '{ $1 = tolower($1); print }' | sort -u; }
same_data() {
    if diff <(axfr_sorted "$PRI_PORT") <(axfr_sorted "$SEC_PORT") >"$IT_WORK/axfr.diff"; then
        it_pass "$1"
    else
        it_fail "$1"; head -n 20 "$IT_WORK/axfr.diff" | sed 's/^/       /'
    fi
}

# --- first transfer of the zone as the primary has it (serial 2024010101) ---------------------
# A fresh slave zone must be transferred whatever serial the primary uses; the SOA that
# `zone add` gives every new zone (serial = today) must not make the secondary believe it is
# newer than its primary.
assert_eq 2024010101 "$(pri_serial)" "primary serves serial 2024010101"
if wait_serial 2024010101 100; then
    it_pass "secondary transferred the zone from the primary (serial 2024010101) within 15 s"
    first_ok=yes
else
    it_fail "secondary did not transfer the zone within 10 s (secondary serial: '$(sec_serial)', primary 2024010101)"
    { grep -i -E 'example.com|xfr|fresh|serial' "$SEC_DIR/pdns.log" || true; } | tail -n 8 | sed 's/^/       /'
    first_ok=no
fi

# --- change on the primary with a higher serial: NOTIFY -----------------------------------------
# (When the first transfer failed, this serial is above the one `zone add` set, so the rest
# of the test still exercises AXFR-in.)
bump_primary() { # SERIAL [sed expressions for the zone file...]
    local serial=$1
    shift
    sed -i -E "s/^( *)[0-9]+( ; serial)/\\1$serial\\2/" "$Z/example.com.zone"
    local e
    for e in "$@"; do sed -i -e "$e" "$Z/example.com.zone"; done
    pdns_ctl "$PRI_DIR" bind-reload-now example.com >/dev/null
}
bump_primary 2099010101 's/^intranet IN A   10.1.2.3/intranet IN A   10.1.2.4/' '$a axfr-new.example.com. IN A 192.0.2.200'
assert_eq 2099010101 "$(pri_serial)" "primary reloaded with serial 2099010101"
pdns_ctl "$PRI_DIR" notify example.com >/dev/null || true
if wait_serial 2099010101 150; then it_pass "secondary follows the primary to 2099010101 within 15 s"; else
    it_fail "secondary still at '$(sec_serial)' 15 s after the change to 2099010101"
    { grep -i -E 'example.com|xfr|fresh|serial' "$SEC_DIR/pdns.log" || true; } | tail -n 8 | sed 's/^/       /'
    tail -n 10 "$MXG_LOG" | sed 's/^/       /'
fi
assert_answer "$SEC_PORT" axfr-new.example.com A 192.0.2.200
assert_answer "$SEC_PORT" intranet.example.com A 10.1.2.4
assert_answer "$SEC_PORT" www.example.com A 192.0.2.20
assert_answer "$SEC_PORT" multi.example.com TXT '"first string" "second string" "third; with semicolon"'
assert_rcode "$SEC_PORT" NOERROR _tcp.example.com A
out=$(dig_at "$SEC_PORT" host.sub.example.com A)
assert_contains "$out" "status: NOERROR" "secondary: name below the delegation -> referral"
assert_contains "$out" "sub.example.com.	3600	IN	NS" "secondary: referral carries the NS set"
same_data "secondary's AXFR equals the primary's after the NOTIFY-driven transfer"
assert_eq "$(pri_count)" "$(store_count)" "store holds as many records as the primary's zone"
assert_contains "$(mxg zone list)" "2099010101" "zone list shows the transferred serial"

# --- a record removed and one changed, no NOTIFY: the refresh cycle picks it up ----------------
bump_primary 2099010102 '/^axfr-new.example.com. IN A/d' 's/^shop    IN A    192.0.2.25/shop    IN A    192.0.2.26/'
assert_eq 2099010102 "$(pri_serial)" "primary reloaded with serial 2099010102"
if wait_serial 2099010102 200; then it_pass "secondary refreshed to 2099010102 within 20 s (no NOTIFY)"; else
    it_fail "secondary still at '$(sec_serial)' 20 s after the change to 2099010102"; fi
assert_rcode "$SEC_PORT" NXDOMAIN axfr-new.example.com A
assert_answer "$SEC_PORT" shop.example.com A 192.0.2.26
same_data "secondary's AXFR equals the primary's after the refresh"
assert_eq "$(pri_count)" "$(store_count)" "store count follows the removal (the transfer replaced the zone)"

# --- a transfer the secondary cannot store completely must not leave half a zone -------------
# (mxguard refuses a record it cannot store; AXFR-in ignores a single write's false, so the
# commit must be refused and the previous zone kept.) pdns's own parser accepts everything the
# bind primary serves, so a refusable record cannot be constructed here: skipped.

# --- the store is sane --------------------------------------------------------------------------
assert_eq ok "$(store_sql 'PRAGMA integrity_check')" "store integrity_check"
assert_eq slave "$(store_sql "select lower(type) from domains where name = 'example.com'")" \
    "zone is still of kind slave"
[ "$first_ok" = yes ] || it_log "NOTE: the first transfer (primary serial below today's date) failed; see above"

it_finish
