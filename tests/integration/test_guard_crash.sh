#!/usr/bin/env bash
# tests/integration/test_guard_crash.sh -- kill -9 of mxguard during a stream of guarded commits
# (PRODUCT.md §5, §8: a committed change and its audit record are one commit, also across a
# crash; a refused transaction leaves nothing but its record).
# The stream cycles through four PATCHes (each round starts at another one), each also writing a unique TXT tN.<zone> "vN":
#   0 cr.example (mode reject): the TXT only                              -> allowed
#   1 cr.example: the apex A moved (MX -> apex) + the TXT                 -> refused
#   2 cf.example (X-MXGUARD-MODE fix): MX back to the apex, mail host
#     removed, apex back to the old address + the TXT                     -> allowed
#   3 cf.example: the apex A moved + the TXT                              -> fixed
# After MXG_GUARD_CRASH_ROUNDS (default 25) kill -9 / restart rounds: every TXT in the store has
# a non-reject audit record writing it, every non-reject record's TXT is in the store, no
# reject record's TXT is, every 204 is in the store, cr.example's apex never moved, the MX of
# cf.example is what the committed records (changes and fixes) say, audit verify passes and
# SQLite's integrity_check says ok.
#
# Ports: DNS 5376, API 8088.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guard_lib.sh"
mxg_require
it_init

PORT=5376
G_API=8088
ROUNDS=${MXG_GUARD_CRASH_ROUNDS:-25}
OLD=192.0.2.10
MXG_LOG_LEVEL=info
for z in cr cf; do printf '@ IN A %s\n@ IN MX 10 @\nwww IN A 192.0.2.20\n' "$OLD" | g_zone "$z.example"; done
mxg_write_config "$IT_WORK/mxguard"
echo "mode=reject" >>"$MXG_CONF"
mxg_import_zones "cr.example=$IT_WORK/zones/cr.example.zone" "cf.example=$IT_WORK/zones/cf.example.zone"
mxg_start
pdns_start --kind remote --port "$PORT" --api-port "$G_API" --name pdns-guard
assert_ok "set-meta cf.example X-MXGUARD-MODE fix" "$PDNSUTIL" --config-dir="$PDNS_DIR" set-meta cf.example X-MXGUARD-MODE fix

RESULTS="$IT_WORK/results.txt"   # "N KIND HTTPCODE" per PATCH
: >"$RESULTS"
# stream BASE STOPFILE -- PATCH N = BASE, BASE+1, ... until STOPFILE exists (at most 400).
# qrr NAME TYPE TTL CONTENT -- one REPLACE RRset of one record (CONTENT already JSON-escaped)
qrr() {
    printf '{"name":"%s","type":"%s","ttl":%s,"changetype":"REPLACE","records":[{"content":"%s","disabled":false}]}' \
        "$1" "$2" "$3" "$4"
}
stream() {
    local base=$1 stop=$2 j n k z txt b code
    for ((j = 0; j < 400; j++)); do
        [ -e "$stop" ] && break
        n=$((base + j)) k=$(((j + base / 1000) % 4))
        if [ $k -lt 2 ]; then z=cr.example; else z=cf.example; fi
        # the RRsets by printf, not rr(): a python start per PATCH would throttle the stream
        txt=$(qrr "t$n.$z." TXT 60 '\"v'"$n"'\"')
        case $k in
            0|2) b=$(body "$txt") ;;
            1|3) b=$(body "$(qrr "$z." A 3600 "203.0.113.$((n % 200 + 1))")" "$txt") ;;
        esac
        [ $k -eq 2 ] && b=$(body "$(qrr "$z." MX 3600 "10 $z.")" "$(del "mail.$z." A)" "$(qrr "$z." A 3600 "$OLD")" "$txt")
        code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' -H 'X-API-Key: secret' -X PATCH \
            -H 'Content-Type: application/json' --data "$b" \
            "http://127.0.0.1:$G_API/api/v1/servers/localhost/zones/$z" 2>/dev/null) || code=000
        echo "$n $k $code" >>"$RESULTS"
    done
}

restarts=0
for ((round = 1; round <= ROUNDS; round++)); do
    stop="$IT_WORK/stop.$round"
    stream $((round * 1000)) "$stop" &
    spid=$!
    ms=$((300 + RANDOM % 900))   # a random moment 0.3 .. 1.2 s into the stream
    sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
    mxg_kill "$round"
    touch "$stop"
    wait "$spid" || true
    mxg_restart "$round"
    restarts=$((restarts + 1))
    # pdns's first request on a backend connection that died fails: warm up with a harmless PATCH
    for ((i = 0; i < 10; i++)); do
        [ "$(g_patch cr.example "$(body "$(rr "w$round.cr.example." TXT 60 '"warm"')")")" = 204 ] && break
        sleep 0.1
    done
done

total=$(wc -l <"$RESULTS")
it_log "$total PATCHes, $restarts kill -9 + restart; by kind and status: $(awk '{print $2 ":" $3}' "$RESULTS" | sort | uniq -c | tr -s ' \n' ' ')"
assert_eq "$ROUNDS" "$restarts" "$ROUNDS kill -9 / restart rounds"
for k in 0 2 3; do
    n=$(awk -v k=$k '$2 == k && $3 == 204' "$RESULTS" | wc -l)
    [ "$n" -ge 3 ] && it_pass "kind $k: $n PATCHes acknowledged" || it_fail "kind $k: only $n PATCHes acknowledged"
done
n=$(awk '$2 == 1 && $3 == 500' "$RESULTS" | wc -l)
[ "$n" -ge 3 ] && it_pass "kind 1: $n PATCHes refused (500)" || it_fail "kind 1: only $n PATCHes refused"
assert_eq 0 "$(awk '$2 == 1 && $3 == 204' "$RESULTS" | wc -l)" "no apex move of cr.example was acknowledged"

# --- store against audit ----------------------------------------------------------------------
assert_eq ok "$(g_sql 'PRAGMA integrity_check')" "store integrity_check"
assert_ok "audit verify after the crashes" mxg audit verify
mxg audit export >"$IT_WORK/audit.jsonl"
g_sql "SELECT r.name, r.type, CASE WHEN r.type = 'MX' THEN r.prio || ' ' || r.content ELSE r.content END FROM records r JOIN domains d ON d.id = r.domain_id
    WHERE d.name IN ('cr.example', 'cf.example') AND r.type IN ('TXT', 'MX', 'A')" >"$IT_WORK/store.txt"
python3 - "$RESULTS" "$IT_WORK/audit.jsonl" "$IT_WORK/store.txt" >"$IT_WORK/check.txt" <<'PY'
import json, re, sys
def canon(s): return s.lower().rstrip(".")
results = [l.split() for l in open(sys.argv[1]) if l.strip()]
recs = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
txt, mx, apexA = {}, {}, {}
for line in open(sys.argv[3]):
    name, t, content = line.rstrip("\n").split("|", 2)
    name = canon(name)
    if t == "TXT" and re.match(r"t\d+\.", name): txt[name] = content
    if t == "MX": mx.setdefault(name, set()).add(canon(content))
    if t == "A" and name in ("cr.example", "cf.example"): apexA.setdefault(name, set()).add(content)
written = {}                          # txt name -> (verdict, content, seq)
want_mx = {"cr.example": {"10 cr.example"}, "cf.example": {"10 cf.example"}}
problems = {"NOAUDIT": [], "MISSING": [], "REJECTPRESENT": [], "WRONG": [], "LOST204": [], "FIXEMPTY": []}
for r in recs:
    z = canon(r["zone"])
    if z not in want_mx: continue
    if r["verdict"] == "fix" and not r["fix"]: problems["FIXEMPTY"].append(r["seq"])
    for c in r["changes"]:
        if c["type"] == "TXT" and re.match(r"t\d+\.", canon(c["name"])):
            written[canon(c["name"])] = (r["verdict"], [d["content"] for d in c["after"]], r["seq"])
    if r["verdict"] != "reject":
        for c in r["changes"] + r["fix"]:
            if c["type"] == "MX" and canon(c["name"]) == z:
                want_mx[z] = {canon(d["content"]) for d in c["after"]}
for name, content in txt.items():
    if name not in written or written[name][0] == "reject": problems["NOAUDIT"].append(name)
for name, (verdict, after, seq) in written.items():
    if verdict == "reject":
        if name in txt: problems["REJECTPRESENT"].append(f"{name}(seq {seq})")
    elif name not in txt: problems["MISSING"].append(f"{name}(seq {seq} {verdict})")
    elif [txt[name]] != after: problems["WRONG"].append(f"{name}={txt[name]} audit {after}")
for n, k, code in results:
    z = "cr.example" if k in ("0", "1") else "cf.example"
    if code == "204" and f"t{n}.{z}" not in txt: problems["LOST204"].append(n)
for k, v in problems.items():
    print(k, len(v), " ".join(map(str, v[:8])))
verdicts = {}
for r in recs: verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
print("VERDICTS", " ".join(f"{k}={v}" for k, v in sorted(verdicts.items())))
print("TXT", len(txt), "AUDITED", len(written))
print("MXCR", "ok" if mx.get("cr.example") == want_mx["cr.example"] else f"store {mx.get('cr.example')} audit {want_mx['cr.example']}")
print("MXCF", "ok" if mx.get("cf.example") == want_mx["cf.example"] else f"store {mx.get('cf.example')} audit {want_mx['cf.example']}")
print("APEXCR", " ".join(sorted(apexA.get("cr.example", []))))
PY
sed 's/^/    /' "$IT_WORK/check.txt"
field() { grep "^$1 " "$IT_WORK/check.txt" | cut -d' ' -f1,2; }
assert_eq "NOAUDIT 0" "$(field NOAUDIT)" "every TXT in the store has a committed audit record"
assert_eq "MISSING 0" "$(field MISSING)" "every committed audit record's TXT is in the store"
assert_eq "REJECTPRESENT 0" "$(field REJECTPRESENT)" "no refused change is in the store"
assert_eq "WRONG 0" "$(field WRONG)" "stored TXT contents equal the audit's"
assert_eq "LOST204 0" "$(field LOST204)" "no acknowledged PATCH is lost"
assert_eq "FIXEMPTY 0" "$(field FIXEMPTY)" "every fix record lists its fix"
assert_eq "MXCR ok" "$(grep '^MXCR' "$IT_WORK/check.txt")" "cr.example MX as the audit says"
assert_eq "MXCF ok" "$(grep '^MXCF' "$IT_WORK/check.txt")" "cf.example MX as the committed changes and fixes say"
assert_eq "APEXCR $OLD" "$(grep '^APEXCR' "$IT_WORK/check.txt")" "cr.example apex A never moved"
v=$(grep '^VERDICTS' "$IT_WORK/check.txt")
assert_contains "$v" "reject=" "the log holds refusals"
assert_contains "$v" "fix=" "the log holds fixes"
it_finish
