#!/usr/bin/env bash
# tests/integration/test_guard_audit.sh -- the tamper-evident audit log (PRODUCT.md §5):
#   - a series of decisions (imports, refused, allowed, metadata, fixed): `audit verify` passes;
#     the chain holds (seq 1.., prev = previous hash, 64 zeros for seq 1) and every hash
#     recomputes independently (SHA-256 of the canonical JSON without "hash");
#   - the head from `audit verify --json` equals the daemon's last "audit head" log line;
#   - `audit export --after N` prints exactly the records after N; show --zone/--verdict filter;
#   - with the daemon stopped: a record edited, a row deleted, two rows' texts swapped -> verify
#     exits 1 naming the record; the newest two records cut off -> plain verify passes but
#     --expect-head with the old head fails;
#   - each column stored beside the record (seq, time, zone, verdict, hash) edited on one row ->
#     verify exits 1 naming that row, and show/export (with their filters) print what they
#     printed before; the newest row's hash column edited, then one more change -> that change's
#     record chains to the newest record as written, and only the edited row is bad;
#   - restored, restarted: the chain continues;
#   - a poisoned DNS UPDATE (a write pdns passes on but mxguard refuses: a TTL above 2^31-1,
#     which pdns hands over as a negative number) -> SERVFAIL, nothing applied, exactly one audit
#     record: verdict reject, source dnsupdate, the one finding invalid-record naming the refused
#     write, the valid write of the same update in its changes.
#
# Ports: DNS 5374, API 8087.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guard_lib.sh"
mxg_require
it_init

PORT=5374
G_API=8087
OLD=192.0.2.10
NEW=203.0.113.80

for z in a1 a2; do printf '@ IN A %s\n@ IN MX 10 @\nwww IN A 192.0.2.20\n' "$OLD" | g_zone "$z.example"; done
mxg_write_config "$IT_WORK/mxguard"
echo "mode=reject" >>"$MXG_CONF"
mxg_import_zones "a1.example=$IT_WORK/zones/a1.example.zone" "a2.example=$IT_WORK/zones/a2.example.zone"
mxg_start
pdns_start --kind remote --port "$PORT" --api-port "$G_API" --name pdns-guard
apexA() { rr "$1." A 3600 "$2"; }

# --- a series of decisions ----------------------------------------------------------------------
codes=""
codes+=" $(g_patch a1.example "$(body "$(apexA a1.example $NEW)")")"                      # 3 reject
codes+=" $(g_patch a1.example "$(body "$(rr www.a1.example. A 3600 192.0.2.21)")")"       # 4 allow
codes+=" $(g_patch a2.example "$(body "$(apexA a2.example $NEW)")")"                      # 5 reject
"$PDNSUTIL" --config-dir="$PDNS_DIR" set-meta a2.example X-MXGUARD-MODE fix >/dev/null 2>&1 # 6 metadata
codes+=" $(g_patch a2.example "$(body "$(apexA a2.example $NEW)")")"                      # 7 fix
codes+=" $(g_patch a1.example "$(body "$(rr t1.a1.example. TXT 300 '"one"')")")"          # 8 allow
codes+=" $(g_patch a1.example "$(body "$(rr t2.a1.example. TXT 300 '"two"')")")"          # 9 allow
assert_eq " 500 204 500 204 204 204" "$codes" "the series: HTTP statuses"

mxg audit export >"$IT_WORK/export.jsonl"
summary=$(python3 -c 'import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l); print(r["seq"], r["zone"].rstrip("."), r["source"], r["verdict"])' "$IT_WORK/export.jsonl")
assert_eq "1 a1.example cli allow
2 a2.example cli allow
3 a1.example api reject
4 a1.example api allow
5 a2.example api reject
6 a2.example metadata allow
7 a2.example api fix
8 a1.example api allow
9 a1.example api allow" "$summary" "audit: one record per transaction, in order (seq zone source verdict)"

# --- verify, head, chain, hashes -----------------------------------------------------------------
assert_ok "audit verify passes" mxg audit verify
vj=$(mxg audit verify --json)
HEAD=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["head"])' "$vj")
loghead=$(grep -o 'audit head [0-9]*:[0-9a-f]*' "$MXG_LOG" | tail -n 1 | awk '{print $3}')
assert_eq "$loghead" "$HEAD" "verify --json head equals the daemon's last 'audit head' log line"
assert_eq 9 "${HEAD%%:*}" "head is seq 9"
store_json 'SELECT seq, zone, verdict, record, hash FROM mxg_audit ORDER BY seq' >"$IT_WORK/rows.json"
python3 - "$IT_WORK/export.jsonl" "$IT_WORK/rows.json" >"$IT_WORK/chain.txt" <<'PY'
import hashlib, json, re, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rows = json.load(open(sys.argv[2]))
keys = {"seq", "time", "zone", "source", "mode", "verdict", "findings", "changes", "fix", "prev", "hash"}
bad = []
prev = "0" * 64
for i, r in enumerate(recs, 1):
    if r["seq"] != i: bad.append(f"seq {r['seq']} at position {i}")
    if r["prev"] != prev: bad.append(f"{i}: prev {r['prev'][:12]} != previous hash {prev[:12]}")
    body = {k: v for k, v in r.items() if k != "hash"}
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    h = hashlib.sha256(canon.encode("utf-8")).hexdigest()
    if h != r["hash"]: bad.append(f"{i}: recomputed hash {h[:12]} != {r['hash'][:12]}")
    if not keys <= set(r): bad.append(f"{i}: missing keys {sorted(keys - set(r))}")
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["time"]): bad.append(f"{i}: time {r['time']}")
    if r["zone"] != r["zone"].lower(): bad.append(f"{i}: zone not lowercase")
    row = rows[i - 1]
    if row["seq"] != i or row["hash"] != r["hash"] or json.loads(row["record"]) != r or row["verdict"] != r["verdict"]:
        bad.append(f"{i}: mxg_audit row differs from the exported record")
    prev = r["hash"]
print("RECORDS", len(recs), "ROWS", len(rows))
print("BAD", len(bad), "; ".join(bad[:6]))
print("HEAD", f"{recs[-1]['seq']}:{recs[-1]['hash']}" if recs else "-")
PY
sed 's/^/    /' "$IT_WORK/chain.txt"
assert_eq "RECORDS 9 ROWS 9" "$(grep '^RECORDS' "$IT_WORK/chain.txt")" "export and table hold the 9 records"
assert_eq "BAD 0" "$(grep '^BAD' "$IT_WORK/chain.txt" | cut -d' ' -f1,2)" \
    "chain: seq 1.., prev = previous hash (zeros for seq 1), every hash recomputed in python, rows = export"
assert_eq "HEAD $HEAD" "$(grep '^HEAD' "$IT_WORK/chain.txt")" "verify's head is the newest record's seq:hash"
H7=$(python3 -c 'import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["seq"] == 7: print("7:" + r["hash"])' "$IT_WORK/export.jsonl")

# --- export --after, show filters ------------------------------------------------------------
assert_eq "4 5 6 7 8 9" "$(mxg audit export --after 3 | python3 -c 'import json, sys
print(" ".join(str(json.loads(l)["seq"]) for l in sys.stdin))')" "export --after 3: exactly records 4..9, one JSON object a line"
assert_eq "" "$(mxg audit export --after 9)" "export --after 9: nothing"
assert_eq "3 5" "$(mxg audit show --verdict reject --json | python3 -c 'import json, sys
print(" ".join(str(json.loads(l)["seq"]) for l in sys.stdin))')" "show --verdict reject --json"
assert_eq "2 5 6 7" "$(mxg audit show --zone a2.example --json | python3 -c 'import json, sys
print(" ".join(str(json.loads(l)["seq"]) for l in sys.stdin))')" "show --zone a2.example --json"
assert_ok "verify --expect-head with the current head" mxg audit verify --expect-head "$HEAD"

# --- tampering, with the daemon stopped -----------------------------------------------------------
mxg_stop
store_snapshot
restore() { store_restore; }
# verify_broken LABEL WANT_SEQ -- verify must exit 1; first_bad (--json) and the text name WANT_SEQ.
verify_broken() {
    local out rc=0 js fb
    out=$(mxg audit verify 2>&1) || rc=$?
    js=$(mxg audit verify --json 2>/dev/null || true)
    fb=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1]).get("first_bad"))' "$js" 2>/dev/null || echo "?")
    assert_eq 1 "$rc" "$1: verify exits 1"
    assert_eq "$2" "$fb" "$1: verify --json first_bad"
    assert_contains "$out" "record $2" "$1: verify names record $2 ($out)"
}
assert_ok "stopped daemon: verify passes on the copy" mxg audit verify

assert_contains "$(store_sql 'SELECT record FROM mxg_audit WHERE seq=3')" '"verdict":"reject"' "record 3 is the first refusal"
store_sql "UPDATE mxg_audit SET record=replace(record,'reject','allow') WHERE seq=3"
verify_broken "record 3 edited" 3
restore
assert_ok "restored: verify passes" mxg audit verify

store_sql "DELETE FROM mxg_audit WHERE seq=4"
verify_broken "row 4 deleted" 4
restore

r5=$(store_sql 'SELECT record FROM mxg_audit WHERE seq=5')
store_sql "UPDATE mxg_audit SET record = CASE seq
    WHEN 4 THEN (SELECT record FROM mxg_audit WHERE seq = 5)
    ELSE (SELECT record FROM mxg_audit WHERE seq = 4) END WHERE seq IN (4, 5)"
assert_eq "$r5" "$(store_sql 'SELECT record FROM mxg_audit WHERE seq=4')" "(rows 4 and 5 swapped)"
verify_broken "rows 4 and 5 swapped" 4
restore

store_sql "DELETE FROM mxg_audit WHERE seq > 7"
assert_ok "newest two cut off: plain verify passes (a chain cannot tell)" mxg audit verify
assert_contains "$(mxg audit verify 2>&1)" "$H7" "verify reports head 7"
mxg audit verify --expect-head "$HEAD" >"$IT_WORK/eh.txt" 2>&1 && rc=0 || rc=$?
assert_eq 1 "$rc" "newest two cut off: verify --expect-head with the old head exits 1"
assert_ok "verify --expect-head with the truncated head passes" mxg audit verify --expect-head "$H7"
restore

# Each column stored beside the record: verify names the row, the listings do not change.
listings() {
    mxg audit export
    echo "--"
    mxg audit export --after 4
    echo "--"
    mxg audit show --verdict reject --json
    echo "--"
    mxg audit show --zone a2.example --json
    echo "--"
    mxg audit show --zone a1.example --verdict allow --since 2000-01-01T00:00:00Z --json
    echo "--"
    mxg audit show --until 2001-01-01T00:00:00Z --json
}
listings >"$IT_WORK/listings.orig"
section() { awk -v want="$1" 'BEGIN{s=0} /^--$/{s++; next} s==want' "$IT_WORK/listings.orig" |
    python3 -c 'import json, sys
print(" ".join(str(json.loads(l)["seq"]) for l in sys.stdin))'; }
assert_eq "3 5" "$(section 2)" "(before the edits: show --verdict reject gives 3 5)"
assert_eq "2 5 6 7" "$(section 3)" "(before the edits: show --zone a2.example gives 2 5 6 7)"
assert_eq "1 4 8 9" "$(section 4)" "(before the edits: show --zone a1.example --verdict allow --since 2000 gives 1 4 8 9)"
assert_eq "" "$(section 5)" "(before the edits: show --until 2001 gives nothing)"
for edit in "seq=100 WHERE seq=6" "time='2000-06-01T00:00:00.000Z' WHERE seq=6" \
    "zone='a1.example.' WHERE seq=6" "verdict='reject' WHERE seq=6" \
    "hash='0000000000000000000000000000000000000000000000000000000000000000' WHERE seq=6"; do
    col=${edit%%=*}
    store_sql "UPDATE mxg_audit SET $edit"
    verify_broken "$col column of row 6 edited" 6
    if [ "$col" != seq ]; then # (an edited seq moves the row in the listing's order)
        assert_contains "$(mxg audit verify 2>&1 || true)" "$col column" "$col column: verify says which column"
        listings >"$IT_WORK/listings.now"
        assert_eq "$(cat "$IT_WORK/listings.orig")" "$(cat "$IT_WORK/listings.now")" \
            "$col column of row 6 edited: export, export --after, show --verdict/--zone/--since/--until unchanged"
    fi
    restore
done

# The newest row's hash column edited, then one more change (zone add, with the daemon stopped):
# the new record chains to record 9 as written; only row 9 is bad.
store_sql "UPDATE mxg_audit SET hash='aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' WHERE seq=9"
verify_broken "hash column of the newest row edited" 9
assert_ok "one more change after the edit" mxg zone add a3.example --ns ns1.example.net
assert_eq "${HEAD#*:}" "$(mxg audit export --after 9 | python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["prev"])')" \
    "record 10 chains to record 9's own hash, not to the edited column"
verify_broken "after one more change, still row 9" 9
if [ -n "${MXG_TEST_PG_STATE:-}" ]; then
    store_sql "UPDATE mxg_audit SET hash = record::json->>'hash' WHERE seq=9"
else
    store_sql "UPDATE mxg_audit SET hash=json_extract(record, '\$.hash') WHERE seq=9"
fi
assert_ok "row 9's column put back: the whole chain verifies, record 10 too" mxg audit verify
assert_contains "$(mxg audit verify 2>&1)" "10 records" "verify counts 10 records"
restore

# --- restored and restarted: the chain continues ------------------------------------------------
rm -f "$MXG_SOCK" "$MXG_CTL_SOCK"
MXG_PID=""
mxg_start
assert_ok "restart: verify --expect-head (through the daemon)" mxg audit verify --expect-head "$HEAD"
code=""
for _ in 1 2 3 4 5; do
    code=$(g_patch a1.example "$(body "$(rr t3.a1.example. TXT 300 '"three"')")")
    [ "$code" = 204 ] && break
    sleep 0.3
done
assert_eq 204 "$code" "a PATCH after the restart"
G_REC=$(mxg audit export --after 9)
assert_eq "10 ${HEAD#*:}" "$(rq 'str(r["seq"]) + " " + r["prev"]')" "record 10 chains onto the old head"
assert_ok "audit verify" mxg audit verify

# --- a poisoned DNS UPDATE ----------------------------------------------------------------------
# pdns hands a TTL above 2^31-1 to the backend as a negative number: mxguard refuses that write,
# pdns goes on (DNS UPDATE ignores a refused write) and commits; the commit is refused, audited.
cat >"$IT_WORK/update.py" <<'PY'
"""update.py PORT ZONE "NAME TTL A ADDRESS"... -- one RFC 2136 UPDATE adding the A records;
prints the reply's rcode. (nsupdate refuses such TTLs itself.)"""
import random, socket, struct, sys
def wire(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"
port, zone, adds = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
msg = struct.pack(">HHHHHH", random.randint(0, 65535), 5 << 11, 1, 0, len(adds), 0)
msg += wire(zone) + struct.pack(">HH", 6, 1)  # zone section: SOA IN
for a in adds:
    name, ttl, _, addr = a.split()
    msg += wire(name) + struct.pack(">HHIH", 1, 1, int(ttl), 4) + socket.inet_aton(addr)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
s.sendto(msg, ("127.0.0.1", port))
print(s.recvfrom(4096)[0][3] & 15)
PY
g_mark
assert_eq 10 "$G_MARK" "(the log holds 10 records before the update)"
rcode=$(python3 "$IT_WORK/update.py" "$PORT" a1.example "u0.a1.example. 300 A 192.0.2.8" \
    "u1.a1.example. 3000000000 A 192.0.2.9" || echo "no reply")
assert_eq 2 "$rcode" "poisoned DNS UPDATE: SERVFAIL"
assert_rcode "$PORT" NXDOMAIN u0.a1.example A
assert_rcode "$PORT" NXDOMAIN u1.a1.example A
assert_eq 1 "$(mxg audit export --after "$G_MARK" | grep -c .)" "poisoned DNS UPDATE: exactly one new audit record"
g_audit "poisoned DNS UPDATE" a1.example dnsupdate reject invalid-record
g_last a1.example
assert_eq "11 1" "$(rq 'str(r["seq"]) + " " + str(len(r["findings"]))')" "poisoned DNS UPDATE: record 11, one finding"
assert_eq "invalid-record block u1.a1.example. [] ['192.0.2.9']" \
    "$(rq '" ".join(str(r["findings"][0][k]) for k in ("rule", "severity", "name", "old", "new"))')" \
    "the finding names the refused write (rule, severity, name, old, new)"
assert_contains "$(rq 'r["findings"][0]["reason"]')" "u1.a1.example. A: ttl" "the finding's reason is the refusal"
# (pdns also bumps the SOA serial of an updated zone: that is in the changes too)
assert_contains "$(rq 'rrs(r["changes"])')" "u0.a1.example A 192.0.2.8" "its changes: the valid write of the same update"
assert_not_contains "$(rq 'rrs(r["changes"])')" "u1.a1.example" "its changes: not the refused write"
assert_eq "3 5 11" "$(mxg audit show --verdict reject --json | python3 -c 'import json, sys
print(" ".join(str(json.loads(l)["seq"]) for l in sys.stdin))')" "show --verdict reject lists it"
assert_contains "$(grep 'write refused' "$MXG_LOG" | tail -n 1)" "u1.a1.example." "mxguard logs the refused write"
assert_ok "audit verify after the poisoned update" mxg audit verify
assert_eq ok "$(g_sql 'PRAGMA integrity_check')" "store integrity_check"
it_finish
