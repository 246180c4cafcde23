# shellcheck shell=bash
# tests/integration/guard_lib.sh -- helpers for the mail-guard tests (test_guard_*.sh).
# Source it after lib.sh. It defines:
#   g_zone NAME            zone file from stdin (after a fixed SOA/NS header)
#   g_zone_list            NAME=FILE for every zone written by g_zone (for mxg_import_zones)
#   g_set KEY=VALUE...     change policy keys in $MXG_CONF and SIGHUP the daemon (waits for it)
#   rr NAME TYPE TTL C...  one REPLACE rrset (JSON); del NAME TYPE: one DELETE rrset
#   body RRSET...          {"rrsets":[...]}
#   g_patch ZONE BODY      PATCH through the API on $G_API; prints the HTTP status
#   g_mark                 remember the newest audit seq in G_MARK
#   g_audit LABEL ZONE SOURCE VERDICT [RULE | RULE:FAMILY | !RULE | !RULE:FAMILY | nofindings]...
#                          assertions on the newest audit record of ZONE after G_MARK
#   g_last ZONE            that record into G_REC;  rq EXPR: python EXPR over it (r = record,
#                          rrs(list) = "name TYPE content,content; ..." of a changes/fix list)

G_MARK=0
G_REC=""
G_API=${G_API:-}

# g_zone NAME -- write $IT_WORK/zones/NAME.zone: header (SOA, NS outside the served zones,
# $TTL 3600) plus the lines on stdin. (Often at the end of a pipe, i.e. in a subshell.)
g_zone() {
    local name=$1 f
    mkdir -p "$IT_WORK/zones"
    f="$IT_WORK/zones/$name.zone"
    {
        printf '$ORIGIN %s.\n$TTL 3600\n' "$name"
        printf '@ IN SOA ns1.example.net. hostmaster.%s. 2024010101 7200 3600 1209600 300\n' "$name"
        printf '@ IN NS ns1.example.net.\n'
        cat
    } >"$f"
}
g_zone_list() {
    local f
    for f in "$IT_WORK"/zones/*.zone; do printf '%s=%s\n' "$(basename "$f" .zone)" "$f"; done
}

# g_set KEY=VALUE... -- replace the keys in the config and reload the running daemon.
g_set() {
    local kv n i
    for kv in "$@"; do
        sed -i "/^${kv%%=*}=/d" "$MXG_CONF"
        echo "$kv" >>"$MXG_CONF"
    done
    [ -n "$MXG_PID" ] || return 0
    n=$(grep -c 'configuration reloaded' "$MXG_LOG" || true)
    kill -HUP "$MXG_PID"
    for ((i = 0; i < 50; i++)); do
        [ "$(grep -c 'configuration reloaded' "$MXG_LOG" || true)" -gt "$n" ] && return 0
        sleep 0.1
    done
    it_fail "SIGHUP reload with $* not confirmed in the log"
    it_tail "$MXG_LOG" 5
}

rr() {
    python3 -c 'import json, sys
n, t, ttl, *c = sys.argv[1:]
print(json.dumps({"name": n, "type": t, "ttl": int(ttl), "changetype": "REPLACE",
                  "records": [{"content": x, "disabled": False} for x in c]}))' "$@"
}
del() { printf '{"name":"%s","type":"%s","changetype":"DELETE"}' "$1" "$2"; }
body() { local IFS=,; printf '{"rrsets":[%s]}' "$*"; }

g_api() { curl -sS -m 10 -H 'X-API-Key: secret' "$@"; }
# g_patch first asks `mxguard check` about the same body and keeps "ZONE VERDICT" in
# $IT_WORK/check.last (g_patch runs in a subshell): g_audit then asserts that the commit's verdict
# is the one check gave (one classifier, PRODUCT.md §3).
g_patch() {
    local v
    v=$({ printf '%s' "$2" | mxg check --zone "$1" --patch - --json 2>/dev/null || true; } |
        python3 -c 'import json, sys
try: print(json.load(sys.stdin)["verdict"])
except Exception: print("NO-CHECK")')
    printf '%s %s\n' "$1" "$v" >"$IT_WORK/check.last"
    g_api -o "$IT_WORK/patch.out" -w '%{http_code}' -X PATCH -H 'Content-Type: application/json' \
        --data "$2" "http://127.0.0.1:$G_API/api/v1/servers/localhost/zones/$1" 2>/dev/null || echo CURL-FAILED
}

g_mark() {
    G_MARK=$(mxg audit export | python3 -c 'import json, sys
seqs = [json.loads(l)["seq"] for l in sys.stdin if l.strip()]
print(max(seqs) if seqs else 0)')
}

# Python prelude: the newest record of zone argv[1] after seq argv[2], from stdin (JSON lines).
G_PY_PRE='import json, sys
def canon(s): return s.lower().rstrip(".")
def rrs(lst):
    return "; ".join(sorted("%s %s %s" % (canon(c["name"]), c["type"],
        ",".join(sorted(canon(d["content"]) if c["type"] in ("MX", "CNAME") else d["content"]
                        for d in c["after"]))) for c in lst))
recs = [json.loads(l) for l in sys.stdin if l.strip()]
recs = [x for x in recs if x["seq"] > int(sys.argv[2]) and canon(x["zone"]) == canon(sys.argv[1])]
r = recs[-1] if recs else None
'

g_last() {
    G_REC=$(mxg audit export --after "$G_MARK" | python3 -c "$G_PY_PRE"'
print(json.dumps(r) if r else "")' "$1" "$G_MARK")
}
rq() {
    python3 -c 'import json, sys
def canon(s): return s.lower().rstrip(".")
def rrs(lst):
    return "; ".join(sorted("%s %s %s" % (canon(c["name"]), c["type"],
        ",".join(sorted(canon(d["content"]) if c["type"] in ("MX", "CNAME") else d["content"]
                        for d in c["after"]))) for c in lst))
t = sys.stdin.read().strip()
r = json.loads(t) if t else None
print(eval(sys.argv[1]) if r else "NO-RECORD")' "$1" <<<"$G_REC"
}

g_audit() {
    local label=$1 zone=$2 st msg
    shift 2
    while read -r st msg; do
        if [ "$st" = ok ]; then it_pass "$label: $msg"; else it_fail "$label: $msg"; fi
    done < <(mxg audit export --after "$G_MARK" | python3 -c "$G_PY_PRE"'
src, verdict, wants = sys.argv[3], sys.argv[4], sys.argv[5:-1]
if r is None:
    print("FAIL no new audit record for", sys.argv[1]); sys.exit()
fs = [(f["rule"], f.get("family", "")) for f in r["findings"]]
summary = "seq %d source=%s mode=%s verdict=%s findings=%s" % (r["seq"], r["source"], r["mode"],
    r["verdict"], ",".join("%s/%s" % f for f in fs) or "-")
ok = r["source"] == src and r["verdict"] == verdict
for w in wants:
    if w == "nofindings": ok = ok and not fs
    elif w.startswith("!") and ":" in w: ok = ok and tuple(w[1:].split(":", 1)) not in fs
    elif w.startswith("!"): ok = ok and all(f[0] != w[1:] for f in fs)
    elif ":" in w: ok = ok and tuple(w.split(":", 1)) in fs
    else: ok = ok and any(f[0] == w for f in fs)
want = "source=%s verdict=%s %s" % (src, verdict, " ".join(wants))
print("ok" if ok else "FAIL", "audit " + summary if ok else "audit want " + want + " | got " + summary)
check = sys.argv[-1]
if check and r["source"] == "api":
    print("ok" if check == r["verdict"] else "FAIL",
          "check said %s, the commit %s" % (check, r["verdict"]))
' "$zone" "$G_MARK" "$@" "$(g_check_verdict "$zone")")
    rm -f "$IT_WORK/check.last"
}
# The verdict check gave for the last g_patch of ZONE, or "".
g_check_verdict() {
    local z v
    [ -f "$IT_WORK/check.last" ] || return 0
    read -r z v <"$IT_WORK/check.last"
    [ "$z" = "$1" ] && echo "$v"
    return 0
}

# g_sql SQL -- query the store (read-only use while the daemon runs is fine with WAL), on
# either engine (store_sql in lib.sh).
g_sql() {
    if [ -n "${MXG_TEST_PG_STATE:-}" ]; then store_sql "$1"; else sqlite3 -cmd '.timeout 2000' "$MXG_STORE" "$1"; fi
}
