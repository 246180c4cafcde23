#!/usr/bin/env bash
# tests/integration/test_guard_api.sh -- the mail guard (PRODUCT.md §3-§4) through the pdns HTTP
# API: the scenario matrix of a panel's PATCHes, each checked with the HTTP status, dig, and
# the audit record (source api, verdict, rule ids and families).
#   reject: apex A repointed with MX -> apex / mail CNAME @; implicit MX under implicit-mx
#     warn|yes|no; a shared mail host in another served zone; AAAA only; A and AAAA at once;
#     null MX; apex + MX changed together (both orders); MX at a sub-domain; classify=proxy;
#     mail-ranges; per-zone X-MXGUARD-MODE and zone-mode-override=none.
#   warn: committed, verdict warn.  fix: mail host inserted (mail, mx when mail is taken, mail
#     reused when it holds the old address, mail CNAME @ replaced, fix-no-host), the shared host
#     still refused.  slave zone fed by AXFR: transferred anyway, verdict warn, source axfr.
# Each case has a zone of its own; policy keys change through SIGHUP.
#
# Ports: DNS 5370 (pdns on mxguard, also secondary), 5371 (bind primary), API 8085.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guard_lib.sh"
mxg_require
it_init

PORT=5370
PRI_PORT=5371
G_API=8085
OLD=192.0.2.10
NEW=203.0.113.80

# --- zones ------------------------------------------------------------------------------------
# std: the hosting default -- apex A, MX -> apex, www.
std() { printf '@ IN A %s\n@ IN MX 10 @\nwww IN A 192.0.2.20\n' "$OLD"; }
for z in ra wa fa k1 k2 px1 px2 mr ov1 ov2 st1 st2 of rs; do std | g_zone "$z.example"; done
{ std; echo '@ IN TXT "v=spf1 a mx -all"'; } | g_zone sp.example
printf '@ IN A %s\n@ IN MX 10 mail\nmail IN CNAME web\nwww IN CNAME web\nweb IN A %s\n' "$OLD" "$OLD" | g_zone ch.example
std | g_zone uc.example
std | g_zone dl.example
std | g_zone il.example
{ std; echo '@ IN AAAA 2001:db8::10'; } | g_zone fab.example
printf '@ 600 IN A %s\nwww IN A 192.0.2.20\n' "$OLD" | g_zone fim.example
printf '@ 1200 IN A %s\n@ 900 IN MX 20 @\n@ 900 IN MX 30 mx9.example.net.\n' "$OLD" | g_zone fp.example
{ std; echo 'mail IN CNAME @'; } | g_zone fc2.example
printf '@ IN A %s\n@ IN MX 10 mail\nmail IN CNAME @\n' "$OLD" | g_zone rc.example
printf '@ IN A %s\n@ IN MX 10 mail\nmail IN CNAME @\n' "$OLD" | g_zone fc.example
for z in im1 im2 im3; do printf '@ IN A %s\nwww IN A 192.0.2.20\n' "$OLD" | g_zone "$z.example"; done
printf '@ IN A %s\n@ IN MX 10 mx1.provider.example.\n' "$OLD" | g_zone cust.example
printf 'mx1 IN A 198.51.100.25\n' | g_zone provider.example
for z in aa ab; do { std; echo '@ IN AAAA 2001:db8::10'; } | g_zone "$z.example"; done
printf '@ IN A %s\n@ IN MX 0 .\n' "$OLD" | g_zone nm.example
{ std; printf 'sub IN A 192.0.2.30\nsub IN MX 10 sub\n'; } | g_zone sd.example
{ std; echo 'mail IN TXT "not a host"'; } | g_zone ft.example
{ std; echo "mail IN A $OLD"; } | g_zone fr.example
{ std; printf 'mail IN TXT "taken"\nmx IN TXT "taken too"\n'; } | g_zone fn.example

# --- primary for the slave zone -----------------------------------------------------------------
mkdir -p "$IT_WORK/primary"
printf '$ORIGIN sl.example.\n$TTL 3600\n@ IN SOA ns1.example.net. hostmaster.sl.example. 2024010101 7200 3600 1209600 300 ; soa\n@ IN NS ns1.example.net.\n@ IN A %s\n@ IN MX 10 @\n' \
    "$OLD" >"$IT_WORK/primary/sl.example.zone"
pdns_start --kind bind --port "$PRI_PORT" --name primary --zone "sl.example=$IT_WORK/primary/sl.example.zone" \
    -- --primary=yes --also-notify=127.0.0.1:"$PORT" --xfr-cycle-interval=1
PRI_DIR=$PDNS_DIR

mxg_write_config "$IT_WORK/mxguard" "$PDNS_CONTROL --config-dir=$IT_WORK/pdns-guard"
echo "mode=reject" >>"$MXG_CONF"
# the provider's zone first: cust.example's MX target then is in a served zone from the start
mxg_import_zones "provider.example=$IT_WORK/zones/provider.example.zone"
mapfile -t zones < <(g_zone_list | grep -v '^provider\.example=')
mxg_import_zones "${zones[@]}"
mxg_start
assert_ok "zone add sl.example --kind slave" mxg zone add sl.example --kind slave --primary "127.0.0.1:$PRI_PORT" --ns ns1.example.net
pdns_start --kind remote --port "$PORT" --api-port "$G_API" --name pdns-guard -- --secondary=yes --xfr-cycle-interval=1
GUARD_DIR=$PDNS_DIR
pu() { "$PDNSUTIL" --config-dir="$GUARD_DIR" "$@" >>"$IT_WORK/pdnsutil.log" 2>&1; }
apexA() { rr "$1." A 3600 "$2"; }   # ZONE ADDRESS -- REPLACE of the apex A

sl_serial() { { dig_at "$PORT" +short sl.example SOA 2>/dev/null || true; } | awk 'NF == 7 {print $3}'; }
wait_sl() { local i; for ((i = 0; i < 150; i++)); do [ "$(sl_serial)" = "$1" ] && return 0; sleep 0.1; done; return 1; }

# ================================================================ mode reject (global) ===
it_log "--- mode reject"
g_mark
code=$(g_patch ra.example "$(body "$(apexA ra.example $NEW)")")
assert_eq 500 "$code" "reject: apex A repointed with MX -> apex: HTTP 500"
assert_answer "$PORT" ra.example A "$OLD"
get=$(g_api "http://127.0.0.1:$G_API/api/v1/servers/localhost/zones/ra.example" | tr -d ' ')
assert_contains "$get" "\"content\":\"$OLD\"" "API GET still has the old apex address"
assert_not_contains "$get" "$NEW" "API GET has no trace of the refused address"
g_audit "reject apex" ra.example api reject mail-moved:A
g_last ra.example
assert_eq "ra.example A $NEW" "$(rq 'rrs([c for c in r["changes"] if c["type"] == "A"])')" "audit lists the refused change (after)"
assert_eq "$OLD" "$(rq '",".join(d["content"] for c in r["changes"] if c["type"] == "A" for d in c["before"])')" \
    "audit lists the refused change (before)"
assert_eq "" "$(rq 'rrs(r["fix"])')" "a refusal in reject mode carries no fix records"
seq=$(rq 'r["seq"]')
assert_contains "$(grep -i 'ra.example' "$MXG_LOG" | grep -i reject || true)" "seq $seq" "mxguard's log names the refusal's audit seq ($seq)"

g_mark
assert_eq 500 "$(g_patch rc.example "$(body "$(apexA rc.example $NEW)")")" "reject: apex A moved, MX -> mail CNAME @: HTTP 500"
assert_answer "$PORT" rc.example A "$OLD"
g_audit "reject via mail CNAME @" rc.example api reject mail-moved:A

# a CNAME chain: MX -> mail CNAME web, www CNAME web too (a shared path), web A moved
g_mark
assert_eq 500 "$(g_patch ch.example "$(body "$(rr web.ch.example. A 3600 $NEW)")")" "reject: end of a CNAME chain behind MX moved"
g_audit "CNAME chain" ch.example api reject mail-moved:A

# MX content in mixed case names the same host
g_mark
assert_eq 204 "$(g_patch uc.example "$(body "$(rr uc.example. MX 3600 "10 Mail.UC.Example.")" "$(rr mail.uc.example. A 3600 $OLD)")")" \
    "MX -> Mail.UC.Example. (mixed case) + mail A with the old address: committed"
# the dedicated mail host moved: a deliberate change of mail, allowed and reported
assert_eq 204 "$(g_patch uc.example "$(body "$(rr mail.uc.example. A 3600 198.51.100.61)")")" "the mixed-case MX target (dedicated) moved: committed"
g_audit "mixed-case MX target" uc.example api allow mail-host-changed:A '!mail-moved'

# the apex A deleted: mail loses its addresses
g_mark
assert_eq 500 "$(g_patch dl.example "$(body "$(del dl.example. A)")")" "reject: apex A deleted under MX -> apex"
assert_answer "$PORT" dl.example A "$OLD"
g_audit "addresses lost" dl.example api reject mail-moved:A

# warn-severity rules never block, also in reject mode
for c in "ipl|10 192.0.2.77.|mx-ip-literal" "nad|10 nohost.il.example.|mx-no-address" "nmx|0 .|10 www.il.example.|null-mx-mixed"; do
    IFS='|' read -r label c1 c2 rule <<<"$c"
    if [ -z "$rule" ]; then rule=$c2; c2=""; fi
    g_mark
    if [ -n "$c2" ]; then b=$(body "$(rr "$label.il.example." MX 3600 "$c1" "$c2")"); else b=$(body "$(rr "$label.il.example." MX 3600 "$c1")"); fi
    assert_eq 204 "$(g_patch il.example "$b")" "warn rule $rule: committed in reject mode"
    g_audit "$rule" il.example api allow "$rule"
done

# an invalid X-MXGUARD-MODE through the metadata API is refused and not stored
code=$(g_api -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' --data '{"metadata":["always"]}' \
    "http://127.0.0.1:$G_API/api/v1/servers/localhost/zones/il.example/metadata/X-MXGUARD-MODE" || true)
assert_ne 200 "$code" "metadata API: X-MXGUARD-MODE=always refused (HTTP $code)"
assert_not_contains "$(g_api "http://127.0.0.1:$G_API/api/v1/servers/localhost/zones/il.example/metadata")" "always" \
    "the invalid mode is not stored"

# implicit MX: no MX at all, the apex address is the mail target (RFC 5321)
g_mark
assert_eq 204 "$(g_patch im1.example "$(body "$(apexA im1.example $NEW)")")" "implicit-mx=warn: apex move committed"
assert_answer "$PORT" im1.example A "$NEW"
g_audit "implicit-mx=warn" im1.example api allow implicit-mail-moved:A '!mail-moved'
g_set implicit-mx=yes
g_mark
assert_eq 500 "$(g_patch im2.example "$(body "$(apexA im2.example $NEW)")")" "implicit-mx=yes: apex move refused"
assert_answer "$PORT" im2.example A "$OLD"
g_audit "implicit-mx=yes" im2.example api reject implicit-mail-moved:A
g_set implicit-mx=no
g_mark
assert_eq 204 "$(g_patch im3.example "$(body "$(apexA im3.example $NEW)")")" "implicit-mx=no: apex move committed"
g_audit "implicit-mx=no" im3.example api allow nofindings
g_set implicit-mx=warn

# a provider's mail host in another served zone: a dedicated path -- moving it is a deliberate
# change of mail (reported), moving it into proxy-ranges is refused (rule 3, in the customers'
# zones)
g_mark
assert_eq 204 "$(g_patch provider.example "$(body "$(rr mx1.provider.example. A 3600 198.51.100.26)")")" \
    "shared mail host mx1.provider.example moved (dedicated): committed"
assert_answer "$PORT" mx1.provider.example A 198.51.100.26
g_audit "shared mail host" provider.example api allow mail-host-changed:A
g_last provider.example
assert_contains "$(rq '" ".join(canon(f["name"]) for f in r["findings"])')" "cust.example" \
    "the finding names the customer domain whose mail host changed"
g_set proxy-ranges=203.0.113.0/24
g_mark
assert_eq 500 "$(g_patch provider.example "$(body "$(rr mx1.provider.example. A 3600 203.0.113.25)")")" \
    "reject: shared mail host mx1.provider.example pointed into proxy-ranges: HTTP 500"
assert_answer "$PORT" mx1.provider.example A 198.51.100.26
g_audit "shared mail host into the proxy" provider.example api reject mail-moved:A
g_set proxy-ranges=

# AAAA only; A and AAAA together
g_mark
assert_eq 500 "$(g_patch aa.example "$(body "$(rr aa.example. AAAA 3600 2001:db8:ffff::80)")")" "reject: apex AAAA only moved"
assert_answer "$PORT" aa.example AAAA 2001:db8::10
g_audit "AAAA only" aa.example api reject mail-moved:AAAA '!mail-moved:A'
g_mark
assert_eq 500 "$(g_patch ab.example "$(body "$(apexA ab.example $NEW)" "$(del ab.example. AAAA)")")" \
    "reject: apex A moved and AAAA removed"
assert_answer "$PORT" ab.example AAAA 2001:db8::10
g_audit "A and AAAA" ab.example api reject mail-moved:A '!mail-moved:AAAA'

# null MX: no mail, nothing to protect
g_mark
assert_eq 204 "$(g_patch nm.example "$(body "$(apexA nm.example $NEW)")")" "null MX: apex move committed"
g_audit "null MX" nm.example api allow '!mail-moved' '!implicit-mail-moved'

# apex and MX in one PATCH, the end state keeps mail on the old address; both orders
for order in 1 2; do
    z=k$order.example
    a=$(apexA "$z" $NEW) m=$(rr "$z." MX 3600 "10 mail2.$z.") h=$(rr "mail2.$z." A 3600 "$OLD")
    if [ $order = 1 ]; then b=$(body "$a" "$m" "$h"); else b=$(body "$h" "$m" "$a"); fi
    g_mark
    assert_eq 204 "$(g_patch "$z" "$b")" "apex + MX + mail host in one PATCH (order $order): committed"
    assert_answer "$PORT" "$z" A "$NEW"
    assert_answer "$PORT" "$z" MX "10 mail2.$z."
    assert_answer "$PORT" "mail2.$z" A "$OLD"
    g_audit "apex + MX together (order $order)" "$z" api allow '!mail-moved'
done

# MX at a sub-domain
g_mark
assert_eq 500 "$(g_patch sd.example "$(body "$(rr sub.sd.example. A 3600 203.0.113.30)")")" \
    "reject: sub.sd.example MX -> itself, its A repointed"
assert_answer "$PORT" sub.sd.example A 192.0.2.30
g_audit "MX at a sub-domain" sd.example api reject mail-moved:A
g_last sd.example
assert_contains "$(rq '" ".join(canon(f["name"]) for f in r["findings"])')" "sub.sd.example" "the finding names sub.sd.example"

# classify=proxy: only moves into proxy-ranges count
g_set classify=proxy proxy-ranges=203.0.113.0/24
g_mark
assert_eq 204 "$(g_patch px1.example "$(body "$(apexA px1.example 198.51.100.80)")")" "proxy: move outside proxy-ranges committed"
g_audit "proxy, outside" px1.example api allow '!mail-moved'
assert_eq 500 "$(g_patch px2.example "$(body "$(apexA px2.example $NEW)")")" "proxy: move into proxy-ranges refused"
g_audit "proxy, inside" px2.example api reject mail-moved:A
g_set classify=strict mail-ranges=198.51.100.0/24
g_mark
assert_eq 204 "$(g_patch mr.example "$(body "$(apexA mr.example 198.51.100.80)")")" "strict: move inside mail-ranges committed"
g_audit "mail-ranges" mr.example api allow '!mail-moved'

# per-zone mode: X-MXGUARD-MODE=fix over the global reject; zone-mode-override=none ignores it
assert_ok "set-meta ov1 X-MXGUARD-MODE fix" pu set-meta ov1.example X-MXGUARD-MODE fix
g_mark
assert_eq 204 "$(g_patch ov1.example "$(body "$(apexA ov1.example $NEW)")")" "X-MXGUARD-MODE=fix over global reject: committed"
assert_answer "$PORT" ov1.example MX "10 mail.ov1.example."
assert_answer "$PORT" mail.ov1.example A "$OLD"
g_audit "per-zone fix" ov1.example api fix mail-moved:A
g_last ov1.example
assert_eq fix "$(rq 'r["mode"]')" "audit mode is the effective (zone) mode"
g_set zone-mode-override=none
assert_ok "set-meta ov2 X-MXGUARD-MODE fix" pu set-meta ov2.example X-MXGUARD-MODE fix
g_mark
assert_eq 500 "$(g_patch ov2.example "$(body "$(apexA ov2.example $NEW)")")" "zone-mode-override=none: the metadata is ignored, refused"
g_audit "override none" ov2.example api reject mail-moved:A
g_last ov2.example
assert_eq reject "$(rq 'r["mode"]')" "audit mode is the global mode"
g_set zone-mode-override=stricter
assert_ok "set-meta st1 X-MXGUARD-MODE warn" pu set-meta st1.example X-MXGUARD-MODE warn
assert_ok "set-meta st2 X-MXGUARD-MODE FIX (case-insensitive)" pu set-meta st2.example X-MXGUARD-MODE FIX
g_mark
assert_eq 500 "$(g_patch st1.example "$(body "$(apexA st1.example $NEW)")")" "zone-mode-override=stricter: warn metadata ignored, refused"
g_audit "stricter, warn" st1.example api reject mail-moved:A
assert_eq 204 "$(g_patch st2.example "$(body "$(apexA st2.example $NEW)")")" "zone-mode-override=stricter: fix metadata honoured"
g_audit "stricter, fix" st2.example api fix mail-moved:A
g_set zone-mode-override=any
assert_ok "set-meta of X-MXGUARD-MODE off" pu set-meta of.example X-MXGUARD-MODE off
g_mark
assert_eq 204 "$(g_patch of.example "$(body "$(apexA of.example $NEW)")")" "X-MXGUARD-MODE=off: committed"
g_last of.example
assert_eq "off api mail-moved" "$(rq 'r["mode"] + " " + r["source"] + " " + " ".join(f["rule"] for f in r["findings"])')" \
    "mode off: the finding is still audited"

# rule-severity: an MX to a CNAME made blocking
g_set rule-severity=mx-cname:block
g_mark
assert_eq 500 "$(g_patch rs.example "$(body "$(rr sub.rs.example. MX 3600 "10 alias.rs.example.")" "$(rr alias.rs.example. CNAME 3600 www.rs.example.)")")" \
    "rule-severity=mx-cname:block: MX to a CNAME refused"
assert_rcode "$PORT" NXDOMAIN alias.rs.example A
g_audit "mx-cname blocking" rs.example api reject mx-cname
g_set rule-severity=mx-cname:warn

# slave zone: the primary moves the apex; the transfer is never blocked
if wait_sl 2024010101; then it_pass "slave zone sl.example transferred (2024010101)"; else
    it_fail "slave zone sl.example not transferred (serial '$(sl_serial)')"; fi
g_mark
sed -i -e 's/2024010101/2099010101/' -e "s/^@ IN A .*/@ IN A $NEW/" "$IT_WORK/primary/sl.example.zone"
pdns_ctl "$PRI_DIR" bind-reload-now sl.example >/dev/null
pdns_ctl "$PRI_DIR" notify sl.example >/dev/null || true
if wait_sl 2099010101; then it_pass "slave: the transfer that moves mail went through (2099010101)"; else
    it_fail "slave: still at '$(sl_serial)' after the primary moved the apex"; tail -n 5 "$MXG_LOG" | sed 's/^/       /'; fi
assert_answer "$PORT" sl.example A "$NEW"
g_audit "slave zone" sl.example axfr warn mail-moved:A

# ================================================================ mode warn =============
it_log "--- mode warn"
g_set mode=warn
g_mark
assert_eq 204 "$(g_patch wa.example "$(body "$(apexA wa.example $NEW)")")" "warn: apex move committed"
assert_answer "$PORT" wa.example A "$NEW"
assert_answer "$PORT" wa.example MX "10 wa.example."
g_audit "warn" wa.example api warn mail-moved:A
g_mark
assert_eq 204 "$(g_patch sp.example "$(body "$(apexA sp.example $NEW)")")" "warn: apex move with SPF a/mx committed"
g_audit "warn, SPF" sp.example api warn mail-moved:A spf-moved

# ================================================================ mode fix ==============
it_log "--- mode fix"
g_set mode=fix
g_mark
assert_eq 204 "$(g_patch fa.example "$(body "$(apexA fa.example $NEW)")")" "fix: apex move committed with the fix"
assert_answer "$PORT" fa.example A "$NEW"
assert_answer "$PORT" fa.example MX "10 mail.fa.example."
assert_answer "$PORT" mail.fa.example A "$OLD"
assert_eq 3600 "$(dig_at "$PORT" +noall +answer mail.fa.example A | awk '{print $2}')" "mail host A keeps the apex A's TTL"
assert_eq 3600 "$(dig_at "$PORT" +noall +answer fa.example MX | awk '{print $2}')" "MX keeps its TTL"
g_audit "fix" fa.example api fix mail-moved:A
g_last fa.example
assert_contains "$(rq 'rrs(r["fix"])')" "mail.fa.example A $OLD" "audit fix lists the mail host A"
assert_contains "$(rq 'rrs(r["fix"])')" "fa.example MX 10 mail.fa.example" "audit fix lists the repointed MX"

g_mark
assert_eq 204 "$(g_patch fc.example "$(body "$(apexA fc.example $NEW)")")" "fix, MX -> mail CNAME @: committed"
assert_answer "$PORT" fc.example MX "10 mail.fc.example."
assert_answer "$PORT" mail.fc.example CNAME ""
assert_answer "$PORT" mail.fc.example A "$OLD"
g_audit "fix via CNAME" fc.example api fix mail-moved:A

g_mark
assert_eq 204 "$(g_patch fc2.example "$(body "$(apexA fc2.example $NEW)")")" "fix, MX -> apex, mail CNAME @: committed"
assert_answer "$PORT" fc2.example MX "10 mail.fc2.example."
assert_answer "$PORT" mail.fc2.example CNAME ""
assert_answer "$PORT" mail.fc2.example A "$OLD"
g_audit "fix replaces mail CNAME @" fc2.example api fix mail-moved:A

g_mark
assert_eq 204 "$(g_patch ft.example "$(body "$(apexA ft.example $NEW)")")" "fix, mail taken by TXT: committed"
assert_answer "$PORT" ft.example MX "10 mx.ft.example."
assert_answer "$PORT" mx.ft.example A "$OLD"
assert_answer "$PORT" mail.ft.example TXT '"not a host"'
g_audit "fix uses mx" ft.example api fix mail-moved:A

g_mark
assert_eq 204 "$(g_patch fr.example "$(body "$(apexA fr.example $NEW)")")" "fix, mail holds the old address: committed"
assert_answer "$PORT" fr.example MX "10 mail.fr.example."
assert_answer "$PORT" mail.fr.example A "$OLD"
g_audit "fix reuses mail" fr.example api fix mail-moved:A

g_mark
assert_eq 204 "$(g_patch fab.example "$(body "$(apexA fab.example $NEW)" "$(rr fab.example. AAAA 3600 2001:db8:ffff::80)")")" \
    "fix, A and AAAA moved: committed"
assert_answer "$PORT" mail.fab.example A "$OLD"
assert_answer "$PORT" mail.fab.example AAAA 2001:db8::10
assert_answer "$PORT" fab.example AAAA 2001:db8:ffff::80
g_audit "fix A and AAAA" fab.example api fix mail-moved:A mail-moved:AAAA

g_mark
assert_eq 204 "$(g_patch fp.example "$(body "$(rr fp.example. A 1200 $NEW)")")" "fix, MX 20 -> apex and MX 30 elsewhere: committed"
assert_answer "$PORT" fp.example MX $'20 mail.fp.example.\n30 mx9.example.net.'
assert_eq 900 "$(dig_at "$PORT" +noall +answer fp.example MX | awk '{print $2}' | sort -u)" "repointed MX keeps its TTL (900)"
assert_eq 1200 "$(dig_at "$PORT" +noall +answer mail.fp.example A | awk '{print $2}')" "mail host A gets the apex A's TTL (1200)"
g_audit "fix keeps preference and TTL" fp.example api fix mail-moved:A

g_set implicit-mx=yes
g_mark
assert_eq 204 "$(g_patch fim.example "$(body "$(rr fim.example. A 600 $NEW)")")" "fix, implicit MX (implicit-mx=yes): committed"
assert_answer "$PORT" fim.example MX "10 mail.fim.example."
assert_eq 600 "$(dig_at "$PORT" +noall +answer fim.example MX | awk '{print $2}')" "added MX has the apex A's TTL"
assert_answer "$PORT" mail.fim.example A "$OLD"
g_audit "fix, implicit MX" fim.example api fix implicit-mail-moved:A
g_set implicit-mx=warn

g_set proxy-ranges=203.0.113.0/24
g_mark
assert_eq 500 "$(g_patch provider.example "$(body "$(rr mx1.provider.example. A 3600 203.0.113.25)")")" \
    "fix: shared mail host moved into the proxy from another zone: still refused"
assert_answer "$PORT" mx1.provider.example A 198.51.100.26
assert_answer "$PORT" cust.example MX "10 mx1.provider.example."
g_audit "fix, shared host" provider.example api reject mail-moved:A
g_set proxy-ranges=

g_set mail-host-labels=mail,mx
g_mark
assert_eq 500 "$(g_patch fn.example "$(body "$(apexA fn.example $NEW)")")" "fix, every label taken: refused"
assert_answer "$PORT" fn.example A "$OLD"
assert_answer "$PORT" fn.example MX "10 fn.example."
g_audit "fix-no-host" fn.example api reject fix-no-host mail-moved:A

assert_eq ok "$(g_sql 'PRAGMA integrity_check')" "store integrity_check"
assert_ok "audit verify" mxg audit verify
it_finish
