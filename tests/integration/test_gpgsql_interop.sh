#!/usr/bin/env bash
# tests/integration/test_gpgsql_interop.sh -- mxguard and pdns's own gpgsql backend on one
# PostgreSQL database. A database made by pdns's tools (pdnsutil create-zone, load-zone and
# rectify-zone through gpgsql) is served by mxguard as it is; after writes through mxguard (API,
# DNS UPDATE, a guard fix) pdns on gpgsql answers every query as pdns on mxguard does, and
# `pdnsutil check-all-zones` through gpgsql finds nothing to complain about.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init
. "$IT_LIB_DIR/guard_lib.sh"

REF_PORT=5318
CAND_PORT=5319
API_PORT=8110
mapfile -t ZONES < <(it_default_zones)
zargs=()
for z in "${ZONES[@]}"; do zargs+=(--zone "$z"); done

# difftest_all LABEL [ZONE=FILE]... -- every difftest query, pdns+gpgsql vs pdns+mxguard.
difftest_all() {
    local label=$1 out="$IT_WORK/difftest.$2.out"
    shift 2
    local dargs=() z
    for z in "$@"; do dargs+=(--zone "$z"); done
    if python3 "$IT_LIB_DIR/difftest.py" --ref-port "$REF_PORT" --cand-port "$CAND_PORT" \
        --ref-label gpgsql --cand-label mxguard "${dargs[@]}" >"$out" 2>&1; then
        it_pass "$label ($(tail -n 1 "$out"))"
    else
        it_fail "$label: difftest found differences"
        tail -n 60 "$out"
    fi
}

# pdns made the database: its schema, and the zones loaded through gpgsql.
pg_database gpgsql
pdns_start --kind gpgsql --port "$REF_PORT" "${zargs[@]}"
GPGSQL_DIR=$PDNS_DIR
pg() { bash "$IT_REPO_ROOT/tests/pg.sh" psql "$PG_STATE" "$PG_DB" -A -t -c "$1"; }
records_before=$(pg 'SELECT count(*) FROM records')

# mxguard serves that database as it is.
mxg_write_config "$IT_WORK/mxguard"
mxg_set_store "$PG_URI" "mode=fix"
mxg_start
pdns_start --kind remote --port "$CAND_PORT" --api-port "$API_PORT" --name pdns-remote

zl=$(mxg zone list)
for z in "${ZONES[@]}"; do
    assert_contains "$zl" "${z%%=*}" "mxguard lists ${z%%=*} from the database pdns made"
done
assert_eq "$(pg "SELECT to_regclass('mxg_names') IS NOT NULL")" "t" "mxguard added its own tables beside pdns's"
assert_eq "$(pg 'SELECT count(*) FROM records')" "$records_before" "pdns's records are untouched"
difftest_all "pdns on gpgsql and pdns on mxguard answer alike on the database pdns made" made "${ZONES[@]}"

# Writes through mxguard: a PATCH, a DNS UPDATE, and a PATCH the guard fixes.
api_patch() {
    curl -sS -m 20 -o "$IT_WORK/api.out" -w '%{http_code}' -X PATCH -H 'X-API-Key: secret' \
        -H 'Content-Type: application/json' --data "$2" \
        "http://127.0.0.1:$API_PORT/api/v1/servers/localhost/zones/$1"
}
code=$(api_patch example.net. '{"rrsets":[
  {"name":"shop.example.net.","type":"A","ttl":600,"changetype":"REPLACE",
   "records":[{"content":"198.51.100.80","disabled":false},{"content":"198.51.100.81","disabled":false}]},
  {"name":"shop.example.net.","type":"TXT","ttl":600,"changetype":"REPLACE",
   "records":[{"content":"\"interop\"","disabled":false}]}]}')
assert_eq "$code" 204 "PATCH through mxguard adds shop.example.net"
nsupdate -p "$CAND_PORT" >"$IT_WORK/nsupdate.out" 2>&1 <<EOF || true
server 127.0.0.1 $CAND_PORT
zone example.net
update add upd.example.net. 300 IN TXT "dns update"
update add upd.example.net. 300 IN AAAA 2001:db8::53
send
EOF
assert_eq "$(dig_short "$CAND_PORT" upd.example.net AAAA)" "2001:db8::53" "DNS UPDATE through mxguard committed"
# example.com's MX names the apex: repointing the apex makes the guard add a mail host.
code=$(api_patch example.com. '{"rrsets":[
  {"name":"example.com.","type":"A","ttl":3600,"changetype":"REPLACE",
   "records":[{"content":"203.0.113.200","disabled":false}]}]}')
assert_eq "$code" 204 "the apex repoint is accepted (mode=fix)"
mx=$(dig_short "$CAND_PORT" example.com MX)
assert_ne "$mx" "10 example.com." "the guard repointed example.com's MX ($mx)"
assert_eq "$(dig_short "$REF_PORT" example.com MX)" "$mx" "pdns on gpgsql answers the fixed MX"

# Every zone as it now is, from AXFR, queried on both.
now=()
for z in "${ZONES[@]}"; do
    zone=${z%%=*}
    dig_at "$CAND_PORT" AXFR "$zone" +nocmd +nostats +nocomments >"$IT_WORK/$zone.axfr" ||
        it_die "AXFR of $zone failed"
    awk '$4 != "SOA" || !seen++' "$IT_WORK/$zone.axfr" >"$IT_WORK/$zone.now"
    now+=("$zone=$IT_WORK/$zone.now")
done
difftest_all "after mxguard's writes, pdns on gpgsql answers as pdns on mxguard" written "${now[@]}"

# pdns's tools are content with what mxguard wrote.
if "$PDNSUTIL" --config-dir="$GPGSQL_DIR" check-all-zones >"$IT_WORK/check.out" 2>&1; then
    it_pass "pdnsutil check-all-zones through gpgsql: $(tail -n 1 "$IT_WORK/check.out")"
else
    it_fail "pdnsutil check-all-zones through gpgsql"
    tail -n 20 "$IT_WORK/check.out"
fi
# And rectifying through gpgsql (as a move back to gpgsql does) changes no answer of mxguard's.
"$PDNSUTIL" --config-dir="$GPGSQL_DIR" rectify-all-zones >>"$IT_WORK/check.out" 2>&1 ||
    it_fail "pdnsutil rectify-all-zones through gpgsql"
difftest_all "after rectify-all-zones through gpgsql, both still answer alike" rectified "${now[@]}"
assert_ok "audit verify" mxg audit verify

it_finish
