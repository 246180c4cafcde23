#!/usr/bin/env bash
# tests/integration/test_external_writes.sh -- panels that write the SQL store directly
# (PRODUCT.md §4 "Out-of-band writes"). Writes made beside pdns and mxguard -- the sqlite3 shell
# or psql, and pdnsutil on pdns's own gsqlite3/gpgsql backend pointed at mxguard's store -- are
# audited as source external with their before and after, judged, and in fix mode repaired:
#   - reject mode: an UPDATE of an apex A that the MX names, an INSERT of a second apex A, a
#     DELETE of a mail host's A: each audited within 2 s, verdict warn with its finding, logged
#     at error level and counted (stats, the front's /metrics);
#   - pdnsutil replace-rrset on pdns's own gsqlite3/gpgsql backend of the apex A: the same;
#   - fix mode: the apex UPDATE, a second apex A, the mail host's A deleted and pdnsutil
#     replace-rrset each repaired by a transaction of
#     mxguard's own (source fix, "repairs" naming the external record): dig shows the MX on a
#     mail host at the old address;
#   - a TXT added and a TTL changed: audited, allowed; a PATCH through pdns is source api, never
#     external;
#   - mxguard stopped, a write made, mxguard started: audited at start; two commits made then
#     on one zone: one record each;
#   - 10,000 records written in one SQL transaction: audited, pdns answering meanwhile;
#   - audit verify throughout.
# Runs on SQLite, and on PostgreSQL in run-all.sh's PostgreSQL pass.
#
# Ports: DNS 5322, API 8111, front 8113.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guard_lib.sh"
mxg_require
it_init

PORT=5322
G_API=8111
OLD=192.0.2.10
NEW=203.0.113.80

std() { printf '@ IN A %s\n@ IN MX 10 @\nwww IN A 192.0.2.20\n' "$OLD"; }
for z in e1 e2 e3 e5 e7 e8 e10; do std | g_zone "$z.example"; done
for z in e4 e9; do
    printf '@ IN A %s\n@ IN MX 10 mail\nmail IN A 192.0.2.25\nwww IN A %s\n' "$OLD" "$OLD" | g_zone "$z.example"
done
printf '@ IN A %s\n@ IN TXT "hello"\nwww IN A 192.0.2.20\n' "$OLD" | g_zone e6.example
printf '@ IN A %s\n' "$OLD" | g_zone bulk.example

FRONT=8113
mxg_write_config "$IT_WORK/mxguard"
{
    echo "mode=reject"
    echo "api-listen=127.0.0.1:$FRONT"
    echo "operator-key=operator-key-1"
    echo "pdns-api-url=http://127.0.0.1:$G_API"
    echo "pdns-api-key=secret"
} >>"$MXG_CONF"
mapfile -t zones < <(g_zone_list)
mxg_import_zones "${zones[@]}"
mxg_start
pdns_start --kind remote --port "$PORT" --api-port "$G_API" --name pdns-remote

# pdns with its own generic-SQL backend on mxguard's store, for pdnsutil.
SQLPDNS=$IT_WORK/pdns-sql
mkdir -p "$SQLPDNS"
if [ -n "${MXG_TEST_PG_STATE:-}" ]; then
    printf 'launch=gpgsql\ngpgsql-host=%s\ngpgsql-dbname=%s\ngpgsql-user=%s\n' \
        "$(bash "$IT_REPO_ROOT/tests/pg.sh" host "$MXG_TEST_PG_STATE")" "$MXG_PG_DB" \
        "$(bash "$IT_REPO_ROOT/tests/pg.sh" user "$MXG_TEST_PG_STATE")" >"$SQLPDNS/pdns.conf"
else
    printf 'launch=gsqlite3\ngsqlite3-database=%s\n' "$MXG_STORE" >"$SQLPDNS/pdns.conf"
fi
sqlpdnsutil() { "$PDNSUTIL" --config-dir="$SQLPDNS" "$@"; }

Z() { printf "(SELECT id FROM domains WHERE name = '%s')" "$1"; }

# wait_external ZONE [SECONDS] -- wait for a new audit record of ZONE (source external) after
# G_MARK; sets WAITED to the seconds it took.
wait_external() {
    local zone=$1 limit=$((${2:-2} * IT_SLOW)) t0 now
    t0=$(date +%s%N)
    while :; do
        if mxg audit export --after "$G_MARK" | grep -q "\"source\":\"external\".*\"zone\":\"$zone.\"\|\"zone\":\"$zone.\".*\"source\":\"external\""; then
            WAITED=$(awk -v ns=$(($(date +%s%N) - t0)) 'BEGIN { printf "%.2f", ns / 1e9 }')
            return 0
        fi
        now=$(date +%s%N)
        [ $(((now - t0) / 1000000000)) -lt "$limit" ] || break
        sleep 0.05
    done
    WAITED=timeout
    return 1
}

# external LABEL ZONE SQL -- run SQL as another writer; the record must come within 2 s.
external() {
    g_mark
    g_sql "$3" >/dev/null
    if wait_external "$2"; then it_pass "$1: audited as external within ${WAITED} s"; else
        it_fail "$1: no external audit record of $2 within $((2 * IT_SLOW)) s"; fi
}
stat_of() { mxg stats --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["external"][sys.argv[1]])' "$1"; }

# ============================================================== reject mode ==
it_log "--- mode reject: moves are audited (warn), logged and counted"
errs0=$(grep -c 'out-of-band write to' "$MXG_LOG" || true)
external "UPDATE of the apex A" e1.example \
    "UPDATE records SET content = '$NEW' WHERE domain_id = $(Z e1.example) AND name = 'e1.example' AND type = 'A'"
g_audit "apex UPDATE" e1.example external warn mail-moved
g_last e1.example
assert_eq "e1.example A $OLD -> $NEW" "$(rq '"%s %s %s -> %s" % (canon(r["changes"][0]["name"]), r["changes"][0]["type"], r["changes"][0]["before"][0]["content"], r["changes"][0]["after"][0]["content"])')" \
    "apex UPDATE: the record's before and after"
assert_eq "$NEW" "$(dig_short "$PORT" e1.example A)" "apex UPDATE: pdns answers what the writer wrote"

external "INSERT of a second apex A" e3.example \
    "INSERT INTO records (domain_id, name, type, content, ttl) VALUES ($(Z e3.example), 'e3.example', 'A', '$NEW', 3600)"
g_audit "second apex A" e3.example external warn mail-moved
g_last e3.example
assert_eq "$OLD | $OLD $NEW" "$(rq '" ".join(sorted(d["content"] for d in r["changes"][0]["before"])) + " | " + " ".join(sorted(d["content"] for d in r["changes"][0]["after"]))')" \
    "second apex A: before one address, after both"

external "DELETE of the mail host's A" e4.example \
    "DELETE FROM records WHERE domain_id = $(Z e4.example) AND name = 'mail.e4.example' AND type = 'A'"
g_last e4.example
assert_eq "external warn" "$(rq 'r["source"] + " " + r["verdict"]')" "mail host's A deleted: verdict warn"
assert_ne "0" "$(rq 'len(r["findings"])')" "mail host's A deleted: with findings ($(rq '",".join(f["rule"] for f in r["findings"])'))"

g_mark
sqlpdnsutil replace-rrset e10.example @ A 3600 "$NEW" >"$IT_WORK/pu.out" 2>&1 ||
    it_fail "pdnsutil on pdns's own SQL backend: $(cat "$IT_WORK/pu.out")"
if wait_external e10.example; then it_pass "pdnsutil replace-rrset: audited as external within ${WAITED} s"; else
    it_fail "pdnsutil replace-rrset: not audited"; fi
g_audit "pdnsutil apex move" e10.example external warn mail-moved

errs=$(grep -c 'out-of-band write to' "$MXG_LOG" || true)
assert_eq 4 "$((errs - errs0))" "each move logged at error level"
assert_contains "$(grep 'out-of-band write to e1.example' "$MXG_LOG" | head -n 1)" "[error]" "the log line is an error"
assert_eq 4 "$(stat_of moves)" "stats: external.moves counts the four"
assert_ok "audit verify (reject mode)" mxg audit verify
assert_eq 0 "$(stat_of fixed)" "stats: nothing repaired in reject mode"
metrics=$(curl -sS -m 10 -H 'X-API-Key: operator-key-1' "http://127.0.0.1:$FRONT/metrics" || true)
assert_contains "$metrics" "mxguard_external_moves_total 4" "/metrics: mxguard_external_moves_total"
assert_contains "$metrics" "mxguard_external_changes_total 4" "/metrics: mxguard_external_changes_total"

# ============================================================= harmless ==
it_log "--- harmless writes, and mxguard's own"
external "a TXT added and a TTL changed" e6.example \
    "INSERT INTO records (domain_id, name, type, content, ttl) VALUES ($(Z e6.example), 'e6.example', 'TXT', '\"v=spf1 -all\"', 300);
     UPDATE records SET ttl = 600 WHERE domain_id = $(Z e6.example) AND name = 'www.e6.example'"
g_audit "harmless" e6.example external allow nofindings
g_last e6.example
assert_eq 2 "$(rq 'len(r["changes"])')" "harmless: both changes in one record"
g_mark
assert_eq 204 "$(g_patch e6.example "$(body "$(rr e6.example. TXT 300 '"via api"')")")" "a PATCH through pdns"
g_audit "PATCH" e6.example api allow
sleep 0.6
assert_eq 0 "$(mxg audit export --after "$G_MARK" | grep -c '"source":"external"' || true)" \
    "mxguard's own commit never shows up as external"

# ================================================================= fix mode ==
it_log "--- mode fix: moves repaired by mxguard's own transaction"
g_set mode=fix
external "UPDATE of the apex A (fix)" e2.example \
    "UPDATE records SET content = '$NEW' WHERE domain_id = $(Z e2.example) AND name = 'e2.example' AND type = 'A'"
sleep 0.3
g_last e2.example
assert_eq "fix fix" "$(rq 'r["source"] + " " + r["verdict"]')" "fix: the newest record is the repair"
ext_seq=$(mxg audit export --after "$G_MARK" | python3 -c 'import json, sys
print([r["seq"] for r in map(json.loads, sys.stdin) if r["source"] == "external"][0])')
assert_eq "$ext_seq" "$(rq 'r["repairs"]')" "fix: its repairs names the external record"
mx=$(dig_short "$PORT" e2.example MX)
assert_ne "10 e2.example." "$mx" "fix: the MX moved off the apex ($mx)"
assert_eq "$OLD" "$(dig_short "$PORT" "${mx#* }" A)" "fix: the MX's host answers the old address"
assert_eq "$NEW" "$(dig_short "$PORT" e2.example A)" "fix: the apex keeps the writer's address"

g_mark
sqlpdnsutil replace-rrset e5.example @ A 3600 "$NEW" >"$IT_WORK/pu.out" 2>&1 ||
    it_fail "pdnsutil on pdns's own SQL backend: $(cat "$IT_WORK/pu.out")"
if wait_external e5.example; then it_pass "pdnsutil on gsqlite3/gpgsql: audited as external within ${WAITED} s"; else
    it_fail "pdnsutil on gsqlite3/gpgsql: not audited"; fi
sleep 0.3
g_last e5.example
assert_eq "fix fix" "$(rq 'r["source"] + " " + r["verdict"]')" "pdnsutil's apex move repaired"
mx=$(dig_short "$PORT" e5.example MX)
assert_eq "$OLD" "$(dig_short "$PORT" "${mx#* }" A)" "pdnsutil: the MX's host answers the old address ($mx)"

external "INSERT of a second apex A (fix)" e8.example \
    "INSERT INTO records (domain_id, name, type, content, ttl) VALUES ($(Z e8.example), 'e8.example', 'A', '$NEW', 3600)"
sleep 0.3
g_last e8.example
assert_eq "fix fix" "$(rq 'r["source"] + " " + r["verdict"]')" "second apex A repaired"
mx=$(dig_short "$PORT" e8.example MX)
assert_eq "$OLD" "$(dig_short "$PORT" "${mx#* }" A)" "second apex A: the MX's host answers the old address only ($mx)"

external "DELETE of the mail host's A (fix)" e9.example \
    "DELETE FROM records WHERE domain_id = $(Z e9.example) AND name = 'mail.e9.example' AND type = 'A'"
sleep 0.3
g_last e9.example
mx=$(dig_short "$PORT" e9.example MX)
assert_eq "fix fix" "$(rq 'r["source"] + " " + r["verdict"]')" "mail host's A deleted: repaired"
assert_eq "192.0.2.25" "$(dig_short "$PORT" "${mx#* }" A)" "mail host's A deleted: the MX's host answers the old address again ($mx)"
assert_eq 4 "$(stat_of fixed)" "stats: four repaired"
assert_ok "audit verify (fix mode)" mxg audit verify

# ============================================================ while stopped ==
it_log "--- a write made while mxguard is stopped"
mxg_stop
g_sql "UPDATE records SET content = '$NEW' WHERE domain_id = $(Z e7.example) AND name = 'e7.example' AND type = 'A'" >/dev/null
g_mark
# Two more commits on another zone, apart (SQLite tells commits apart by second, PostgreSQL by
# transaction): one record each, the second starting from what the first left.
g_sql "INSERT INTO records (domain_id, name, type, content, ttl) VALUES ($(Z e6.example), 'note.e6.example', 'TXT', '\"first\"', 300)" >/dev/null
sleep 1.1
g_sql "UPDATE records SET content = '\"second\"' WHERE domain_id = $(Z e6.example) AND name = 'note.e6.example'" >/dev/null
rm -f "$MXG_SOCK" "$MXG_CTL_SOCK"
MXG_PID=""
mxg_start
if wait_external e7.example 5; then it_pass "the write made while stopped is audited at start"; else
    it_fail "the write made while stopped is not audited"; fi
sleep 0.3
g_last e7.example
assert_eq "fix" "$(rq 'r["source"]')" "and repaired (fix mode)"
assert_eq "- > first | first > second" "$(mxg audit export --after "$G_MARK" | python3 -c 'import json, sys
def c(side): return ",".join(d["content"].strip(chr(34)) for d in side) or "-"
print(" | ".join(c(r["changes"][0]["before"]) + " > " + c(r["changes"][0]["after"])
                 for r in map(json.loads, sys.stdin) if r["zone"] == "e6.example." and r["source"] == "external"))')" \
    "two commits made while stopped: one record each"

# pdns finds its connections to the stopped daemon gone at their next use: let every one of
# them (one per pdns thread) reconnect before the measured part.
for ((i = 0; i < 12; i++)); do dig_rcode "$PORT" www.e6.example A >/dev/null; done

# ===================================================================== bulk ==
it_log "--- 10,000 records in one SQL transaction"
g_mark
# Its own source address: the loop's digs run beside this script's (lib.sh, DIG_SOURCE).
(DIG_SOURCE=127.0.0.2; for ((i = 0; i < 40; i++)); do dig_rcode "$PORT" www.e6.example A; sleep 0.05; done) \
    >"$IT_WORK/during.txt" &
dpid=$!
t0=$(date +%s%N)
g_sql "INSERT INTO records (domain_id, name, type, content, ttl)
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
       SELECT $(Z bulk.example), 'h' || i || '.bulk.example', 'TXT', '\"' || i || '\"', 60 FROM n" >/dev/null
# On PostgreSQL the guard's reads are round trips to the server, some per touched name: the
# 10,000 names take tens of seconds there (docs/performance.md), a few on SQLite.
limit=20
[ -z "${MXG_TEST_PG_STATE:-}" ] || limit=240
if wait_external bulk.example "$limit"; then it_pass "bulk: audited within ${WAITED} s"; else it_fail "bulk: not audited within $((limit * IT_SLOW)) s"; fi
wait "$dpid"
it_log "bulk: $(( ($(date +%s%N) - t0) / 1000000 )) ms from the write to its record"
assert_eq 40 "$(grep -c NOERROR "$IT_WORK/during.txt" || true)" "bulk: pdns answered every query meanwhile"
assert_eq 10000 "$(mxg audit export --after "$G_MARK" | python3 -c 'import json, sys
print(sum(len(r["changes"]) for r in map(json.loads, sys.stdin) if r["zone"] == "bulk.example."))')" \
    "bulk: the 10,000 RRsets in the audit"
assert_eq '"7777"' "$(dig_short "$PORT" h7777.bulk.example TXT)" "bulk: pdns answers a new name"

assert_ok "audit verify" mxg audit verify
assert_eq 0 "$(g_sql 'SELECT count(*) FROM mxg_changes')" "the change log is trimmed once audited"
it_finish
