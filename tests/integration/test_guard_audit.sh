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
#   - restored, restarted: the chain continues.
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
sqlite3 -json "$MXG_STORE" 'SELECT seq, zone, verdict, record, hash FROM mxg_audit ORDER BY seq' >"$IT_WORK/rows.json"
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
sqlite3 "$MXG_STORE" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
cp "$MXG_STORE" "$IT_WORK/store.orig"
restore() { rm -f "$MXG_STORE-wal" "$MXG_STORE-shm"; cp "$IT_WORK/store.orig" "$MXG_STORE"; }
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

assert_contains "$(sqlite3 "$MXG_STORE" 'SELECT record FROM mxg_audit WHERE seq=3')" '"verdict":"reject"' "record 3 is the first refusal"
sqlite3 "$MXG_STORE" "UPDATE mxg_audit SET record=replace(record,'reject','allow') WHERE seq=3"
verify_broken "record 3 edited" 3
restore
assert_ok "restored: verify passes" mxg audit verify

sqlite3 "$MXG_STORE" "DELETE FROM mxg_audit WHERE seq=4"
verify_broken "row 4 deleted" 4
restore

python3 - "$MXG_STORE" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
r4, r5 = (db.execute("SELECT record FROM mxg_audit WHERE seq=?", (s,)).fetchone()[0] for s in (4, 5))
db.execute("UPDATE mxg_audit SET record=? WHERE seq=4", (r5,))
db.execute("UPDATE mxg_audit SET record=? WHERE seq=5", (r4,))
db.commit()
PY
assert_eq "$(sqlite3 "$IT_WORK/store.orig" 'SELECT record FROM mxg_audit WHERE seq=5')" \
    "$(sqlite3 "$MXG_STORE" 'SELECT record FROM mxg_audit WHERE seq=4')" "(rows 4 and 5 swapped)"
verify_broken "rows 4 and 5 swapped" 4
restore

sqlite3 "$MXG_STORE" "DELETE FROM mxg_audit WHERE seq > 7"
assert_ok "newest two cut off: plain verify passes (a chain cannot tell)" mxg audit verify
assert_contains "$(mxg audit verify 2>&1)" "$H7" "verify reports head 7"
mxg audit verify --expect-head "$HEAD" >"$IT_WORK/eh.txt" 2>&1 && rc=0 || rc=$?
assert_eq 1 "$rc" "newest two cut off: verify --expect-head with the old head exits 1"
assert_ok "verify --expect-head with the truncated head passes" mxg audit verify --expect-head "$H7"
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
assert_eq ok "$(g_sql 'PRAGMA integrity_check')" "store integrity_check"
it_finish
