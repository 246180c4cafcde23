#!/usr/bin/env bash
# bench/run.sh -- mxguard benchmark: pdns queries/s on four backends, then mxguard alone.
#
#   bench/run.sh                                   # full run, ~7 min
#   BENCH_DURATION=2 BENCH_WARMUP=1 bench/run.sh   # quick check, ~1.5 min
#
# Part 1: one pdns_server per backend (mxguard, gsqlite3, bind, floor = bench/floor_backend),
# all on the same zone (bench/zones/example.com.zone) with pdns's caches off. dnsperf sends
# the same query mix (bench/queries.txt) to each in turn; the order rotates every round.
# Per measured run: queries/s, and the CPU time (utime+stime from /proc/PID/stat) that pdns
# and the backend process used, divided by the queries answered.
# Part 2: bench/lookup_client straight on the backend socket (no pdns), 4 connections, one
# request in flight each, replaying the lookups pdns sent for queries.txt (captured from a
# pdns on a tracing floor_backend). mxguard and the floor alternate; mxguard's CPU per lookup
# comes from /proc/PID/stat too.
# Part 3 (when perf is there): a perf profile of mxguard under the part-2 load, by function.
#
# Everything listens on 127.0.0.1:5350-5359 or on unix sockets in the work dir; every
# process is stopped by PID on exit. The mxguard binary is copied into the work dir first so
# a rebuild during the run cannot change what is measured.
#
# Environment (defaults in brackets):
#   MXGUARD            mxguard binary [<repo>/build/mxguard]
#   BENCH_ROUNDS       rounds of part 1, each backend once per round [5]
#   BENCH_DURATION     seconds per measured dnsperf run [10]
#   BENCH_WARMUP       seconds of dnsperf before each measured run [2]
#   BENCH_CLIENTS      dnsperf -c [4]       BENCH_OUTSTANDING  dnsperf -q [64]
#   LC_RUNS            lookup_client runs per backend in part 2 [5]
#   LC_DURATION        seconds per lookup_client run [BENCH_DURATION]
#   LC_CONNS           lookup_client connections [4]
#   BENCH_PROFILE      1: finish with a perf profile of mxguard (part 3), 0: skip [1]
#   BENCH_PROFILE_COUNT  lookups sent while perf records [200000]
#   BENCH_BACKENDS     which backends part 1 measures ["mxguard gsqlite3 bind floor"]
#   BENCH_OUT          results file [/tmp/mxguard-bench-<timestamp>.txt]
#   BENCH_TMP          parent of the work dir [/tmp]; BENCH_KEEP=1 keeps the work dir
#   BENCH_DATASET      small: bench/zones/example.com.zone and bench/queries.txt [small];
#                      scale: bench/scale_gen.py's hosting store (2,001 zones, ~106k records)
#                      and its Zipf-like stream, generated in the work dir from BENCH_SEED [1]
#                      with BENCH_QUERIES [1000000] queries
#   BENCH_CACHES       off: pdns's packet and query caches off [off]; on: pdns's defaults
#   BENCH_CHECK        queries of the stream whose answers are compared [1000]
#   BENCH_CAPTURE      queries of the stream whose lookups part 2 replays [100000]
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
MXGUARD=${MXGUARD:-$REPO/build/mxguard}
PDNS_SERVER=${PDNS_SERVER:-/usr/sbin/pdns_server}
PDNSUTIL=${PDNSUTIL:-pdnsutil}
DNSPERF=${DNSPERF:-dnsperf}
DIG=${DIG:-dig}
SCHEMA=${PDNS_SQLITE_SCHEMA:-/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql}
ROUNDS=${BENCH_ROUNDS:-5}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
CLIENTS=${BENCH_CLIENTS:-4}
OUTSTANDING=${BENCH_OUTSTANDING:-64}
LC_RUNS=${LC_RUNS:-5}
LC_DURATION=${LC_DURATION:-$DURATION}
LC_CONNS=${LC_CONNS:-4}
PROFILE=${BENCH_PROFILE:-1}
PROFILE_COUNT=${BENCH_PROFILE_COUNT:-200000}
read -r -a BACKENDS <<<"${BENCH_BACKENDS:-mxguard gsqlite3 bind floor}"
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=${BENCH_OUT:-/tmp/mxguard-bench-$STAMP.txt}
DATASET=${BENCH_DATASET:-small}
CACHES=${BENCH_CACHES:-off}
ZONE=example.com
ZONEFILE=$BENCH_DIR/zones/example.com.zone
QUERIES=$BENCH_DIR/queries.txt
CLK_TCK=$(getconf CLK_TCK)

# Ports: one pdns per backend, plus one for the capture pdns.
declare -A PORT=([mxguard]=5351 [gsqlite3]=5352 [bind]=5353 [floor]=5354)
CAPTURE_PORT=5355

BENCH_TAG=bench
. "$BENCH_DIR/lib.sh"

# cpu_ticks PID -- utime+stime of the process (all its threads), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# ------------------------------------------------------------------ preflight --

for tool in "$PDNS_SERVER" "$PDNSUTIL" "$DNSPERF" "$DIG" gcc sqlite3 pkg-config; do
    command -v "$tool" >/dev/null || die "$tool not found (dnsperf: apt-get install -y dnsperf)"
done
[ -x "$MXGUARD" ] || die "mxguard binary $MXGUARD missing (build it first)"
port_free "${PORT[@]}" "$CAPTURE_PORT"
[ -f "$SCHEMA" ] || die "gsqlite3 schema $SCHEMA missing"

mkdir -p "${BENCH_TMP:-/tmp}"
WORK=$(mktemp -d "${BENCH_TMP:-/tmp}/mxguard-bench.XXXX")
log "work dir $WORK, results to $OUT"

# Build the two bench programs (not part of the CMake build).
mkdir -p "$WORK/bin"
CFLAGS="-std=c11 -O2 -g -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes"
# shellcheck disable=SC2046,SC2086
gcc $CFLAGS $(pkg-config --cflags jansson) -o "$WORK/bin/floor_backend" \
    "$BENCH_DIR/floor_backend.c" $(pkg-config --libs jansson) || die "cannot build floor_backend"
# shellcheck disable=SC2086
gcc $CFLAGS -o "$WORK/bin/lookup_client" "$BENCH_DIR/lookup_client.c" || die "cannot build lookup_client"
cp "$MXGUARD" "$WORK/bin/mxguard"
MXG_SHA=$(sha256sum "$WORK/bin/mxguard" | cut -c1-16)

case $DATASET in
small) ;;
scale)
    SCALE=$WORK/scale
    log "generating the scale dataset (seed ${BENCH_SEED:-1})"
    python3 "$BENCH_DIR/scale_gen.py" --out "$SCALE" --seed "${BENCH_SEED:-1}" \
        --queries "${BENCH_QUERIES:-1000000}" >"$WORK/scale.log" || die "scale_gen.py failed"
    ZONE=c00000.hosting.test
    QUERIES=$SCALE/queries.txt
    ;;
*) die "BENCH_DATASET must be small or scale" ;;
esac
case $CACHES in on | off) ;; *) die "BENCH_CACHES must be on or off" ;; esac

# ---------------------------------------------------------------- pdns setup --

# pdns_conf DIR PORT -- the common part of every pdns.conf.
pdns_conf() {
    mkdir -p "$1"
    cat >"$1/pdns.conf" <<EOF
local-address=127.0.0.1
local-port=$2
socket-dir=$1
guardian=no
daemon=no
disable-syslog=yes
loglevel=4
cache-ttl=0
query-cache-ttl=0
negquery-cache-ttl=0
security-poll-suffix=
api=no
webserver=no
allow-axfr-ips=127.0.0.0/8
EOF
    if [ "$CACHES" = on ]; then # pdns's defaults
        sed -i '/^cache-ttl=/d; /^query-cache-ttl=/d; /^negquery-cache-ttl=/d' "$1/pdns.conf"
    fi
}

declare -A PDNS_PID BACKEND_PID
start_pdns() { # NAME DIR PORT
    spawn "$2/pdns.log" "$PDNS_SERVER" --config-dir="$2"
    PDNS_PID[$1]=$LAST_PID
    wait_dns "$3" "$LAST_PID" || { tail -n 20 "$2/pdns.log" >&2; die "pdns ($1) did not answer on port $3"; }
}

# bind: the zone file as is.
D=$WORK/pdns-bind
pdns_conf "$D" "${PORT[bind]}"
if [ "$DATASET" = scale ]; then
    cp "$SCALE/named.conf" "$D/named.conf"
else
    printf 'options { directory "%s"; };\nzone "%s" { type master; file "%s"; };\n' \
        "$BENCH_DIR/zones" "$ZONE" "$ZONEFILE" >"$D/named.conf"
fi
printf 'launch=bind\nbind-config=%s\n' "$D/named.conf" >>"$D/pdns.conf"
start_pdns bind "$D" "${PORT[bind]}"
BACKEND_PID[bind]=""

# The floor's records: what pdns on bind transfers out, as name TAB type TAB ttl TAB content.
"$DIG" @127.0.0.1 -p "${PORT[bind]}" "$ZONE" AXFR +noall +answer >"$WORK/axfr.txt"
# dig separates the first fields by tabs or (after a long name) a space; the content is the
# rest of the line after the fourth field.
awk '!seen[$0]++ && NF >= 5 { c = $0; sub(/^[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+/, "", c);
    print $1 "\t" $4 "\t" $2 "\t" c }' "$WORK/axfr.txt" >"$WORK/records.tsv"
# The scale store: every zone's records as generated (the AXFR above checks one zone loaded).
if [ "$DATASET" = scale ]; then cp "$SCALE/records.tsv" "$WORK/records.tsv"; fi
NRECORDS=$(wc -l <"$WORK/records.tsv")
[ "$NRECORDS" -gt 10 ] || die "AXFR from pdns+bind gave only $NRECORDS records"
NNAMES=$(cut -f1 "$WORK/records.tsv" | sort -u | wc -l)

# gsqlite3: pdnsutil load-zone into a fresh database (the zone has no empty non-terminals,
# so there is nothing to rectify).
D=$WORK/pdns-gsqlite3
pdns_conf "$D" "${PORT[gsqlite3]}"
sqlite3 "$D/pdns.sqlite3" <"$SCHEMA"
printf 'launch=gsqlite3\ngsqlite3-database=%s\n' "$D/pdns.sqlite3" >>"$D/pdns.conf"
if [ "$DATASET" = scale ]; then
    sqlite3 "$D/pdns.sqlite3" <"$SCALE/gsqlite3.sql" || die "loading the scale rows failed"
else
    "$PDNSUTIL" --config-dir="$D" load-zone "$ZONE" "$ZONEFILE" >"$D/pdnsutil.log" 2>&1 ||
        { cat "$D/pdnsutil.log" >&2; die "pdnsutil load-zone failed"; }
fi
start_pdns gsqlite3 "$D" "${PORT[gsqlite3]}"
BACKEND_PID[gsqlite3]=""

# mxguard
M=$WORK/mxguard
mkdir -p "$M"
MXG_SOCK=$M/backend.sock
cat >"$M/mxguard.conf" <<EOF
backend-socket=$MXG_SOCK
control-socket=$M/control.sock
store=sqlite:$M/store.sqlite3
log-level=warning
EOF
if [ "$DATASET" = scale ]; then
    # mxguard serves pdns's gsqlite3 schema: the same database, copied.
    cp "$WORK/pdns-gsqlite3/pdns.sqlite3" "$M/store.sqlite3"
else
    "$WORK/bin/mxguard" import --zone "$ZONE" "$ZONEFILE" --config "$M/mxguard.conf" >"$M/import.log" 2>&1 ||
        { cat "$M/import.log" >&2; die "mxguard import failed"; }
fi
spawn "$M/mxguard.log" "$WORK/bin/mxguard" serve --config "$M/mxguard.conf"
BACKEND_PID[mxguard]=$LAST_PID
wait_socket "$MXG_SOCK" "$LAST_PID" || { cat "$M/mxguard.log" >&2; die "mxguard did not start"; }
D=$WORK/pdns-mxguard
pdns_conf "$D" "${PORT[mxguard]}"
printf 'launch=remote\nremote-connection-string=unix:path=%s,timeout=2000\n' "$MXG_SOCK" >>"$D/pdns.conf"
start_pdns mxguard "$D" "${PORT[mxguard]}"

# floor
F=$WORK/floor
mkdir -p "$F"
FLOOR_SOCK=$F/backend.sock
spawn "$F/floor.log" "$WORK/bin/floor_backend" -s "$FLOOR_SOCK" -t "$WORK/records.tsv" -z "$ZONE"
BACKEND_PID[floor]=$LAST_PID
wait_socket "$FLOOR_SOCK" "$LAST_PID" || { cat "$F/floor.log" >&2; die "floor_backend did not start"; }
D=$WORK/pdns-floor
pdns_conf "$D" "${PORT[floor]}"
printf 'launch=remote\nremote-connection-string=unix:path=%s,timeout=2000\n' "$FLOOR_SOCK" >>"$D/pdns.conf"
start_pdns floor "$D" "${PORT[floor]}"

# --------------------------------------------------- same answers everywhere --

# For every query of the mix: rcode and sorted answer section, compared with bind's.
MISMATCH=0
while read -r qn qt; do
    [ -n "$qn" ] || continue
    ref=""
    for b in bind gsqlite3 mxguard floor; do
        got=$("$DIG" @127.0.0.1 -p "${PORT[$b]}" +norec +tries=1 +time=2 "$qn" "$qt" 2>&1 |
            awk '/status:/ { sub(/,.*/, "", $6); print "rcode " $6 }
                 /^[^;]/ && NF >= 5 { $2 = ""; print }' | sort | tr '\n' '|')
        if [ "$b" = bind ]; then
            ref=$got
        elif [ "$got" != "$ref" ]; then
            MISMATCH=$((MISMATCH + 1))
            echo "answers differ for $qn $qt: bind [$ref] $b [$got]" >>"$WORK/mismatch.txt"
            log "answers differ for $qn $qt: bind [$ref] $b [$got]"
        fi
    done
done < <(head -n "${BENCH_CHECK:-1000}" "$QUERIES")
log "answer check: $(head -n "${BENCH_CHECK:-1000}" "$QUERIES" | grep -c .) queries x 4 backends, $MISMATCH mismatches"

# ------------------------------------------- capture the lookups pdns sends --

C=$WORK/capture
mkdir -p "$C"
spawn "$C/floor.log" "$WORK/bin/floor_backend" -s "$C/backend.sock" -t "$WORK/records.tsv" \
    -z "$ZONE" -r "$C/trace.jsonl"
CAP_FLOOR=$LAST_PID
wait_socket "$C/backend.sock" "$CAP_FLOOR" || die "capture floor_backend did not start"
pdns_conf "$C" "$CAPTURE_PORT"
printf 'launch=remote\nremote-connection-string=unix:path=%s,timeout=2000\n' "$C/backend.sock" >>"$C/pdns.conf"
start_pdns capture "$C" "$CAPTURE_PORT"
: >"$C/trace.jsonl" # drop the start-up and readiness-probe requests
head -n "${BENCH_CAPTURE:-100000}" "$QUERIES" >"$WORK/capture-queries.txt"
"$DNSPERF" -s 127.0.0.1 -p "$CAPTURE_PORT" -d "$WORK/capture-queries.txt" -n 1 -c 1 -q 10 >"$C/dnsperf.log" 2>&1 ||
    die "dnsperf failed against the capture pdns"
grep '"method": *"lookup"' "$C/trace.jsonl" >"$WORK/lookup-mix.jsonl" || true
NMIX=$(wc -l <"$WORK/lookup-mix.jsonl")
NQ=$(grep -c . "$WORK/capture-queries.txt")
[ "$NMIX" -gt 0 ] || die "captured no lookups"
NOTHER=$(grep -vc '"method": *"lookup"' "$C/trace.jsonl" || true)
log "captured $NMIX lookups (+$NOTHER other requests) for $NQ queries"
stop_pid "${PDNS_PID[capture]}"
stop_pid "$CAP_FLOOR"

# ------------------------------------------------------------ part 1: pdns --

RAW=$WORK/raw.txt
: >"$RAW"
# dnsperf_run PORT SECONDS -- prints "completed qps lost"
dnsperf_run() {
    "$DNSPERF" -s 127.0.0.1 -p "$1" -d "$QUERIES" -l "$2" -c "$CLIENTS" -q "$OUTSTANDING" -t 2 \
        >"$WORK/dnsperf.out" 2>&1 || { cat "$WORK/dnsperf.out" >&2; die "dnsperf failed"; }
    awk '/Queries completed:/ { c = $3 } /Queries lost:/ { l = $3 }
         /Queries per second:/ { q = $4 } END { print c, q, l }' "$WORK/dnsperf.out"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)
log "part 1: ${#BACKENDS[@]} backends x $ROUNDS rounds x (${WARMUP}s warm-up + ${DURATION}s)"
for ((r = 1; r <= ROUNDS; r++)); do
    n=${#BACKENDS[@]}
    for ((k = 0; k < n; k++)); do
        b=${BACKENDS[$(((k + r - 1) % n))]}
        port=${PORT[$b]}
        pp=${PDNS_PID[$b]}
        bp=${BACKEND_PID[$b]}
        if [ "$WARMUP" != 0 ]; then dnsperf_run "$port" "$WARMUP" >/dev/null; fi
        p0=$(cpu_ticks "$pp")
        b0=0
        [ -z "$bp" ] || b0=$(cpu_ticks "$bp")
        read -r completed qps lost < <(dnsperf_run "$port" "$DURATION")
        p1=$(cpu_ticks "$pp")
        b1=0
        [ -z "$bp" ] || b1=$(cpu_ticks "$bp")
        pdns_us=$(awk -v d=$((p1 - p0)) -v n="$completed" -v h="$CLK_TCK" 'BEGIN { printf "%.1f", d / h * 1e6 / n }')
        be_us=$(awk -v d=$((b1 - b0)) -v n="$completed" -v h="$CLK_TCK" 'BEGIN { printf "%.1f", d / h * 1e6 / n }')
        [ -n "$bp" ] || be_us=0
        echo "pdns $b round=$r qps=$qps completed=$completed lost=$lost pdns_cpu_us=$pdns_us backend_cpu_us=$be_us" >>"$RAW"
        log "round $r/$ROUNDS $b: $qps q/s (lost $lost), pdns ${pdns_us} us/q, backend ${be_us} us/q"
    done
done

# -------------------------------------------------- part 2: lookup_client --

log "part 2: lookup_client, $LC_CONNS connections, $LC_RUNS runs x ${LC_DURATION}s per backend"
declare -A LC_SOCK=([mxguard]=$MXG_SOCK [floor]=$FLOOR_SOCK)
for ((r = 1; r <= LC_RUNS; r++)); do
    for b in mxguard floor; do
        bp=${BACKEND_PID[$b]}
        b0=$(cpu_ticks "$bp")
        line=$("$WORK/bin/lookup_client" -s "${LC_SOCK[$b]}" -q "$WORK/lookup-mix.jsonl" \
            -c "$LC_CONNS" -d "$LC_DURATION" -w 1) || die "lookup_client failed against $b: $line"
        b1=$(cpu_ticks "$bp")
        # CPU over warm-up + measurement, divided by every lookup answered in both.
        n=$(sed -n 's/.* total=\([0-9]*\).*/\1/p' <<<"$line")
        us=$(awk -v d=$((b1 - b0)) -v n="$n" -v h="$CLK_TCK" 'BEGIN { printf "%.2f", d / h * 1e6 / n }')
        echo "lc $b run=$r $line backend_cpu_us=$us" >>"$RAW"
        log "lookup_client run $r $b: $line, backend ${us} us/lookup"
    done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
T_END=$(date +%s)

# -------------------------------------------------------- part 3: profile --

# perf record (DWARF call graphs) on mxguard while lookup_client sends PROFILE_COUNT lookups.
# Reported: mxguard's CPU split by library, mxguard's own functions by inclusive share, and
# the library entry points they spend it in.
PROFILE_TXT=$WORK/profile.txt
: >"$PROFILE_TXT"
if [ "$PROFILE" != 0 ] && command -v perf >/dev/null; then
    log "part 3: perf profile of mxguard over $PROFILE_COUNT lookups"
    perf record -F 1999 --call-graph dwarf,16384 -p "${BACKEND_PID[mxguard]}" -o "$WORK/perf.data" \
        >"$WORK/perf.log" 2>&1 &
    PERF_PID=$!
    PIDS+=("$PERF_PID")
    sleep 0.5
    pline=$("$WORK/bin/lookup_client" -s "$MXG_SOCK" -q "$WORK/lookup-mix.jsonl" -c "$LC_CONNS" \
        -n "$PROFILE_COUNT") || die "lookup_client failed under perf: $pline"
    kill -INT "$PERF_PID" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do alive "$PERF_PID" || break; sleep 0.1; done
    stop_pid "$PERF_PID"
    if [ -s "$WORK/perf.data" ]; then
        nm "$WORK/bin/mxguard" | awk '$2 ~ /^[tT]$/ { print $3 }' | sort -u >"$WORK/mxg-syms.txt"
        perf report -i "$WORK/perf.data" --children --stdio --sort sym -g none 2>/dev/null |
            awk '/^ +[0-9.]+%/ { sym = $4; for (i = 5; i <= NF; i++) sym = sym " " $i;
                 print $1 "\t" $2 "\t" sym }' >"$WORK/perf-children.tsv"
        {
            echo "load: $pline"
            echo
            echo "share of mxguard's CPU samples by library (self):"
            perf report -i "$WORK/perf.data" --no-children --stdio --sort dso -g none 2>/dev/null |
                awk '/^ +[0-9.]+%/ && $1 + 0 >= 0.5 { printf "  %8s  %s\n", $1, $2 }'
            echo
            echo "mxguard's own functions, inclusive share (>= 1%):"
            awk -F'\t' 'NR == FNR { own[$1] = 1; next }
                 { s = $3; sub(/ \(inlined\)$/, "", s) }
                 (s in own) && $1 + 0 >= 1 { printf "  %8s  %s\n", $1, $3 }' \
                "$WORK/mxg-syms.txt" "$WORK/perf-children.tsv"
            echo
            echo "library entry points, inclusive share:"
            awk -F'\t' '$3 ~ /^(sqlite3_step|sqlite3_reset|sqlite3BtreeBeginTrans|sqlite3PagerSharedLock|sqlite3VdbeHalt|__fcntl64_nocancel_adjusted|json_loadb|json_dumpb|json_pack|json_delete|__GI___libc_write|__GI___libc_read|epoll_wait|malloc|_int_malloc|free|_int_free|cfree@GLIBC_2.2.5|__x64_sys_fcntl|finish_task_switch.isra.0)$/ &&
                 !seen[$3]++ { printf "  %8s  %s\n", $1, $3 }' "$WORK/perf-children.tsv"
        } >"$PROFILE_TXT"
    else
        echo "perf recorded nothing (see $WORK/perf.log)" >"$PROFILE_TXT"
    fi
fi

# ---------------------------------------------------------------- results --

# field KEY -- value of KEY= on each line of stdin
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
med() { grep "^$1 $2 " "$RAW" | field "$3" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }

{
    echo "mxguard benchmark $STAMP"
    echo
    echo "machine:   $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
    echo "           $(uname -sr), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2 / 1048576}' /proc/meminfo)"
    echo "           dnsperf, pdns_server, the backend and lookup_client all share these CPUs"
    echo "load avg:  start $LOAD_START, end $LOAD_END (1/5/15 min; includes this benchmark)"
    echo "pdns:      $("$PDNS_SERVER" --version 2>&1 | sed -n 's/.*PowerDNS Authoritative Server \([^ ]*\).*/\1/p' | head -1)," \
        "$([ "$CACHES" = off ] && echo "caches off (cache-ttl=0 query-cache-ttl=0 negquery-cache-ttl=0)" || echo "caches on (pdns's defaults)"), default threads"
    echo "mxguard:   $MXGUARD (sha256 $MXG_SHA...)"
    if [ "$DATASET" = scale ]; then
        echo "dataset:   scale, $(head -n 1 "$SCALE/summary.txt") ($NRECORDS records, $NNAMES names)"
        sed -n '2,4p' "$SCALE/summary.txt" | sed 's/^/           /'
    else
        echo "zone:      $ZONEFILE ($NRECORDS records, $NNAMES names)"
    fi
    echo "queries:   $QUERIES ($(grep -c . "$QUERIES") queries); the first ${BENCH_CHECK:-1000} answered identically on all 4 backends: $([ "$MISMATCH" -eq 0 ] && echo yes || echo "NO, $MISMATCH mismatches")"
    echo "settings:  rounds=$ROUNDS duration=${DURATION}s warmup=${WARMUP}s dnsperf -c $CLIENTS -q $OUTSTANDING;" \
        "lookup_client runs=$LC_RUNS duration=${LC_DURATION}s conns=$LC_CONNS"
    echo "lookup mix: $NMIX lookups pdns sent for the $NQ queries ($(awk -v a="$NMIX" -v b="$NQ" 'BEGIN { printf "%.2f", a / b }') per query)"
    echo "wall time: $((T_END - T_START)) s measured"
    echo
    echo "== pdns on each backend (medians over $ROUNDS rounds) =="
    printf '%-10s %10s %12s %14s %14s %10s\n' backend "q/s" "pdns us/q" "backend us/q" "total us/q" "lost"
    for b in "${BACKENDS[@]}"; do
        q=$(med pdns "$b" qps)
        pu=$(med pdns "$b" pdns_cpu_us)
        bu=$(med pdns "$b" backend_cpu_us)
        lost=$(grep "^pdns $b " "$RAW" | field lost | awk '{s += $1} END {print s + 0}')
        tot=$(grep "^pdns $b " "$RAW" | awk '{for (i = 1; i <= NF; i++) {split($i, kv, "=");
            v[kv[1]] = kv[2]}; print v["pdns_cpu_us"] + v["backend_cpu_us"]}' | median)
        printf '%-10s %10.0f %12.1f %14s %14.1f %10s\n' "$b" "$q" "$pu" \
            "$([ -z "${BACKEND_PID[$b]}" ] && echo "(in pdns)" || echo "$bu")" "$tot" "$lost"
        eval "Q_$b=$q"
    done
    echo
    echo "== ratios of pdns q/s (medians) =="
    for b in floor gsqlite3 bind; do
        v="Q_$b"
        if [ -n "${!v:-}" ] && [ -n "${Q_mxguard:-}" ]; then
            printf 'mxguard/%-9s %s\n' "$b" "$(ratio "$Q_mxguard" "${!v}")"
        fi
    done
    echo
    echo "== lookup_client straight on the backend socket, $LC_CONNS connections (medians over $LC_RUNS runs) =="
    printf '%-10s %12s %9s %9s %16s\n' backend "lookups/s" "p50 us" "p99 us" "backend us/lookup"
    for b in mxguard floor; do
        printf '%-10s %12.0f %9.1f %9.1f %16.2f\n' "$b" "$(med lc "$b" lookups_per_s)" \
            "$(med lc "$b" p50_us)" "$(med lc "$b" p99_us)" "$(med lc "$b" backend_cpu_us)"
    done
    printf 'mxguard/floor lookups/s: %s\n' \
        "$(ratio "$(med lc mxguard lookups_per_s)" "$(med lc floor lookups_per_s)")"
    echo
    echo "== targets =="
    if [ "$DATASET" = scale ]; then
        if [ "$CACHES" = off ] && [ -n "${Q_floor:-}" ] && [ -n "${Q_mxguard:-}" ]; then
            rf=$(ratio "$Q_mxguard" "$Q_floor")
            printf 'scale, caches off: pdns on mxguard >= 0.95 x pdns on the floor: %s (%s)\n' \
                "$(awk -v x="$rf" 'BEGIN { print (x >= 0.95) ? "MET" : "MISSED" }')" "$rf"
        fi
        if [ "$CACHES" = on ] && [ -n "${Q_gsqlite3:-}" ] && [ -n "${Q_mxguard:-}" ]; then
            rg=$(ratio "$Q_mxguard" "$Q_gsqlite3")
            printf 'scale, caches on: pdns on mxguard >= 0.97 x pdns on gsqlite3: %s (%s)\n' \
                "$(awk -v x="$rg" 'BEGIN { print (x >= 0.97) ? "MET" : "MISSED" }')" "$rg"
        fi
        cm=$(med lc mxguard backend_cpu_us)
        cf=$(med lc floor backend_cpu_us)
        printf "mxguard's CPU per lookup <= the floor's: %s (%s us, floor %s us)\n" \
            "$(awk -v a="$cm" -v b="$cf" 'BEGIN { print (a <= b) ? "MET" : "MISSED" }')" "$cm" "$cf"
    fi
    if [ "$DATASET" = small ] && [ -n "${Q_floor:-}" ] && [ -n "${Q_mxguard:-}" ]; then
        rf=$(ratio "$Q_mxguard" "$Q_floor")
        printf 'pdns on mxguard >= 90%% of pdns on the floor: %s (%s)\n' \
            "$(awk -v x="$rf" 'BEGIN { print (x >= 0.9) ? "MET" : "MISSED" }')" "$rf"
    fi
    if [ "$DATASET" = small ]; then
        lm=$(med lc mxguard lookups_per_s)
        printf 'mxguard >= 100000 lookups/s over %s connections: %s (%.0f)\n' "$LC_CONNS" \
            "$(awk -v x="$lm" 'BEGIN { print (x >= 100000) ? "MET" : "MISSED" }')" "$lm"
        printf "mxguard's own CPU per lookup: %s us (floor: %s us)\n" \
            "$(med lc mxguard backend_cpu_us)" "$(med lc floor backend_cpu_us)"
    fi
    echo
    echo "== raw =="
    cat "$RAW"
    if [ -s "$PROFILE_TXT" ]; then
        echo
        echo "== profile: mxguard under lookup_client (perf, % of mxguard's CPU samples) =="
        cat "$PROFILE_TXT"
    fi
    if [ -s "$WORK/mismatch.txt" ]; then
        echo
        echo "== answer mismatches =="
        cat "$WORK/mismatch.txt"
    fi
} >"$OUT"
cat "$OUT"
log "results in $OUT"
