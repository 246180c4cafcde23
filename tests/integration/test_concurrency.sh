#!/usr/bin/env bash
# tests/integration/test_concurrency.sh -- parallel API PATCHes to different zones and to the
# same zone (different RRsets) while a DNS query load runs. Afterwards every PATCH answered
# 204, the last write of every loop is what the store holds and dig answers (no lost update),
# RRsets nobody wrote are intact, and no DNS query got SERVFAIL or went unanswered.
#
# Ports: DNS 5367, API 8084. MXG_CONC_PATCHES sets the PATCHes per loop (default 60).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init

PORT=5367
API=8084
N=${MXG_CONC_PATCHES:-60}
MXG_LOG_LEVEL=info
mxg_write_config "$IT_WORK/mxguard"
# These tests are about the write path, not the mail guard: the test network's addresses are
# declared mail ranges so that MX records written here never count as mail moving away.
echo "mail-ranges=192.0.2.0/24,198.51.100.0/24,203.0.113.0/24,2001:db8::/32" >>"$MXG_CONF"
mxg_import_zones "example.com=$IT_ZONES_DIR/example.com.zone" "example.net=$IT_ZONES_DIR/example.net.zone" \
    "2.0.192.in-addr.arpa=$IT_ZONES_DIR/2.0.192.in-addr.arpa.zone"
mxg_start
pdns_start --kind remote --port "$PORT" --api-port "$API" --name pdns-remote

BASE="http://127.0.0.1:$API/api/v1/servers/localhost/zones"
serial() { dig_short "$PORT" "$1" SOA | awk '{print $3}'; }
declare -A S0
for z in example.com example.net 2.0.192.in-addr.arpa; do S0[$z]=$(serial "$z"); done

# patch_loop ID ZONE NAME TYPE -- N PATCHes of NAME/TYPE with content derived from ID and j;
# logs "j code" into $IT_WORK/loop.ID.
patch_loop() {
    local id=$1 zone=$2 name=$3 type=$4 j content code
    for ((j = 1; j <= N; j++)); do
        case $type in
            TXT) content="\\\"$id-$j\\\"" ;;
            A) content="198.51.100.$((j % 250 + 1))" ;;
            PTR) content="host$j.example.com." ;;
        esac
        code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -H 'X-API-Key: secret' -X PATCH \
            -H 'Content-Type: application/json' \
            --data "{\"rrsets\":[{\"name\":\"$name\",\"type\":\"$type\",\"ttl\":60,\"changetype\":\"REPLACE\",\"records\":[{\"content\":\"$content\",\"disabled\":false}]}]}" \
            "$BASE/$zone" 2>/dev/null) || code=000
        echo "$j $code" >>"$IT_WORK/loop.$id"
    done
}
# dns_loop ID -- bounded query load in dig batch mode; writes one status word per answer
# (or TIMEOUT-style error lines, and MISMATCH for a reply that was another query's) to
# $IT_WORK/dns.ID. Each loop asks from its own source address, 127.0.0.(10+ID): digs running
# side by side may otherwise get the same source port and take each other's replies (lib.sh,
# DIG_SOURCE).
dns_loop() {
    local id=$1 stop=$2 b DIG_SOURCE=127.0.0.$((10 + $1))
    local batch="$IT_WORK/batch.$id"
    : >"$batch"
    for q in "www.example.com A" "example.com SOA" "example.com MX" "mx1.example.net A" \
        "c1.example.com TXT" "c2.example.com TXT" "c3.example.net TXT" "nothere.example.com A" \
        "20.2.0.192.in-addr.arpa PTR" "blog.example.com A" "_sip._tcp.example.com SRV" "x.apps.example.com A"; do
        echo "$q" >>"$batch"
    done
    for ((b = 0; b < 200; b++)); do
        [ -e "$stop" ] && break
        dig_at "$PORT" -f "$batch" 2>&1 |
            sed -n -e 's/.*status: \([A-Z]*\).*/\1/p' -e 's/.*\(ID mismatch\).*/MISMATCH/p' \
                -e 's/.*\(connection timed out\|no servers could be reached\|communications error\).*/ERROR \1/p' \
            >>"$IT_WORK/dns.$id"
    done
}

stop="$IT_WORK/stop"
dns_pids=()
for i in 1 2 3; do dns_loop "$i" "$stop" & dns_pids+=($!); done
start=$SECONDS
patch_pids=()
patch_loop c1 example.com c1.example.com. TXT & patch_pids+=($!)
patch_loop c2 example.com c2.example.com. TXT & patch_pids+=($!)
patch_loop c2a example.com c2.example.com. A & patch_pids+=($!)
patch_loop c3 example.net c3.example.net. TXT & patch_pids+=($!)
patch_loop c4 example.net c4.example.net. TXT & patch_pids+=($!)
patch_loop c5 2.0.192.in-addr.arpa 200.2.0.192.in-addr.arpa. PTR & patch_pids+=($!)
for p in "${patch_pids[@]}"; do wait "$p" || true; done
it_log "$((6 * N)) PATCHes in $((SECONDS - start)) s"
touch "$stop"
for p in "${dns_pids[@]}"; do wait "$p" || true; done
# pdns's own count: every UDP query it received, it answered (none dropped for waiting too long).
udp_q=$(pdns_ctl show udp-queries) udp_a=$(pdns_ctl show udp-answers)
assert_eq "$udp_q" "$udp_a" "pdns answered every UDP query it received ($udp_q)"
assert_eq 0 "$(pdns_ctl show timedout-packets)" "pdns dropped no query for waiting on mxguard"

# --- every PATCH answered 204 -------------------------------------------------------------
for id in c1 c2 c2a c3 c4 c5; do
    n204=$(awk '$2 == 204' "$IT_WORK/loop.$id" | wc -l)
    assert_eq "$N" "$n204" "loop $id: all $N PATCHes answered 204"
    if [ "$n204" != "$N" ]; then awk '$2 != 204' "$IT_WORK/loop.$id" | head -n 5 | sed 's/^/       /'; fi
done

# --- no lost update: the last PATCH of each loop is what is served --------------------------
assert_answer "$PORT" c1.example.com TXT "\"c1-$N\""
assert_answer "$PORT" c2.example.com TXT "\"c2-$N\""
assert_answer "$PORT" c2.example.com A "198.51.100.$((N % 250 + 1))"
assert_answer "$PORT" c3.example.net TXT "\"c3-$N\""
assert_answer "$PORT" c4.example.net TXT "\"c4-$N\""
assert_answer "$PORT" 200.2.0.192.in-addr.arpa PTR "host$N.example.com."
# ... and what the store holds: exactly one record per RRset
for nt in "c1.example.com TXT" "c2.example.com TXT" "c2.example.com A" "c3.example.net TXT" "c4.example.net TXT" \
    "200.2.0.192.in-addr.arpa PTR"; do
    read -r nm ty <<<"$nt"
    assert_eq 1 "$(store_sql "select count(*) from records where name = '$nm' and type = '$ty'")" \
        "store holds exactly one $nm $ty"
done
# ... and RRsets nobody wrote are intact
assert_answer "$PORT" www.example.com A 192.0.2.20
assert_answer "$PORT" mx1.example.net A 198.51.100.25
assert_answer "$PORT" 20.2.0.192.in-addr.arpa PTR www.example.com.
assert_answer "$PORT" example.com MX '10 example.com.'

# --- serials grew (each PATCH bumps SOA-EDIT-API=DEFAULT) ------------------------------------
# Concurrent PATCHes of one zone each compute serial+1 from the SOA they read, so the final
# serial may be less than start+PATCHes (pdns decides the value, not mxguard); it must grow and
# never exceed start + PATCHes.
today=$(date -u +%Y%m%d)01
for z in example.com example.net 2.0.192.in-addr.arpa; do
    s=$(serial "$z")
    case $z in example.com) cnt=$((3 * N)) ;; example.net) cnt=$((2 * N)) ;; *) cnt=$N ;; esac
    # DEFAULT: the first bump jumps to YYYYMMDD01 when the serial is older, then +1 each.
    if [ "${S0[$z]}" -lt "$today" ]; then max=$((today + cnt - 1)); else max=$((S0[$z] + cnt)); fi
    it_log "$z serial ${S0[$z]} -> $s after $cnt PATCHes (at most $max)"
    if [ "$s" -gt "${S0[$z]}" ] && [ "$s" -le "$max" ]; then
        it_pass "$z serial grew, at most once per PATCH (${S0[$z]} -> $s, max $max)"
    else it_fail "$z serial ${S0[$z]} -> $s (expected above the start and at most $max)"; fi
done

# --- DNS under load ------------------------------------------------------------------------
cat "$IT_WORK"/dns.* >"$IT_WORK/dns.all"
nq=$(wc -l <"$IT_WORK/dns.all")
it_log "$nq DNS answers during the PATCHes: $(sort "$IT_WORK/dns.all" | uniq -c | tr '\n' ' ')"
[ "$nq" -ge 300 ] && it_pass "DNS load ran ($nq queries)" || it_fail "DNS load too small ($nq queries)"
assert_eq 0 "$(grep -c SERVFAIL "$IT_WORK/dns.all" || true)" "no SERVFAIL during the PATCHes"
assert_eq 0 "$(grep -c '^ERROR' "$IT_WORK/dns.all" || true)" "no unanswered query during the PATCHes"
assert_eq 0 "$(grep -c '^MISMATCH' "$IT_WORK/dns.all" || true)" "no reply reached a query it was not for"
if grep -q -E 'SERVFAIL|^ERROR|^MISMATCH' "$IT_WORK/dns.all"; then
    it_log "what mxguard and pdns logged about it:"
    grep -i -E 'warn|error|fail|timeout|timed out' "$MXG_LOG" "$PDNS_LOG" 2>/dev/null | tail -n 20 || true
fi
assert_eq 0 "$(grep -v -c -E '^(NOERROR|NXDOMAIN|SERVFAIL|MISMATCH|ERROR.*)$' "$IT_WORK/dns.all" || true)" \
    "only NOERROR/NXDOMAIN answers"

assert_eq ok "$(store_sql 'PRAGMA integrity_check')" "store integrity_check"
assert_eq 0 "$(grep -c -i -E 'commit .*refused|commit .*failed|busy|locked' "$MXG_LOG" || true)" \
    "mxguard logged no refused/failed commit or lock error"
grep -i -E 'commit .*refused|commit .*failed|busy|locked' "$MXG_LOG" | head -n 5 | sed 's/^/       /' || true
it_alive "$MXG_PID" && it_pass "mxguard still running" || it_fail "mxguard died"

it_finish
