#!/usr/bin/env bash
# tests/integration/test_sigterm_commit.sh -- SIGTERM to mxguard while commits are in flight.
#
# Each round: two streams of API PATCHes (PATCH N writes kN.example.com TXT "vN" and
# kNb.example.com TXT "vNb", two RRsets that belong together) and one large PATCH (BIG RRsets
# bR-J.example.com, a slow commit) run while mxguard gets SIGTERM at a random moment. Then:
#  - mxguard exits within MXG_SIGTERM_BOUND seconds (default 10), with status 0, and has
#    removed its backend and control sockets;
#  - it is restarted, and pdns serves on.
# After MXG_SIGTERM_ROUNDS rounds (default 12): every PATCH that got 204 is in the store, no
# PATCH is half-applied (kN without kNb; a large PATCH with some but not all of its records),
# every large PATCH that got 204 is there whole, and no PATCH that failed is there: a commit
# running at SIGTERM finishes and its reply still reaches pdns before the connection closes.
# `mxguard audit verify` passes, every stored record was written by an audited commit, and
# SQLite's integrity_check says ok.
#
# Ports: DNS 5385, API 8095.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init

PORT=5385
API=8095
ROUNDS=${MXG_SIGTERM_ROUNDS:-12}
BOUND=${MXG_SIGTERM_BOUND:-10}
BIG=${MXG_SIGTERM_BIG:-500}
MXG_LOG_LEVEL=info
mxg_write_config "$IT_WORK/mxguard"
# The write path, not the mail guard: the test network's addresses are mail ranges here.
echo "mail-ranges=192.0.2.0/24,198.51.100.0/24,203.0.113.0/24,2001:db8::/32" >>"$MXG_CONF"
mxg_import_zones "example.com=$IT_ZONES_DIR/example.com.zone"
mxg_start
# pdns waits up to 30 s for a reply (the harness's 2 s would cut a slow commit off on a loaded
# machine: pdns reports it failed while mxguard commits it, which is not what is tested here).
pdns_start --kind remote --port "$PORT" --api-port "$API" --name pdns-remote -- \
    --remote-connection-string="unix:path=$MXG_SOCK,timeout=30000"

URL="http://127.0.0.1:$API/api/v1/servers/localhost/zones/example.com"
RESULTS="$IT_WORK/results.txt" # "N HTTPCODE" per small PATCH
BIGRES="$IT_WORK/big.txt"      # "ROUND HTTPCODE SECONDS" per large PATCH
: >"$RESULTS"
: >"$BIGRES"

patch() { # BODYFILE -> HTTP status
    curl -sS -m 60 -o /dev/null -w '%{http_code}' -H 'X-API-Key: secret' -X PATCH \
        -H 'Content-Type: application/json' --data @"$1" "$URL" 2>/dev/null || echo 000
}

# stream BASE STOPFILE -- PATCH k<BASE+j> and k<BASE+j>b until STOPFILE exists (at most 400).
stream() {
    local base=$1 stop=$2 j n code
    for ((j = 0; j < 400; j++)); do
        [ -e "$stop" ] && break
        n=$((base + j))
        printf '{"rrsets":[{"name":"k%s.example.com.","type":"TXT","ttl":60,"changetype":"REPLACE","records":[{"content":"\\"v%s\\"","disabled":false}]},{"name":"k%sb.example.com.","type":"TXT","ttl":60,"changetype":"REPLACE","records":[{"content":"\\"v%sb\\"","disabled":false}]}]}' \
            "$n" "$n" "$n" "$n" >"$IT_WORK/body.$base"
        code=$(patch "$IT_WORK/body.$base")
        echo "$n $code" >>"$RESULTS"
    done
}

# big ROUND -- one PATCH with BIG RRsets bROUND-J.example.com TXT "ROUND-J".
big() {
    local r=$1 t0 code
    python3 - "$r" "$BIG" >"$IT_WORK/big.$r.json" <<'PY'
import json, sys
r, n = sys.argv[1], int(sys.argv[2])
print(json.dumps({"rrsets": [{"name": f"b{r}-{j}.example.com.", "type": "TXT", "ttl": 60,
    "changetype": "REPLACE", "records": [{"content": f'"{r}-{j}"', "disabled": False}]}
    for j in range(n)]}))
PY
    t0=$(date +%s.%N)
    code=$(patch "$IT_WORK/big.$r.json")
    echo "$r $code $(echo "$(date +%s.%N) - $t0" | bc)" >>"$BIGRES"
}

# One large PATCH without interruption, for its duration.
big 0
it_log "a PATCH of $BIG RRsets without SIGTERM: $(cut -d' ' -f2,3 "$BIGRES")"
assert_eq 204 "$(cut -d' ' -f2 "$BIGRES")" "the large PATCH alone: 204"

restarts=0 slowest=0 statuses="" sockets_left=0
for ((round = 1; round <= ROUNDS; round++)); do
    stop="$IT_WORK/stop.$round"
    stream $((round * 10000)) "$stop" &
    s1=$!
    stream $((round * 10000 + 5000)) "$stop" &
    s2=$!
    big "$round" &
    b1=$!
    # A random moment 0.2 .. 1.4 s in: during the large PATCH's writes, its commit, or after.
    ms=$((200 + RANDOM % 1200))
    sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
    if ! it_alive "$MXG_PID"; then
        it_fail "round $round: mxguard died on its own before SIGTERM"
        it_tail "$MXG_LOG" 20
    fi
    t0=$(date +%s%N)
    kill -TERM "$MXG_PID"
    for ((i = 0; i < BOUND * 50; i++)); do
        it_alive "$MXG_PID" || break
        sleep 0.02
    done
    t1=$(date +%s%N)
    took=$(((t1 - t0) / 1000000))
    if it_alive "$MXG_PID"; then
        it_fail "round $round: mxguard still running ${BOUND}s after SIGTERM"
        it_tail "$MXG_LOG" 20
        kill -KILL "$MXG_PID" 2>/dev/null || true
    fi
    st=0
    wait "$MXG_PID" || st=$?
    statuses="$statuses $st"
    [ "$took" -gt "$slowest" ] && slowest=$took
    if [ -e "$MXG_SOCK" ] || [ -e "$MXG_CTL_SOCK" ]; then
        sockets_left=$((sockets_left + 1))
        rm -f "$MXG_SOCK" "$MXG_CTL_SOCK"
    fi
    touch "$stop"
    wait "$s1" "$s2" "$b1" || true
    mxg_restart "$round"
    restarts=$((restarts + 1))
    it_log "round $round: SIGTERM after ${ms} ms, exit status $st after ${took} ms; large PATCH: $(awk -v r="$round" '$1 == r { print $2 " in " $3 " s" }' "$BIGRES")"
done

assert_eq "$ROUNDS" "$restarts" "$ROUNDS SIGTERM / restart rounds"
assert_eq "" "$(tr ' ' '\n' <<<"$statuses" | grep -v '^0$' | grep . || true)" "exit status 0 after every SIGTERM"
[ "$slowest" -le $((BOUND * 1000)) ] && it_pass "every exit within ${BOUND}s of SIGTERM (slowest ${slowest} ms)" ||
    it_fail "slowest exit ${slowest} ms"
assert_eq 0 "$sockets_left" "the sockets are removed at every exit"
grep -q 'shutting down' "$MXG_LOG" && it_pass "mxguard logged its shutdown" || it_fail "no shutdown line in the log"

acked=$(awk '$2 == 204' "$RESULTS" | wc -l)
total=$(wc -l <"$RESULTS")
it_log "$total small PATCHes, $acked acknowledged; large PATCHes by status: $(cut -d' ' -f2 "$BIGRES" | sort | uniq -c | tr -s ' \n' ' ')"
[ "$acked" -ge "$ROUNDS" ] && it_pass "$acked small PATCHes acknowledged" || it_fail "only $acked small PATCHes acknowledged"
others=$(awk '$2 != 204 && $2 != 500 && $2 != 422 && $2 != 000' "$RESULTS" | wc -l)
assert_eq 0 "$others" "every small PATCH answered 204, or failed (500/422/no reply) around a stop"

# --- the store ------------------------------------------------------------------------------
assert_eq ok "$(store_sql 'PRAGMA integrity_check')" "store integrity_check"
assert_ok "audit verify" mxg audit verify
store_sql "SELECT r.name || ' ' || r.content FROM records r JOIN domains d ON d.id = r.domain_id
    WHERE d.name = 'example.com' AND r.type = 'TXT'" |
    grep -E '^(k[0-9][^ ]*|b[0-9]+-[0-9][^ ]*)\.example\.com ' | sort -u >"$IT_WORK/stored.txt" || true
mxg audit export >"$IT_WORK/audit.jsonl"
python3 - "$RESULTS" "$BIGRES" "$IT_WORK/stored.txt" "$IT_WORK/audit.jsonl" "$BIG" >"$IT_WORK/check.txt" <<'PY'
import json, re, sys
results = [l.split() for l in open(sys.argv[1]) if l.strip()]
bigres = [l.split() for l in open(sys.argv[2]) if l.strip()]
nbig = int(sys.argv[5])
stored = {}
for line in open(sys.argv[3]):
    name, content = line.rstrip("\n").split(" ", 1)
    stored[name] = content
lost, half, wrong = [], [], []
for n, code in results:
    a, b = f"k{n}.example.com", f"k{n}b.example.com"
    if code == "204" and (a not in stored or b not in stored): lost.append(n)
    if (a in stored) != (b in stored): half.append(n)
    if a in stored and stored[a] != f'"v{n}"': wrong.append(a)
    if b in stored and stored[b] != f'"v{n}b"': wrong.append(b)
bighalf, biglost, bigunacked, bigpresent = [], [], [], 0
for r, code, _ in bigres:
    have = sum(1 for j in range(nbig) if stored.get(f"b{r}-{j}.example.com") == f'"{r}-{j}"')
    if have not in (0, nbig): bighalf.append(f"{r}:{have}")
    if code == "204" and have != nbig: biglost.append(r)
    if code != "204" and have: bigunacked.append(r)
    if have == nbig: bigpresent += 1
# One audit record per committed PATCH: every k-name and b-name in the store was written by a
# record, and each record writing them is in the store whole.
recs = [json.loads(l) for l in open(sys.argv[4]) if l.strip()]
audited = set()
for rec in recs:
    names = {c["name"].rstrip(".").lower() for c in rec["changes"]}
    audited |= names
noaudit = sorted(n for n in stored if n not in audited)
print("LOST", len(lost), " ".join(lost[:10]))
print("HALF", len(half), " ".join(half[:10]))
print("WRONG", len(wrong), " ".join(wrong[:10]))
print("BIGHALF", len(bighalf), " ".join(bighalf))
print("BIGLOST", len(biglost), " ".join(biglost))
print("NOAUDIT", len(noaudit), " ".join(noaudit[:10]))
print("BIGPRESENT", bigpresent, "of", len(bigres))
unacked = [n for n, c in results if c != "204" and f"k{n}.example.com" in stored]
print("UNACKED", len(unacked), " ".join(unacked[:10]))
print("BIGUNACKED", len(bigunacked), " ".join(bigunacked))
PY
sed 's/^/    /' "$IT_WORK/check.txt"
for k in LOST HALF WRONG BIGHALF BIGLOST NOAUDIT UNACKED BIGUNACKED; do
    assert_eq "$k 0" "$(grep "^$k " "$IT_WORK/check.txt" | cut -d' ' -f1,2)" "$k 0"
done

# --- pdns serves on -------------------------------------------------------------------------
assert_contains "$(dig_retry "$PORT" example.com SOA)" "hostmaster.example.com." "pdns answers after the last restart"
last=$(awk '$2 == 204 { n = $1 } END { print n }' "$RESULTS")
[ -z "$last" ] || assert_eq "\"v$last\"" "$(dig_retry "$PORT" "k$last.example.com" TXT)" "the last acknowledged PATCH is served"
printf '{"rrsets":[{"name":"final.example.com.","type":"TXT","ttl":60,"changetype":"REPLACE","records":[{"content":"\\"final\\"","disabled":false}]}]}' >"$IT_WORK/final.json"
code=000
for ((i = 0; i < 3; i++)); do code=$(patch "$IT_WORK/final.json"); [ "$code" = 204 ] && break; sleep 0.2; done
assert_eq 204 "$code" "PATCH after the last restart"
assert_eq '"final"' "$(dig_retry "$PORT" final.example.com TXT)" "and it is served"
it_finish
