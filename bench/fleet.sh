#!/usr/bin/env bash
# bench/fleet.sh -- two pdns+mxguard nodes and pdns's own gpgsql backend on one PostgreSQL.
#
#   bench/fleet.sh                                    # full run, ~5 min
#   BENCH_DURATION=2 BENCH_ROUNDS=1 FLEET_N=50 bench/fleet.sh   # quick check
#
# One PostgreSQL server (tests/pg.sh: initdb in the work dir, unix socket only), one database
# holding bench/zones/example.com.zone (imported by mxguard). On it: node n1 (pdns remote on
# mxguard, DNS 5356, API 8116), node n2 (the same, DNS 5357, API 8117) and the anchor, pdns
# with launch=gpgsql on the same database (DNS 5358, API 8118). pdns's caches are off on all
# three, and default-api-rectify=no on all three (the zone has no empty non-terminals).
#
# 1. Lookups: dnsperf with bench/queries.txt against n1 and against gpgsql, taking turns,
#    BENCH_ROUNDS rounds of BENCH_WARMUP + BENCH_DURATION seconds each.
# 2. Commits: API PATCHes (one TXT RRset replaced) through n1 and through gpgsql, taking turns
#    every FLEET_PER_ROUND PATCHes, FLEET_ROUNDS rounds: p50/p90/p99 from send to 204.
# 3. Staleness: FLEET_N PATCHes through n1; after each 204, n2 and gpgsql are asked over UDP
#    as fast as they answer until each returns the new value: p50/p90/p99 of 204 -> answer.
#
# Everything listens on 127.0.0.1 or unix sockets in the work dir; every process (PostgreSQL
# too) is stopped by PID on exit. Results go to BENCH_OUT (default /tmp/mxguard-fleet-*.txt).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
MXGUARD=${MXGUARD:-$REPO/build/mxguard}
PDNS_SERVER=${PDNS_SERVER:-/usr/sbin/pdns_server}
DNSPERF=${DNSPERF:-dnsperf}
DIG=${DIG:-dig}
PG_SCHEMA=${PDNS_PGSQL_SCHEMA:-/usr/share/doc/pdns-backend-pgsql/schema.pgsql.sql}
ROUNDS=${BENCH_ROUNDS:-5}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
CLIENTS=${BENCH_CLIENTS:-4}
OUTSTANDING=${BENCH_OUTSTANDING:-64}
FLEET_ROUNDS=${FLEET_ROUNDS:-6}
FLEET_PER_ROUND=${FLEET_PER_ROUND:-50}
FLEET_N=${FLEET_N:-300}
OUT=${BENCH_OUT:-/tmp/mxguard-fleet-$(date +%Y%m%d-%H%M%S).txt}
ZONE=example.com
ZONEFILE=$BENCH_DIR/zones/example.com.zone
QUERIES=$BENCH_DIR/queries.txt
declare -A DNS=([n1]=5356 [n2]=5357 [gpgsql]=5358) API=([n1]=8116 [n2]=8117 [gpgsql]=8118)

PG_STATE=""
BENCH_TAG=fleet
. "$BENCH_DIR/lib.sh"
BENCH_ON_EXIT+=('[ -n "$PG_STATE" ] && [ -f "$PG_STATE" ] && bash "$REPO/tests/pg.sh" stop "$PG_STATE"')

for tool in "$PDNS_SERVER" "$DNSPERF" "$DIG" psql python3; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
[ -x "$MXGUARD" ] || die "mxguard binary $MXGUARD missing (build it first)"
port_free "${DNS[@]}" "${API[@]}"
[ -f "$PG_SCHEMA" ] || die "$PG_SCHEMA missing (apt-get install pdns-backend-pgsql)"

WORK=$(mktemp -d "${BENCH_TMP:-/tmp}/mxguard-fleet.XXXX")
chmod 755 "$WORK"
mkdir -p "$WORK/bin"
cp "$MXGUARD" "$WORK/bin/mxguard"
log "work dir $WORK, results to $OUT"

# PostgreSQL and the database: pdns's schema, the zone imported by mxguard.
PG_STATE=$WORK/pg.state
bash "$REPO/tests/pg.sh" start "$PG_STATE" || die "PostgreSQL did not start"
bash "$REPO/tests/pg.sh" createdb "$PG_STATE" fleet
bash "$REPO/tests/pg.sh" psql "$PG_STATE" fleet -f "$PG_SCHEMA" >/dev/null
URI=$(bash "$REPO/tests/pg.sh" uri "$PG_STATE" fleet)

pdns_conf() { # NAME
    local d=$WORK/pdns-$1
    mkdir -p "$d"
    cat >"$d/pdns.conf" <<EOF
local-address=127.0.0.1
local-port=${DNS[$1]}
socket-dir=$d
guardian=no
daemon=no
disable-syslog=yes
loglevel=4
cache-ttl=0
query-cache-ttl=0
negquery-cache-ttl=0
security-poll-suffix=
api=yes
api-key=secret
webserver=yes
webserver-address=127.0.0.1
webserver-port=${API[$1]}
webserver-allow-from=127.0.0.1
default-api-rectify=no
zone-cache-refresh-interval=300
EOF
}

for n in n1 n2; do
    m=$WORK/mxguard-$n
    mkdir -p "$m"
    printf 'backend-socket=%s\ncontrol-socket=%s\nstore=%s\nnode-name=%s\nlog-level=warning\n' \
        "$m/backend.sock" "$m/control.sock" "$URI" "$n" >"$m/mxguard.conf"
done
"$WORK/bin/mxguard" import --zone "$ZONE" "$ZONEFILE" --config "$WORK/mxguard-n1/mxguard.conf" \
    >"$WORK/import.log" 2>&1 || { cat "$WORK/import.log" >&2; die "mxguard import failed"; }
for n in n1 n2; do
    m=$WORK/mxguard-$n
    spawn "$m/mxguard.log" "$WORK/bin/mxguard" serve --config "$m/mxguard.conf"
    for ((i = 0; i < 100; i++)); do [ -S "$m/backend.sock" ] && break; sleep 0.05; done
    [ -S "$m/backend.sock" ] || { cat "$m/mxguard.log" >&2; die "mxguard $n did not start"; }
    pdns_conf "$n"
    printf 'launch=remote\nremote-connection-string=unix:path=%s,timeout=2000\n' "$m/backend.sock" \
        >>"$WORK/pdns-$n/pdns.conf"
done
pdns_conf gpgsql
printf 'launch=gpgsql\ngpgsql-host=%s\ngpgsql-dbname=fleet\ngpgsql-user=%s\n' \
    "$(bash "$REPO/tests/pg.sh" host "$PG_STATE")" "$(bash "$REPO/tests/pg.sh" user "$PG_STATE")" \
    >>"$WORK/pdns-gpgsql/pdns.conf"
for n in n1 n2 gpgsql; do
    spawn "$WORK/pdns-$n/pdns.log" "$PDNS_SERVER" --config-dir="$WORK/pdns-$n"
    wait_dns "${DNS[$n]}" "$LAST_PID" "$ZONE" || { tail -n 20 "$WORK/pdns-$n/pdns.log" >&2; die "pdns $n did not answer"; }
done
for n in n2 gpgsql; do
    a=$("$DIG" @127.0.0.1 -p "${DNS[n1]}" +norec "$ZONE" AXFR +noall +answer | sort)
    b=$("$DIG" @127.0.0.1 -p "${DNS[$n]}" +norec "$ZONE" AXFR +noall +answer | sort)
    if [ "$a" != "$b" ] || [ -z "$a" ]; then die "$n transfers a different zone than n1"; fi
done

{
    echo "# mxguard fleet benchmark, $(date -u +%FT%TZ)"
    echo "# mxguard $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?'), $(sha256sum "$WORK/bin/mxguard" | cut -c1-16)"
    echo "# $(nproc) cores, $(awk '/MemTotal/ {printf "%d MiB", $2/1024}' /proc/meminfo), $("$PDNS_SERVER" --version 2>&1 | grep -o 'PowerDNS Authoritative Server [0-9.]*' | head -n 1), $(psql --version)"
    echo "# dnsperf -c $CLIENTS -q $OUTSTANDING, $ROUNDS rounds x ${DURATION}s (+${WARMUP}s warm-up); commits: $FLEET_ROUNDS x $FLEET_PER_ROUND per API; staleness: $FLEET_N changes"
} >"$OUT"

# 1. Lookups per second, n1 and gpgsql taking turns.
dnsperf_qps() {
    "$DNSPERF" -s 127.0.0.1 -p "$1" -d "$QUERIES" -l "$2" -c "$CLIENTS" -q "$OUTSTANDING" -t 2 \
        >"$WORK/dnsperf.out" 2>&1 || { cat "$WORK/dnsperf.out" >&2; die "dnsperf failed"; }
    awk '/Queries per second:/ { print $4 }' "$WORK/dnsperf.out"
}
log "lookups: $ROUNDS rounds x 2 x (${WARMUP}s + ${DURATION}s)"
: >"$WORK/qps.txt"
for ((r = 1; r <= ROUNDS; r++)); do
    order=(n1 gpgsql)
    [ $((r % 2)) -eq 0 ] && order=(gpgsql n1)
    for n in "${order[@]}"; do
        [ "$WARMUP" = 0 ] || dnsperf_qps "${DNS[$n]}" "$WARMUP" >/dev/null
        q=$(dnsperf_qps "${DNS[$n]}" "$DURATION")
        echo "$n $q" >>"$WORK/qps.txt"
        log "  round $r $n: $q queries/s"
    done
done
for n in n1 gpgsql; do
    echo "lookups $n qps_median=$(awk -v n=$n '$1 == n { print $2 }' "$WORK/qps.txt" | median) runs=$(awk -v n=$n '$1 == n { printf "%s%s", s, $2; s = "," }' "$WORK/qps.txt")" >>"$OUT"
done

# 2. Commit latency through the pdns API, n1 and gpgsql taking turns.
log "commits: $FLEET_ROUNDS rounds x $FLEET_PER_ROUND PATCHes per API"
python3 "$BENCH_DIR/fleet_probe.py" commits --api "n1=${API[n1]}" --api "gpgsql=${API[gpgsql]}" \
    --rounds "$FLEET_ROUNDS" --per-round "$FLEET_PER_ROUND" >>"$OUT"

# 3. Staleness: changes through n1, watched on n2 and on gpgsql.
log "staleness: $FLEET_N changes through n1"
python3 "$BENCH_DIR/fleet_probe.py" staleness --api "${API[n1]}" --watch "n2=${DNS[n2]}" \
    --watch "gpgsql=${DNS[gpgsql]}" --n "$FLEET_N" >>"$OUT"

"$WORK/bin/mxguard" audit verify --config "$WORK/mxguard-n1/mxguard.conf" >>"$OUT" 2>&1 ||
    die "audit verify failed after the run"
a=$(awk '/qps_median/ && $2 == "n1" { sub("qps_median=", "", $3); print $3 }' "$OUT")
b=$(awk '/qps_median/ && $2 == "gpgsql" { sub("qps_median=", "", $3); print $3 }' "$OUT")
echo "ratio lookups n1/gpgsql=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')" >>"$OUT"
cat "$OUT"
