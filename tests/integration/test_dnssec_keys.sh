#!/usr/bin/env bash
# tests/integration/test_dnssec_keys.sh -- DNSSEC keys and TSIG keys through pdns with
# remote-dnssec=yes on mxguard, with real pdnsutil, pdns's HTTP API and dig:
#   - pdnsutil secure-zone, show-zone, add-zone-key (KSK/ZSK, algorithms 13 and 8),
#     activate/deactivate/publish/unpublish/remove-zone-key, export-zone-dnskey, export-zone-ds,
#     import-zone-key of a key file that pdnsutil exported from a gsqlite3 database; what
#     show-zone prints and the DNSKEY RRset dig gets (with its RRSIGs) follow each step;
#   - TSIG keys: generate-tsig-key, import-tsig-key, list-tsig-keys, delete-tsig-key,
#     activate-tsig-key/deactivate-tsig-key (the TSIG-ALLOW-AXFR metadata);
#   - the cryptokeys and tsigkeys endpoints of pdns's API (GET, POST, PUT, DELETE);
#   - the audit: every key and TSIG change is a record with source dnssec; no record and no
#     audit row holds key material or a TSIG secret; `audit verify` passes;
#   - TSIG-signed AXFR out: with TSIG-ALLOW-AXFR the right key transfers the zone, a wrong
#     secret, a key the zone does not allow and no key at all (allow-axfr-ips does not match)
#     are refused;
#   - TSIG-signed AXFR in: mxguard's zone of kind slave with AXFR-MASTER-TSIG follows a primary
#     (pdns on gsqlite3) that refuses unsigned transfers.
# (Denial of existence in signed zones -- NSEC/NSEC3 -- is not checked here.)
#
# Ports: DNS 5306 (pdns on mxguard), 5307 (the gsqlite3 primary); API 8112.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init

PORT=5306
PRI_PORT=5307
API=8112
Z=example.com
SECRET_IN=c2VjcmV0LWZvci10aGUtaW5jb21pbmctdHJhbnNmZXI=

mxg_write_config "$IT_WORK/mxguard" "$PDNS_CONTROL --config-dir=$IT_WORK/pdns-remote"
echo "mail-ranges=192.0.2.0/24,198.51.100.0/24,203.0.113.0/24,2001:db8::/32" >>"$MXG_CONF"
mxg_import_zones "example.com=$IT_ZONES_DIR/example.com.zone" "example.net=$IT_ZONES_DIR/example.net.zone"
mxg_start
# Unsigned AXFR is allowed from nowhere this test runs from (127.0.0.2 only); caches that would
# hide a change for a while are off.
pdns_start --kind remote --port "$PORT" --api-port "$API" --name pdns-remote -- \
    --remote-dnssec=yes --dnssec-key-cache-ttl=0 --zone-metadata-cache-ttl=0 \
    --allow-axfr-ips=127.0.0.2/32 --secondary=yes --xfr-cycle-interval=1
REMOTE_DIR=$PDNS_DIR
# pdnsutil reads the same config dir: it needs remote-dnssec=yes too.
echo "remote-dnssec=yes" >>"$REMOTE_DIR/pdns.conf"

pu() { "$PDNSUTIL" --config-dir="$REMOTE_DIR" "$@" 2>&1; }
api() { curl -sS -m 10 -H 'X-API-Key: secret' "$@"; }
# api_status METHOD PATH [BODY] -- the HTTP status; the body lands in $IT_WORK/api.out.
api_status() {
    local body=()
    [ $# -lt 3 ] || body=(-H 'Content-Type: application/json' --data "$3")
    api -o "$IT_WORK/api.out" -w '%{http_code}' -X "$1" "${body[@]}" \
        "http://127.0.0.1:$API/api/v1/servers/localhost$2" || echo CURL-FAILED
}
# dnskeys ZONE -- "flags algorithm" of each DNSKEY dig gets, sorted.
dnskeys() { dig_at "$PORT" +noall +answer "$1" DNSKEY | awk '$4 == "DNSKEY" {print $5, $7}' | sort; }
# rrsig_of ZONE TYPE -- the type covered by each RRSIG in a +dnssec answer for TYPE.
rrsig_of() { dig_at "$PORT" +dnssec +noall +answer "$1" "$2" | awk '$4 == "RRSIG" {print $5}' | sort -u; }
# show_keys ZONE -- "id flags state published algo" per key of show-zone.
show_keys() {
    pu show-zone "$1" | sed -n 's/^ID = \([0-9]*\) ([A-Z]*), flags = \([0-9]*\),.*algo = \([0-9]*\),.*\t *\(Active\|Inactive\)\t *\(Published\|Unpublished\).*/\1 \2 \4 \5 \3/p'
}
audit_json() { mxg audit show --json; }
# audits_since SEQ -- the audit records after SEQ, one JSON object a line.
audits_since() { mxg audit export --after "$1"; }
audit_head() { mxg audit verify --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["head"].split(":")[0])'; }
# audit_keys SEQ -- "source zone action id-or-name" of each record after SEQ.
audit_keys() {
    audits_since "$1" | python3 -c 'import json, sys
for line in sys.stdin:
    r = json.loads(line)
    k = r.get("keys") or {}
    what = k.get("key", {}).get("id", k.get("tsig", {}).get("name", "-"))
    print(r["source"], r["zone"], k.get("action", "-"), what)'
}

# --- secure-zone, show-zone, DNSKEY with RRSIG ---------------------------------------------
assert_eq "" "$(dnskeys $Z)" "no DNSKEY before secure-zone"
assert_contains "$(pu show-zone $Z)" "Zone is not actively secured" "show-zone: not secured yet"
seq0=$(audit_head)
out=$(pu secure-zone $Z)
assert_contains "$out" "Zone $Z secured" "secure-zone"
keys=$(show_keys $Z)
assert_eq "1" "$(grep -c . <<<"$keys")" "show-zone lists one key"
assert_contains "$keys" "257 Active Published 13" "the key is an active, published ECDSA KSK/CSK"
KSK1=$(awk 'NR == 1 {print $1}' <<<"$keys")
assert_eq "257 13" "$(dnskeys $Z)" "dig: the DNSKEY RRset after secure-zone"
assert_eq "DNSKEY" "$(rrsig_of $Z DNSKEY)" "dig +dnssec DNSKEY: signed (RRSIG DNSKEY)"
assert_eq "SOA" "$(rrsig_of $Z SOA)" "dig +dnssec SOA: signed"
assert_eq "A" "$(rrsig_of www.$Z A)" "dig +dnssec www A: signed"
assert_eq "" "$(rrsig_of example.net SOA)" "example.net (no keys) stays unsigned"
assert_eq "dnssec $Z. add $KSK1" "$(audit_keys "$seq0")" "audit: secure-zone is one record (source dnssec, action add)"

# --- add-zone-key: KSK and ZSK, algorithms 13 and 8 ------------------------------------------
seq1=$(audit_head)
ZSK8=$(pu add-zone-key $Z zsk 2048 active rsasha256 | grep -E '^[0-9]+$' || true)
KSK13=$(pu add-zone-key $Z ksk inactive ecdsa256 | grep -E '^[0-9]+$' || true)
ZSK13=$(pu add-zone-key $Z zsk active unpublished ecdsa256 | grep -E '^[0-9]+$' || true)
[ -n "$ZSK8" ] && [ -n "$KSK13" ] && [ -n "$ZSK13" ] && it_pass "add-zone-key printed ids $ZSK8 $KSK13 $ZSK13" ||
    it_fail "add-zone-key did not print ids ('$ZSK8' '$KSK13' '$ZSK13')"
keys=$(show_keys $Z)
assert_contains "$keys" "$ZSK8 256 Active Published 8" "show-zone: the RSA ZSK, active"
assert_contains "$keys" "$KSK13 257 Inactive Published 13" "show-zone: the second KSK, inactive"
assert_contains "$keys" "$ZSK13 256 Active Unpublished 13" "show-zone: the unpublished ZSK"
assert_eq $'256 8\n257 13\n257 13' "$(dnskeys $Z)" "dig: DNSKEYs of the published keys only"
assert_eq "DNSKEY" "$(rrsig_of $Z DNSKEY)" "DNSKEY RRset still signed"
assert_eq "$(printf 'dnssec %s. add %s\n' $Z "$ZSK8" $Z "$KSK13" $Z "$ZSK13")" "$(audit_keys "$seq1")" \
    "audit: one add record per key"

# --- activate / deactivate / publish / unpublish / remove -------------------------------------
seq2=$(audit_head)
assert_ok "activate-zone-key" pu activate-zone-key $Z "$KSK13"
assert_contains "$(show_keys $Z)" "$KSK13 257 Active Published 13" "KSK now active"
assert_ok "unpublish-zone-key" pu unpublish-zone-key $Z "$ZSK8"
assert_contains "$(show_keys $Z)" "$ZSK8 256 Active Unpublished 8" "RSA ZSK unpublished"
assert_eq $'257 13\n257 13' "$(dnskeys $Z)" "dig: the unpublished ZSK left the DNSKEY RRset"
assert_ok "publish-zone-key" pu publish-zone-key $Z "$ZSK13"
assert_contains "$(show_keys $Z)" "$ZSK13 256 Active Published 13" "ECDSA ZSK published"
assert_ok "deactivate-zone-key" pu deactivate-zone-key $Z "$ZSK8"
assert_contains "$(show_keys $Z)" "$ZSK8 256 Inactive Unpublished 8" "RSA ZSK inactive"
assert_ok "remove-zone-key" pu remove-zone-key $Z "$ZSK8"
assert_not_contains "$(show_keys $Z)" "$ZSK8 256" "RSA ZSK removed"
assert_eq $'256 13\n257 13\n257 13' "$(dnskeys $Z)" "dig: DNSKEY RRset after the changes"
assert_eq "DNSKEY" "$(rrsig_of $Z DNSKEY)" "DNSKEY RRset still signed"
assert_eq "$(printf 'dnssec %s. %s %s\n' $Z activate "$KSK13" $Z unpublish "$ZSK8" $Z publish "$ZSK13" \
    $Z deactivate "$ZSK8" $Z remove "$ZSK8")" "$(audit_keys "$seq2")" "audit: one record per change"
assert_fails "remove-zone-key of a key that is gone fails" pu remove-zone-key $Z "$ZSK8"
assert_fails "activate-zone-key of an unknown id fails" pu activate-zone-key $Z 9999

# --- export-zone-dnskey, export-zone-ds ---------------------------------------------------------
out=$(pu export-zone-dnskey $Z "$KSK1")
pub=$(dig_at "$PORT" +noall +answer $Z DNSKEY | awk '$4 == "DNSKEY" && $5 == 257 {k = ""; for (i = 8; i <= NF; i++) k = k $i; print k}' | sort)
key=$(awk '/DNSKEY/ {k = ""; for (i = 8; i <= NF; i++) { if ($i == ";") break; k = k $i }; print k}' <<<"$out")
assert_contains "$out" "$Z IN DNSKEY 257 3 13" "export-zone-dnskey prints the KSK"
assert_contains "$pub" "$key" "the exported DNSKEY is the one dig gets"
ds=$(pu export-zone-ds $Z)
assert_contains "$ds" "$Z. IN DS" "export-zone-ds prints DS records"
tag=$(pu show-zone $Z | sed -n "s/^ID = $KSK1 .*tag = \([0-9]*\),.*/\1/p")
assert_contains "$ds" "IN DS $tag 13 2 " "export-zone-ds: SHA-256 DS of the first KSK (tag $tag)"

# --- import-zone-key: a key pdnsutil exported from a gsqlite3 database ---------------------------
GS="$IT_WORK/gsqlite3-keys"
mkdir -p "$GS"
sqlite3 "$GS/pdns.sqlite3" <"$PDNS_SQLITE_SCHEMA"
printf 'launch=gsqlite3\ngsqlite3-database=%s\ngsqlite3-dnssec=yes\n' "$GS/pdns.sqlite3" >"$GS/pdns.conf"
gs() { "$PDNSUTIL" --config-dir="$GS" "$@" 2>&1; }
gs create-zone $Z ns1.$Z >/dev/null
gs add-zone-key $Z zsk active ecdsa256 >/dev/null
gs_id=$(gs show-zone $Z | sed -n 's/^ID = \([0-9]*\) .*/\1/p' | head -n 1)
gs export-zone-key $Z "$gs_id" >"$IT_WORK/exported.key"
assert_contains "$(cat "$IT_WORK/exported.key")" "Algorithm: 13" "gsqlite3 pdnsutil exported its key"
seq3=$(audit_head)
IMP=$(pu import-zone-key $Z "$IT_WORK/exported.key" zsk active published | grep -E '^[0-9]+$' || true)
[ -n "$IMP" ] && it_pass "import-zone-key printed id $IMP" || it_fail "import-zone-key printed no id"
assert_contains "$(show_keys $Z)" "$IMP 256 Active Published 13" "show-zone lists the imported key"
gs_pub=$(gs export-zone-dnskey $Z "$gs_id" | awk '/DNSKEY/ {k = ""; for (i = 8; i <= NF; i++) { if ($i == ";") break; k = k $i }; print k}')
assert_contains "$(dig_at "$PORT" +noall +answer $Z DNSKEY | tr -d ' \t')" "$gs_pub" \
    "dig: the imported key's DNSKEY equals the gsqlite3 one"
assert_eq "dnssec $Z. add $IMP" "$(audit_keys "$seq3")" "audit: the import is an add record"
exported_priv=$(sed -n 's/^PrivateKey: //p' "$IT_WORK/exported.key")

# --- TSIG keys with pdnsutil ------------------------------------------------------------------
seq4=$(audit_head)
out=$(pu generate-tsig-key axfr-key hmac-sha256)
SECRET=$(sed -n 's/^Create new TSIG key axfr-key hmac-sha256 //p' <<<"$out")
assert_contains "$out" "axfr-key" "generate-tsig-key"
[ -n "$SECRET" ] && it_pass "generate-tsig-key printed a secret" || it_fail "no secret printed"
assert_ok "import-tsig-key" pu import-tsig-key other-key hmac-sha512 "$SECRET_IN"
assert_ok "import-tsig-key (the incoming transfer's key)" pu import-tsig-key xfr-in hmac-sha256 "$SECRET_IN"
out=$(pu list-tsig-keys)
assert_contains "$out" "axfr-key. hmac-sha256. $SECRET" "list-tsig-keys shows the generated key"
assert_contains "$out" "other-key. hmac-sha512. $SECRET_IN" "list-tsig-keys shows the imported key"
assert_ok "delete-tsig-key" pu delete-tsig-key other-key
assert_not_contains "$(pu list-tsig-keys)" "other-key" "deleted key gone"
assert_fails "import-tsig-key with an unknown algorithm fails" pu import-tsig-key bad-key hmac-sha3 "$SECRET_IN"
assert_not_contains "$(pu list-tsig-keys)" "bad-key" "nothing stored for it"
assert_ok "activate-tsig-key primary" pu activate-tsig-key $Z axfr-key primary
assert_contains "$(pu get-meta $Z TSIG-ALLOW-AXFR)" "axfr-key" "TSIG-ALLOW-AXFR set"
assert_ok "deactivate-tsig-key primary" pu deactivate-tsig-key $Z axfr-key primary
assert_not_contains "$(pu get-meta $Z TSIG-ALLOW-AXFR)" "axfr-key" "TSIG-ALLOW-AXFR cleared"
assert_eq "$(printf 'dnssec . tsig-add axfr-key.\ndnssec . tsig-add other-key.\ndnssec . tsig-add xfr-in.\ndnssec . tsig-delete other-key.\nmetadata %s. - -\nmetadata %s. - -' $Z $Z)" \
    "$(audit_keys "$seq4")" "audit: TSIG changes under zone \".\" (source dnssec), metadata as metadata"

# --- pdns's API: cryptokeys and tsigkeys ------------------------------------------------------
seq5=$(audit_head)
assert_eq 200 "$(api_status GET /zones/$Z/cryptokeys)" "API GET cryptokeys"
n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$IT_WORK/api.out")
assert_eq "$(show_keys $Z | grep -c .)" "$n" "API lists as many keys as show-zone"
assert_eq 201 "$(api_status POST /zones/$Z/cryptokeys '{"keytype":"zsk","active":false,"algorithm":"ECDSAP256SHA256"}')" "API POST cryptokey"
AK=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$IT_WORK/api.out")
assert_contains "$(show_keys $Z)" "$AK 256 Inactive Published 13" "the API's key in show-zone"
assert_eq 204 "$(api_status PUT /zones/$Z/cryptokeys/$AK '{"active":true}')" "API PUT cryptokey active"
assert_contains "$(show_keys $Z)" "$AK 256 Active Published 13" "API activated it"
assert_eq 204 "$(api_status PUT /zones/$Z/cryptokeys/$AK '{"active":true,"published":false}')" "API PUT cryptokey unpublished"
assert_contains "$(show_keys $Z)" "$AK 256 Active Unpublished 13" "API unpublished it"
assert_eq 200 "$(api_status GET /zones/$Z/cryptokeys/$AK)" "API GET one cryptokey"
assert_contains "$(cat "$IT_WORK/api.out")" '"privatekey"' "API GET of one key shows its private key (pdns's own view)"
assert_eq 204 "$(api_status DELETE /zones/$Z/cryptokeys/$AK)" "API DELETE cryptokey"
assert_not_contains "$(show_keys $Z)" "$AK 256" "API removed it"
assert_eq 404 "$(api_status GET /zones/$Z/cryptokeys/$AK)" "API GET of the removed key: 404"

assert_eq 200 "$(api_status GET /tsigkeys)" "API GET tsigkeys"
assert_contains "$(cat "$IT_WORK/api.out")" '"axfr-key."' "API lists axfr-key"
assert_eq 201 "$(api_status POST /tsigkeys '{"name":"api-key","algorithm":"hmac-sha256"}')" "API POST tsigkey (generated)"
api_secret=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' "$IT_WORK/api.out")
assert_contains "$(pu list-tsig-keys)" "api-key. hmac-sha256. $api_secret" "pdnsutil sees the API's key"
assert_eq 200 "$(api_status GET /tsigkeys/api-key.)" "API GET one tsigkey"
assert_eq 200 "$(api_status PUT /tsigkeys/api-key. '{"algorithm":"hmac-sha512"}')" "API PUT tsigkey algorithm"
assert_contains "$(pu list-tsig-keys)" "api-key. hmac-sha512. $api_secret" "algorithm changed, secret kept"
assert_eq 204 "$(api_status DELETE /tsigkeys/api-key.)" "API DELETE tsigkey"
assert_eq 404 "$(api_status GET /tsigkeys/api-key.)" "API GET of the deleted tsigkey: 404"
assert_eq "$(printf 'dnssec %s. add %s\ndnssec %s. activate %s\ndnssec %s. unpublish %s\ndnssec %s. remove %s\ndnssec . tsig-add api-key.\ndnssec . tsig-replace api-key.\ndnssec . tsig-delete api-key.' \
    $Z "$AK" $Z "$AK" $Z "$AK" $Z "$AK")" "$(audit_keys "$seq5")" "audit: the API's key changes"

# --- a zone deleted with its keys: the keys' removal audited too ------------------------------
assert_ok "zone add gone.example" mxg zone add gone.example --ns ns1.example.com
assert_contains "$(pu secure-zone gone.example)" "Zone gone.example secured" "secure-zone gone.example"
seq6=$(audit_head)
assert_ok "zone delete gone.example" mxg zone delete gone.example
assert_eq "$(printf 'cli gone.example. - -\ndnssec gone.example. zone-delete -')" "$(audit_keys "$seq6")" \
    "audit: the deletion, then its keys' removal (source dnssec)"
assert_eq 1 "$(audits_since "$seq6" | python3 -c 'import json, sys
for line in sys.stdin:
    k = json.loads(line).get("keys") or {}
    if k.get("action") == "zone-delete":
        print(len(k["keys"]))')" "the zone-delete record lists the zone's key"
assert_contains "$(mxg audit show --zone gone.example.)" "zone-delete key " "audit show prints the keys' removal"
assert_eq 0 "$(store_sql "select count(*) from cryptokeys c left join domains d on d.id = c.domain_id where d.id is null")" \
    "no key is left without its zone"

# --- the audit holds no key material -----------------------------------------------------------
out=$(audit_json)
assert_contains "$out" '"source":"dnssec"' "audit show --json: dnssec records"
recs=$(store_sql 'select record from mxg_audit')
assert_not_contains "$recs" "PrivateKey" "no audit row holds a private key"
assert_not_contains "$recs" "Private-key-format" "no audit row holds key content"
assert_not_contains "$recs" "$exported_priv" "no audit row holds the imported key's secret part"
assert_not_contains "$recs" "$SECRET" "no audit row holds the generated TSIG secret"
assert_not_contains "$recs" "$SECRET_IN" "no audit row holds the imported TSIG secret"
assert_not_contains "$recs" "$api_secret" "no audit row holds the API's TSIG secret"
assert_not_contains "$(cat "$MXG_LOG")" "$SECRET" "the daemon's log holds no TSIG secret"
assert_not_contains "$(cat "$MXG_LOG")" "PrivateKey" "the daemon's log holds no private key"
assert_ok "audit verify" mxg audit verify
assert_contains "$(mxg audit show --zone .)" "tsig-add axfr-key. (hmac-sha256)" "audit show --zone . lists the TSIG records"
assert_contains "$(mxg audit show --zone $Z)" "add key $KSK1 (KSK, algorithm 13, active, published)" \
    "audit show prints the key change"

# --- TSIG-signed AXFR out ---------------------------------------------------------------------
assert_ok "activate-tsig-key example.net axfr-key primary" pu activate-tsig-key example.net axfr-key primary
axfr_count() { dig_at "$PORT" "$@" example.net AXFR 2>&1 | awk '$4 == "SOA"' | wc -l; }
assert_eq 2 "$(axfr_count -y "hmac-sha256:axfr-key:$SECRET")" "AXFR with the right TSIG key: the zone (SOA twice)"
assert_eq 0 "$(axfr_count -y "hmac-sha256:axfr-key:$SECRET_IN")" "AXFR with a wrong secret: refused"
assert_eq 0 "$(axfr_count -y "hmac-sha256:xfr-in:$SECRET_IN")" "AXFR with a key the zone does not allow: refused"
assert_eq 0 "$(axfr_count)" "AXFR without a key (allow-axfr-ips does not match): refused"
assert_contains "$(cat "$REMOTE_DIR/pdns.log")" "TSIG signed request with authorized key 'axfr-key" \
    "pdns logs the TSIG-authorised transfer"
assert_ok "deactivate-tsig-key example.net axfr-key primary" pu deactivate-tsig-key example.net axfr-key primary
assert_eq 0 "$(axfr_count -y "hmac-sha256:axfr-key:$SECRET")" "after deactivate-tsig-key the key transfers nothing"

# --- TSIG-signed AXFR in: mxguard's slave zone follows a gsqlite3 primary ----------------------
PZ="$IT_WORK/primary-zone"
mkdir -p "$PZ"
cat >"$PZ/example.org.zone" <<'EOF'
$ORIGIN example.org.
$TTL 3600
@ IN SOA ns1.example.org. hostmaster.example.org. 2024030101 3600 600 604800 300
@ IN NS ns1.example.org.
@ IN A 192.0.2.80
@ IN MX 10 mail.example.org.
ns1 IN A 192.0.2.53
mail IN A 192.0.2.25
www IN A 192.0.2.80
EOF
pdns_start --kind gsqlite3 --port "$PRI_PORT" --name primary --zone "example.org=$PZ/example.org.zone" -- \
    --gsqlite3-dnssec=yes --allow-axfr-ips=127.0.0.2/32
PRI_DIR=$PDNS_DIR
PDNS_DIR=$REMOTE_DIR
echo "gsqlite3-dnssec=yes" >>"$PRI_DIR/pdns.conf"
"$PDNSUTIL" --config-dir="$PRI_DIR" import-tsig-key xfr-in hmac-sha256 "$SECRET_IN" >/dev/null 2>&1
"$PDNSUTIL" --config-dir="$PRI_DIR" activate-tsig-key example.org xfr-in primary >/dev/null 2>&1
assert_eq 0 "$(dig_at "$PRI_PORT" example.org AXFR 2>&1 | awk '$4 == "SOA"' | wc -l)" "the primary refuses unsigned AXFR"
assert_ok "zone add example.org --kind slave" mxg zone add example.org --kind slave --primary "127.0.0.1:$PRI_PORT" --ns ns1.example.org
assert_ok "activate-tsig-key example.org xfr-in secondary" pu activate-tsig-key example.org xfr-in secondary
assert_contains "$(pu get-meta example.org AXFR-MASTER-TSIG)" "xfr-in" "AXFR-MASTER-TSIG set"
sec_serial() { { dig_at "$PORT" +short example.org SOA 2>/dev/null || true; } | awk 'NF == 7 {print $3}'; }
for ((i = 0; i < 150; i++)); do [ "$(sec_serial)" = 2024030101 ] && break; sleep 0.1; done
assert_eq 2024030101 "$(sec_serial)" "the slave zone transferred with TSIG (serial 2024030101)"
assert_answer "$PORT" mail.example.org A 192.0.2.25
assert_contains "$(cat "$PRI_DIR/pdns.log")" "authorized key 'xfr-in" "the primary logs the TSIG-signed transfer"
assert_eq 7 "$(store_sql "select count(*) from records r join domains d on d.id = r.domain_id where d.name = 'example.org' and r.type is not null and r.type != ''")" \
    "the store holds the primary's 7 records"

assert_ok "audit verify at the end" mxg audit verify
assert_eq ok "$(store_sql 'PRAGMA integrity_check')" "store integrity_check"
it_finish
