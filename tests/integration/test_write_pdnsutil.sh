#!/usr/bin/env bash
# tests/integration/test_write_pdnsutil.sh -- pdnsutil edits through mxguard: add-record,
# replace-rrset, delete-rrset, increase-serial, load-zone (replaces the whole zone; a broken
# file or an out-of-zone record leaves it untouched), set-meta/get-meta, list-zone and
# list-all-zones; results checked with dig and list-zone.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init

PORT=5347   # and 5348 for the gsqlite3 reference

mxg_write_config "$IT_WORK/mxguard"
# These tests are about the write path, not the mail guard: the test network's addresses are
# declared mail ranges so that MX records written here never count as mail moving away.
echo "mail-ranges=192.0.2.0/24,198.51.100.0/24,203.0.113.0/24,2001:db8::/32" >>"$MXG_CONF"
mxg_import_zones "example.com=$IT_ZONES_DIR/example.com.zone" "example.net=$IT_ZONES_DIR/example.net.zone"
mxg_start
pdns_start --kind remote --port "$PORT" --name pdns-remote

pu() { "$PDNSUTIL" --config-dir="$PDNS_DIR" "$@" 2>&1; }
serial() { dig_short "$PORT" "${1:-example.com}" SOA | awk '{print $3}'; }
ttl_of() { dig_at "$PORT" +noall +answer "$1" "$2" | awk '{print $2}' | sort -u | tr '\n' ' ' | sed 's/ $//'; }
# list_zone ZONE -- "name ttl type content" lines of pdnsutil list-zone, sorted.
list_zone() { pu list-zone "$1" | awk -F'\t' 'NF >= 5 {print tolower($1), $2, $4, $5}' | sort; }

# --- list-all-zones, list-zone ----------------------------------------------------------------
out=$(pu list-all-zones)
assert_contains "$out" example.com "list-all-zones shows example.com"
assert_contains "$out" example.net "list-all-zones shows example.net"
n=$(list_zone example.com | wc -l)
[ "$n" -ge 50 ] && it_pass "list-zone example.com lists $n records" || it_fail "list-zone example.com lists only $n records"
assert_contains "$(list_zone example.com)" "www.example.com 3600 A 192.0.2.20" "list-zone shows www A"

# --- add-record ---------------------------------------------------------------------------
s=$(serial)
assert_ok "add-record pu1 A" pu add-record example.com pu1 A 300 192.0.2.150
assert_answer "$PORT" pu1.example.com A 192.0.2.150
out=$(pu add-record example.com pu1 A 300 192.0.2.151)
assert_contains "$out" $'pu1.example.com. 300 IN A 192.0.2.150\npu1.example.com. 300 IN A 192.0.2.151' \
    "add-record prints the new RRset (read-your-writes inside the transaction)"
assert_answer "$PORT" pu1.example.com A $'192.0.2.150\n192.0.2.151'
assert_ok "add-record MX" pu add-record example.com pu1 MX 600 "10 mx1.example.net."
assert_answer "$PORT" pu1.example.com MX '10 mx1.example.net.'
assert_ok "add-record TXT with spaces" pu add-record example.com pu1 TXT 300 '"spaces in here" "and a second string"'
assert_answer "$PORT" pu1.example.com TXT '"spaces in here" "and a second string"'
assert_ok "add-record at the apex (@)" pu add-record example.com @ TXT 3600 '"added-by=pdnsutil"'
assert_contains "$(dig_short "$PORT" example.com TXT)" '"added-by=pdnsutil"' "apex TXT added"
assert_contains "$(dig_short "$PORT" example.com TXT)" '"google-site-verification=' "the other apex TXT kept"
assert_contains "$(list_zone example.com)" "pu1.example.com 600 MX 10 mx1.example.net" "list-zone shows the added MX"
assert_eq "$s" "$(serial)" "add-record does not touch the serial (pdns sends no SOA edit)"
assert_fails "add-record with bad content fails" pu add-record example.com pu2 A 300 999.1.1.1
assert_rcode "$PORT" NXDOMAIN pu2.example.com A

# --- replace-rrset --------------------------------------------------------------------------
assert_ok "replace-rrset pu1 A" pu replace-rrset example.com pu1 A 120 192.0.2.160 192.0.2.161 192.0.2.162
assert_answer "$PORT" pu1.example.com A $'192.0.2.160\n192.0.2.161\n192.0.2.162'
assert_eq 120 "$(ttl_of pu1.example.com A)" "replace-rrset TTL"
assert_answer "$PORT" pu1.example.com MX '10 mx1.example.net.'
assert_ok "replace-rrset of a zone-file RRset (www AAAA)" pu replace-rrset example.com www AAAA 3600 2001:db8::21 2001:db8::22
assert_answer "$PORT" www.example.com AAAA $'2001:db8::21\n2001:db8::22'
assert_answer "$PORT" www.example.com A 192.0.2.20
assert_ok "replace-rrset creating a new name" pu replace-rrset example.com pu3.deep SRV 300 "0 5 5060 pu1.example.com."
assert_answer "$PORT" pu3.deep.example.com SRV '0 5 5060 pu1.example.com.'
assert_rcode "$PORT" NOERROR deep.example.com A

# --- delete-rrset ---------------------------------------------------------------------------
assert_ok "delete-rrset pu1 A" pu delete-rrset example.com pu1 A
assert_answer "$PORT" pu1.example.com A ''
assert_rcode "$PORT" NOERROR pu1.example.com A
assert_answer "$PORT" pu1.example.com MX '10 mx1.example.net.'
assert_ok "delete-rrset pu1 MX" pu delete-rrset example.com pu1 MX
assert_ok "delete-rrset pu1 TXT" pu delete-rrset example.com pu1 TXT
assert_rcode "$PORT" NXDOMAIN pu1.example.com A
assert_eq 0 "$(list_zone example.com | grep -c '^pu1\.example\.com ' || true)" "list-zone no longer shows pu1"
assert_ok "delete-rrset of a zone-file RRset (intranet A)" pu delete-rrset example.com intranet A
assert_rcode "$PORT" NXDOMAIN intranet.example.com A

# --- increase-serial --------------------------------------------------------------------------
s=$(serial)
out=$(pu increase-serial example.com)
n=$(serial)
[ "$n" -gt "$s" ] && it_pass "increase-serial ($s -> $n)" || it_fail "increase-serial ($s -> $n)"
assert_contains "$out" "$n" "increase-serial prints the serial dig now answers"
assert_contains "$(list_zone example.com)" "example.com 3600 SOA ns1.example.com hostmaster.example.com $n" \
    "list-zone shows the new serial"
assert_ok "increase-serial again" pu increase-serial example.com
[ "$(serial)" -gt "$n" ] && it_pass "second increase-serial" || it_fail "second increase-serial ($n -> $(serial))"
assert_eq 2024020101 "$(serial example.net)" "example.net serial untouched"

# --- set-meta / get-meta -----------------------------------------------------------------------
assert_ok "set-meta ALSO-NOTIFY (two values)" pu set-meta example.com ALSO-NOTIFY 192.0.2.53 198.51.100.53
out=$(pu get-meta example.com ALSO-NOTIFY)
assert_contains "$out" "192.0.2.53" "get-meta shows the first value"
assert_contains "$out" "198.51.100.53" "get-meta shows the second value"
assert_ok "set-meta X-NOTE" pu set-meta example.com X-NOTE "kept across load-zone"
assert_ok "set-meta replaces ALSO-NOTIFY" pu set-meta example.com ALSO-NOTIFY 203.0.113.53
out=$(pu get-meta example.com ALSO-NOTIFY)
assert_contains "$out" "203.0.113.53" "get-meta after the replace"
assert_not_contains "$out" "192.0.2.53" "the old value is gone"
assert_ok "set-meta with no value deletes" pu set-meta example.com ALSO-NOTIFY
assert_not_contains "$(pu get-meta example.com ALSO-NOTIFY)" "203.0.113.53" "ALSO-NOTIFY deleted"
assert_contains "$(pu get-meta example.com SOA-EDIT-API)" "DEFAULT" "SOA-EDIT-API still DEFAULT"

# --- load-zone replaces the whole zone --------------------------------------------------------
Z="$IT_WORK/zones"
mkdir -p "$Z"
cp "$IT_ZONES_DIR/example.com.zone" "$IT_ZONES_DIR/example.com.include" "$Z/"
# new serial, one record dropped (webmail), one changed (WWW A), one added (loaded)
sed -e 's/2024010101 ; serial/2030010101 ; serial/' -e '/^webmail /d' \
    -e 's/^WWW     IN A    192.0.2.20/WWW     IN A    192.0.2.23/' "$IT_ZONES_DIR/example.com.zone" >"$Z/example.com.zone"
echo 'loaded  IN A 192.0.2.170' >>"$Z/example.com.include"
before=$(list_zone example.com)
assert_ok "load-zone" bash -c "cd '$Z' && '$PDNSUTIL' --config-dir='$PDNS_DIR' load-zone example.com example.com.zone"
assert_eq 2030010101 "$(serial)" "serial from the loaded file"
assert_answer "$PORT" www.example.com A 192.0.2.23
assert_answer "$PORT" www.example.com AAAA 2001:db8::20      # the replace-rrset above is gone
assert_answer "$PORT" loaded.example.com A 192.0.2.170
assert_rcode "$PORT" NXDOMAIN webmail.example.com A
assert_answer "$PORT" intranet.example.com A 10.1.2.3          # back from the file
assert_rcode "$PORT" NXDOMAIN pu3.deep.example.com SRV         # edits since import are gone
assert_not_contains "$(dig_short "$PORT" example.com TXT)" "added-by=pdnsutil" "apex TXT from add-record gone"
after=$(list_zone example.com)
# The zone now holds exactly what pdns's own gsqlite3 backend makes of the same file.
REMOTE_DIR=$PDNS_DIR
IT_GSQLITE3_RECTIFY=no pdns_start --kind gsqlite3 --port 5348 --name pdns-ref --zone "example.com=$Z/example.com.zone"
REF_DIR=$PDNS_DIR
PDNS_DIR=$REMOTE_DIR
"$PDNSUTIL" --config-dir="$REF_DIR" list-zone example.com 2>/dev/null |
    awk -F'\t' 'NF >= 5 {print tolower($1), $2, $4, $5}' | sort >"$IT_WORK/ref-list.txt"
# (pdnsutil prints stored content raw except for NS/MX/SRV/CNAME; mxguard stores names in
# content without the trailing dot, gsqlite3 keeps what the parser gave: compare without it.)
if diff -u <(sed 's/\.$//' "$IT_WORK/ref-list.txt") <(printf '%s\n' "$after" | sed 's/\.$//') >"$IT_WORK/load.diff"; then
    it_pass "after load-zone, list-zone equals pdns/gsqlite3 loading the same file ($(wc -l <"$IT_WORK/ref-list.txt") records)"
else
    it_fail "after load-zone, list-zone differs from pdns/gsqlite3 loading the same file"
    head -n 30 "$IT_WORK/load.diff" | sed 's/^/       /'
fi
assert_contains "$after" "loaded.example.com 3600 A 192.0.2.170" "list-zone shows the loaded record"
assert_ne "$before" "$after" "the zone changed"
assert_contains "$(pu get-meta example.com X-NOTE)" "kept across load-zone" "metadata survives load-zone"
assert_eq 2024020101 "$(serial example.net)" "example.net untouched by load-zone"

# A file that breaks half-way: pdnsutil stops without committing; nothing may change (the
# records fed before the error and the wipe are rolled back when pdnsutil's connection closes).
cp "$Z/example.com.zone" "$Z/broken.zone"
sed -i 's/2030010101 ; serial/2031010101 ; serial/' "$Z/broken.zone"
printf 'zzz-before-error IN A 192.0.2.180\nbroken IN A not-an-address\n' >>"$Z/broken.zone"
snap=$(list_zone example.com)
assert_fails "load-zone of a broken file fails" bash -c "cd '$Z' && '$PDNSUTIL' --config-dir='$PDNS_DIR' load-zone example.com broken.zone"
assert_eq 2030010101 "$(serial)" "serial unchanged after the failed load-zone"
assert_rcode "$PORT" NXDOMAIN zzz-before-error.example.com A
assert_answer "$PORT" loaded.example.com A 192.0.2.170
assert_eq "$snap" "$(list_zone example.com)" "zone unchanged after the failed load-zone"
# A file with a record outside the zone: pdnsutil refuses it and nothing changes.
cp "$Z/example.com.zone" "$Z/outside.zone"
sed -i 's/2030010101 ; serial/2032010101 ; serial/' "$Z/outside.zone"
printf 'www.example.org. IN A 192.0.2.181\n' >>"$Z/outside.zone"
assert_fails "load-zone with an out-of-zone record fails" bash -c "cd '$Z' && '$PDNSUTIL' --config-dir='$PDNS_DIR' load-zone example.com outside.zone"
assert_eq "$snap" "$(list_zone example.com)" "zone unchanged after the refused load-zone"
assert_eq 2030010101 "$(serial)" "serial unchanged after the refused load-zone"

# --- mxguard's own view agrees --------------------------------------------------------------
cnt=$(store_sql "select count(*) from records r join domains d on d.id = r.domain_id where d.name = 'example.com' and r.type is not null and r.type != ''")
assert_eq "$(grep -c . <<<"$(list_zone example.com)")" "$cnt" "store row count equals list-zone"
assert_eq ok "$(store_sql 'PRAGMA integrity_check')" "store integrity_check"

it_finish
