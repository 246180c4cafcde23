#!/usr/bin/env bash
# bench/soak.sh -- a bounded soak of pdns on mxguard: DNS queries and API writes for a fixed
# time, watching mxguard's memory and file descriptors.
#
#   bench/soak.sh                    # 10 minutes
#   SOAK_SECONDS=120 bench/soak.sh   # a quick check
#
# Load, for SOAK_SECONDS:
#  - dnsperf sends bench/queries.txt (bench/zones/example.com.zone, NOERROR and NXDOMAIN
#    answers) to a pdns_server on mxguard, rate-limited to SOAK_QPS;
#  - a writer PATCHes zone soak.example through pdns's API every SOAK_WRITE_INTERVAL seconds,
#    alternating an allowed change (a TXT record, 50 names reused round-robin) and one the
#    guard refuses (the apex A, which MX names, moved to 203.0.113.x in mode=reject).
# Every SOAK_SAMPLE seconds: mxguard's VmRSS (/proc/PID/status) and open file descriptors
# (/proc/PID/fd), and pdns's VmRSS for reference.
#
# Unexpected errors: queries dnsperf lost (timeouts), answers other than NOERROR/NXDOMAIN,
# an allowed PATCH not answered 204, a refused one not answered 500, audit records that do not
# match the PATCHes, mxguard exiting. At the end it prints a summary and exits 1 when there
# was an unexpected error, when mxguard's RSS grew more than SOAK_RSS_GROWTH_KB between the
# end of the warm-up (SOAK_WARMUP seconds) and the end, when the open descriptors grew (the
# fewest in the last minute above the most in the first minute after the warm-up), or when
# `mxguard audit verify` or SQLite's integrity_check fails afterwards, or when mxguard does not
# exit with status 0 on SIGTERM at the end (with a sanitizer build: or reports anything).
#
# Everything listens on 127.0.0.1 (DNS SOAK_DNS_PORT, HTTP SOAK_API_PORT) or on unix sockets
# in the work dir; every process is stopped by PID on exit. The mxguard binary is copied into
# the work dir first.
#
# Environment (defaults in brackets):
#   MXGUARD              mxguard binary [<repo>/build/mxguard]
#   SOAK_SECONDS         length of the load [600]
#   SOAK_WARMUP          seconds before the RSS/fd baseline [60]
#   SOAK_SAMPLE          seconds between samples [10]
#   SOAK_QPS             dnsperf -Q [2000]    SOAK_CLIENTS dnsperf -c [2]
#   SOAK_WRITE_INTERVAL  seconds between PATCHes [0.5]
#   SOAK_RSS_GROWTH_KB   allowed RSS growth after the warm-up [8192]
#   SOAK_DNS_PORT        [5357] (5350-5359)   SOAK_API_PORT [8096] (8096-8098)
#   SOAK_OUT             results file [/tmp/mxguard-soak-<timestamp>.txt]
#   SOAK_TMP             parent of the work dir [/tmp]; SOAK_KEEP=1 keeps the work dir
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
MXGUARD=${MXGUARD:-$REPO/build/mxguard}
PDNS_SERVER=${PDNS_SERVER:-/usr/sbin/pdns_server}
DNSPERF=${DNSPERF:-dnsperf}
DIG=${DIG:-dig}
SECONDS_TOTAL=${SOAK_SECONDS:-600}
WARMUP=${SOAK_WARMUP:-60}
SAMPLE=${SOAK_SAMPLE:-10}
QPS=${SOAK_QPS:-2000}
CLIENTS=${SOAK_CLIENTS:-2}
WRITE_INTERVAL=${SOAK_WRITE_INTERVAL:-0.5}
RSS_BOUND_KB=${SOAK_RSS_GROWTH_KB:-8192}
PORT=${SOAK_DNS_PORT:-5357}
API=${SOAK_API_PORT:-8096}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${SOAK_OUT:-/tmp/mxguard-soak-$STAMP.txt}
ZONE=example.com
ZONEFILE=$BENCH_DIR/zones/example.com.zone
QUERIES=$BENCH_DIR/queries.txt
SZONE=soak.example
OLD=192.0.2.10

BENCH_TAG=soak
BENCH_KEEP=${SOAK_KEEP:-${BENCH_KEEP:-0}}
. "$BENCH_DIR/lib.sh"
# The writer loops end when this file appears (then their processes are stopped).
BENCH_ON_EXIT+=('[ -z "$WORK" ] || touch "$WORK/stop"')

in_range() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

# ------------------------------------------------------------------ preflight --

for tool in "$PDNS_SERVER" "$DNSPERF" "$DIG" curl sqlite3 python3; do
    command -v "$tool" >/dev/null || die "$tool not found (dnsperf: apt-get install -y dnsperf)"
done
[ -x "$MXGUARD" ] || die "mxguard binary $MXGUARD missing (build it first)"
port_free "$PORT" "$API"
in_range "$PORT" 5350 5359 || die "SOAK_DNS_PORT $PORT outside 5350-5359"
in_range "$API" 8096 8098 || die "SOAK_API_PORT $API outside 8096-8098"
[ "$SECONDS_TOTAL" -gt $((WARMUP + 2 * SAMPLE)) ] || die "SOAK_SECONDS must exceed SOAK_WARMUP + 2 samples"

mkdir -p "${SOAK_TMP:-/tmp}"
WORK=$(mktemp -d "${SOAK_TMP:-/tmp}/mxguard-soak.XXXX")
mkdir -p "$WORK/bin" "$WORK/mxguard" "$WORK/pdns"
cp "$MXGUARD" "$WORK/bin/mxguard"
MXG_SHA=$(sha256sum "$WORK/bin/mxguard" | cut -c1-16)
log "work dir $WORK"

# ------------------------------------------------------------------- mxguard --

M=$WORK/mxguard
CONF=$M/mxguard.conf
cat >"$CONF" <<EOF
backend-socket=$M/backend.sock
control-socket=$M/control.sock
store=sqlite:$M/store.sqlite3
log-level=warning
mode=reject
EOF
mxg() { "$WORK/bin/mxguard" "$@" --config "$CONF"; }
printf '$ORIGIN %s.\n$TTL 3600\n@ IN SOA ns1.example.net. hostmaster.%s. 2024010101 7200 3600 1209600 300\n@ IN NS ns1.example.net.\n@ IN A %s\n@ IN MX 10 @\nwww IN A 192.0.2.20\n' \
    "$SZONE" "$SZONE" "$OLD" >"$WORK/$SZONE.zone"
mxg import --zone "$ZONE" "$ZONEFILE" >"$M/import.log" 2>&1 || { cat "$M/import.log" >&2; die "import $ZONE failed"; }
mxg import --zone "$SZONE" "$WORK/$SZONE.zone" >>"$M/import.log" 2>&1 || { cat "$M/import.log" >&2; die "import $SZONE failed"; }
spawn "$M/mxguard.log" "$WORK/bin/mxguard" serve --config "$CONF"
MXG_PID=$LAST_PID
for ((i = 0; i < 100; i++)); do [ -S "$M/backend.sock" ] && break; alive "$MXG_PID" || break; sleep 0.05; done
[ -S "$M/backend.sock" ] || { cat "$M/mxguard.log" >&2; die "mxguard did not start"; }

# ---------------------------------------------------------------------- pdns --

D=$WORK/pdns
cat >"$D/pdns.conf" <<EOF
local-address=127.0.0.1
local-port=$PORT
socket-dir=$D
guardian=no
daemon=no
disable-syslog=yes
loglevel=4
cache-ttl=0
query-cache-ttl=0
negquery-cache-ttl=0
security-poll-suffix=
zone-cache-refresh-interval=300
launch=remote
remote-connection-string=unix:path=$M/backend.sock,timeout=2000
default-api-rectify=no
api=yes
api-key=secret
webserver=yes
webserver-address=127.0.0.1
webserver-port=$API
webserver-allow-from=127.0.0.1
EOF
spawn "$D/pdns.log" "$PDNS_SERVER" --config-dir="$D"
PDNS_PID=$LAST_PID
for ((i = 0; i < 60; i++)); do
    alive "$PDNS_PID" || break
    "$DIG" @127.0.0.1 -p "$PORT" +tries=1 +time=1 +norec "$ZONE" SOA >/dev/null 2>&1 && break
    sleep 0.25
done
"$DIG" @127.0.0.1 -p "$PORT" +tries=1 +time=1 +norec "$ZONE" SOA >/dev/null 2>&1 ||
    { tail -n 20 "$D/pdns.log" >&2; die "pdns did not answer on port $PORT"; }

# -------------------------------------------------------------------- writer --

URL="http://127.0.0.1:$API/api/v1/servers/localhost/zones/$SZONE"
WRITES=$WORK/writes.txt # "N KIND HTTPCODE"
: >"$WRITES"
writer() {
    local n=0 kind body code
    while [ ! -e "$WORK/stop" ]; do
        n=$((n + 1))
        if ((n % 2)); then
            kind=allow
            body="{\"rrsets\":[{\"name\":\"t$((n % 50)).$SZONE.\",\"type\":\"TXT\",\"ttl\":60,\"changetype\":\"REPLACE\",\"records\":[{\"content\":\"\\\"v$n\\\"\",\"disabled\":false}]}]}"
        else
            kind=refuse
            body="{\"rrsets\":[{\"name\":\"$SZONE.\",\"type\":\"A\",\"ttl\":3600,\"changetype\":\"REPLACE\",\"records\":[{\"content\":\"203.0.113.$((n % 200 + 1))\",\"disabled\":false}]}]}"
        fi
        code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -H 'X-API-Key: secret' -X PATCH \
            -H 'Content-Type: application/json' --data "$body" "$URL" 2>/dev/null) || code=000
        echo "$n $kind $code" >>"$WRITES"
        sleep "$WRITE_INTERVAL"
    done
}

# ---------------------------------------------------------------------- load --

SAMPLES=$WORK/samples.txt # "T RSS_KB FDS PDNS_RSS_KB"
: >"$SAMPLES"
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

log "load: ${SECONDS_TOTAL}s of dnsperf (-Q $QPS -c $CLIENTS) + a PATCH every ${WRITE_INTERVAL}s; samples every ${SAMPLE}s"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
spawn "$WORK/dnsperf.out" "$DNSPERF" -s 127.0.0.1 -p "$PORT" -d "$QUERIES" -l "$SECONDS_TOTAL" \
    -c "$CLIENTS" -q 32 -Q "$QPS" -t 2 -S "$SAMPLE"
PERF_PID=$LAST_PID
writer &
WRITER_PID=$!
PIDS+=("$WRITER_PID")
T0=$(date +%s)
printf '%s %s %s %s\n' 0 "$(rss_kb "$MXG_PID")" "$(nfds "$MXG_PID")" "$(rss_kb "$PDNS_PID")" >>"$SAMPLES"
died=""
next=$((T0 + SAMPLE))
while alive "$PERF_PID"; do
    now=$(date +%s)
    if [ "$now" -lt "$next" ]; then
        sleep 1
        continue
    fi
    next=$((next + SAMPLE))
    if ! alive "$MXG_PID"; then
        died="mxguard exited during the soak"
        break
    fi
    printf '%s %s %s %s\n' $((now - T0)) "$(rss_kb "$MXG_PID")" "$(nfds "$MXG_PID")" "$(rss_kb "$PDNS_PID")" >>"$SAMPLES"
    tail -n 1 "$SAMPLES" | awk '{ printf "[soak] t=%ss rss=%s kB fds=%s pdns_rss=%s kB\n", $1, $2, $3, $4 }' >&2
done
wait "$PERF_PID" 2>/dev/null || true
T1=$(date +%s)
touch "$WORK/stop"
wait "$WRITER_PID" 2>/dev/null || true
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
sleep 2
alive "$MXG_PID" || died="mxguard exited during the soak"
IDLE_FDS=$(nfds "$MXG_PID")
IDLE_RSS=$(rss_kb "$MXG_PID")

# ------------------------------------------------------------------- checks --

read -r SENT COMPLETED LOST QPS_DONE < <(awk '/Queries sent:/ { s = $3 } /Queries completed:/ { c = $3 }
    /Queries lost:/ { l = $3 } /Queries per second:/ { q = $4 } END { print s + 0, c + 0, l + 0, q + 0 }' "$WORK/dnsperf.out")
RCODES=$(sed -n 's/^ *Response codes: *//p' "$WORK/dnsperf.out" | tail -n 1)
BAD_RCODES=$(sed -n 's/^ *Response codes: *//p' "$WORK/dnsperf.out" | tail -n 1 | tr ',' '\n' |
    awk '$1 != "NOERROR" && $1 != "NXDOMAIN" && NF >= 2 { s += $2 } END { print s + 0 }')
N_WRITES=$(wc -l <"$WRITES")
N_ALLOW=$(awk '$2 == "allow"' "$WRITES" | wc -l)
N_REFUSE=$(awk '$2 == "refuse"' "$WRITES" | wc -l)
BAD_WRITES=$(awk '($2 == "allow" && $3 != 204) || ($2 == "refuse" && $3 != 500)' "$WRITES" | wc -l)
AUDIT_VERIFY=$(mxg audit verify 2>&1 | tail -n 1) && AUDIT_OK=yes || AUDIT_OK=no
AUDIT_COUNTS=$(mxg audit export | python3 -c 'import json, sys
n = {"allow": 0, "reject": 0, "other": 0}
for l in sys.stdin:
    if not l.strip(): continue
    r = json.loads(l)
    if r["zone"].rstrip(".").lower() != sys.argv[1] or r["source"] != "api": continue
    n[r["verdict"] if r["verdict"] in n else "other"] += 1
print(n["allow"], n["reject"], n["other"])' "$SZONE")
read -r A_ALLOW A_REJECT A_OTHER <<<"$AUDIT_COUNTS"
W_ALLOW=$(awk '$2 == "allow" && $3 == 204' "$WRITES" | wc -l)
W_REFUSE=$(awk '$2 == "refuse" && $3 == 500' "$WRITES" | wc -l)
AUDIT_MISMATCH=0
[ "$A_ALLOW" = "$W_ALLOW" ] && [ "$A_REJECT" = "$W_REFUSE" ] && [ "$A_OTHER" = 0 ] || AUDIT_MISMATCH=1
APEX=$("$DIG" @127.0.0.1 -p "$PORT" +norec +tries=2 +time=2 +short "$SZONE" A || true)
INTEGRITY=$(sqlite3 -cmd '.timeout 3000' "$M/store.sqlite3" 'PRAGMA integrity_check' 2>&1 || true)
COMMIT_ERRORS=$(grep -c 'failed' "$M/mxguard.log" || true)

# The daemon's own end: SIGTERM, exit status 0; a sanitizer build reports leaks here.
kill -TERM "$MXG_PID" 2>/dev/null || true
for ((i = 0; i < 100; i++)); do alive "$MXG_PID" || break; sleep 0.1; done
MXG_EXIT=0
if alive "$MXG_PID"; then
    MXG_EXIT="still running 10 s after SIGTERM"
else
    wait "$MXG_PID" || MXG_EXIT=$?
fi
SANITIZER=$(grep -cE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$M/mxguard.log" || true)

# RSS and fds: first/last/max over the samples; the baseline is the first sample at or after the
# warm-up; fds grow when the fewest in the last minute exceed the most in the first minute after
# the warm-up.
read -r RSS_FIRST RSS_LAST RSS_MAX RSS_BASE FD_FIRST FD_LAST FD_MAX FD_BASE_MAX FD_TAIL_MIN NS < <(
    awk -v w="$WARMUP" '{ t[NR] = $1; r[NR] = $2; f[NR] = $3 }
    END {
        end = t[NR]; base = 0
        for (i = 1; i <= NR; i++) {
            if (r[i] > rmax) rmax = r[i]
            if (f[i] > fmax) fmax = f[i]
            if (!base && t[i] >= w) base = i
            if (t[i] >= w && t[i] < w + 60 && f[i] > fbmax) fbmax = f[i]
            if (t[i] > end - 60 && (ftmin == "" || f[i] < ftmin)) ftmin = f[i]
        }
        if (!base) base = NR
        print r[1], r[NR], rmax, r[base], f[1], f[NR], fmax, fbmax, ftmin, NR
    }' "$SAMPLES")
RSS_GROWTH=$((RSS_LAST - RSS_BASE))

FAILS=()
[ -z "$died" ] || FAILS+=("$died")
[ "$LOST" -eq 0 ] || FAILS+=("$LOST queries lost (timeouts)")
[ "$BAD_RCODES" -eq 0 ] || FAILS+=("$BAD_RCODES answers other than NOERROR/NXDOMAIN")
[ "$COMPLETED" -gt 0 ] || FAILS+=("no query completed")
[ "$BAD_WRITES" -eq 0 ] || FAILS+=("$BAD_WRITES PATCHes with an unexpected status")
[ "$W_ALLOW" -gt 0 ] && [ "$W_REFUSE" -gt 0 ] || FAILS+=("the writer did not get both kinds of answer")
[ "$AUDIT_MISMATCH" -eq 0 ] || FAILS+=("audit records (allow $A_ALLOW, reject $A_REJECT, other $A_OTHER) do not match the PATCHes (204: $W_ALLOW, 500: $W_REFUSE)")
[ "$AUDIT_OK" = yes ] || FAILS+=("audit verify failed: $AUDIT_VERIFY")
[ "$INTEGRITY" = ok ] || FAILS+=("integrity_check: $INTEGRITY")
[ "$APEX" = "$OLD" ] || FAILS+=("the apex of $SZONE is '$APEX', not $OLD")
[ "$COMMIT_ERRORS" -eq 0 ] || FAILS+=("$COMMIT_ERRORS failures in mxguard's log")
[ "$MXG_EXIT" = 0 ] || FAILS+=("mxguard's exit after SIGTERM: $MXG_EXIT")
[ "$SANITIZER" -eq 0 ] || FAILS+=("$SANITIZER sanitizer reports in mxguard's log")
[ "$RSS_GROWTH" -le "$RSS_BOUND_KB" ] || FAILS+=("RSS grew ${RSS_GROWTH} kB after the warm-up (bound ${RSS_BOUND_KB} kB)")
[ "$FD_TAIL_MIN" -le "$FD_BASE_MAX" ] || FAILS+=("open fds grew: at least $FD_TAIL_MIN in the last minute, at most $FD_BASE_MAX in the first minute after the warm-up")

{
    echo "mxguard soak $STAMP"
    echo
    echo "machine:   $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
    echo "load avg:  start $LOAD_START, end $LOAD_END"
    echo "mxguard:   $MXGUARD (sha256 $MXG_SHA...)"
    echo "settings:  ${SECONDS_TOTAL}s, warm-up ${WARMUP}s, samples every ${SAMPLE}s; dnsperf -Q $QPS -c $CLIENTS" \
        "on $QUERIES; a PATCH every ${WRITE_INTERVAL}s"
    echo "duration:  $((T1 - T0)) s, $NS samples"
    echo
    echo "queries:   $COMPLETED completed of $SENT sent, $QPS_DONE q/s, lost $LOST"
    echo "rcodes:    $RCODES"
    echo "writes:    $N_WRITES PATCHes: $N_ALLOW allowed (204: $W_ALLOW), $N_REFUSE refused by the guard (500: $W_REFUSE)"
    echo "audit:     api records for $SZONE: allow $A_ALLOW, reject $A_REJECT, other $A_OTHER; verify: $AUDIT_OK ($AUDIT_VERIFY)"
    echo "store:     integrity_check $INTEGRITY; apex of $SZONE: $APEX"
    echo "errors:    lost $LOST, bad rcodes $BAD_RCODES, bad PATCH statuses $BAD_WRITES, log failures $COMMIT_ERRORS"
    echo "exit:      mxguard after SIGTERM: status $MXG_EXIT; sanitizer reports: $SANITIZER"
    echo
    echo "mxguard RSS (kB):  first $RSS_FIRST, at warm-up end $RSS_BASE, last $RSS_LAST, max $RSS_MAX;" \
        "growth after warm-up $RSS_GROWTH (bound $RSS_BOUND_KB); idle after the load $IDLE_RSS"
    echo "mxguard fds:       first $FD_FIRST, last $FD_LAST, max $FD_MAX; first minute after warm-up max" \
        "$FD_BASE_MAX, last minute min $FD_TAIL_MIN; idle after the load $IDLE_FDS"
    echo
    if [ ${#FAILS[@]} -eq 0 ]; then
        echo "result:    PASS"
    else
        echo "result:    FAIL"
        printf '  - %s\n' "${FAILS[@]}"
    fi
    echo
    echo "== samples (t s, mxguard RSS kB, mxguard fds, pdns RSS kB) =="
    cat "$SAMPLES"
    echo
    echo "== dnsperf =="
    sed -n '/^Statistics:/,$p' "$WORK/dnsperf.out"
} >"$OUT"
cat "$OUT"
log "results in $OUT"
[ ${#FAILS[@]} -eq 0 ]
