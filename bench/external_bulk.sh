#!/usr/bin/env bash
# bench/external_bulk.sh -- lookups while mxguard audits a bulk out-of-band write.
#
#   bench/external_bulk.sh            # ~2 minutes
#   EXT_RUNS=1 EXT_DURATION=5 bench/external_bulk.sh    # quick check
#
# mxguard serves bench/zones/example.com.zone from a SQLite store (no pdns: lookup_client asks
# the backend socket directly, 4 connections, one request in flight each, the lookups of
# bench/queries.txt). Each run lasts EXT_DURATION seconds; in the "bulk" runs another writer (the
# sqlite3 shell) inserts EXT_ROWS TXT records into the zone in one transaction EXT_AT seconds
# in, which mxguard picks up, judges and audits (one record) on its writer thread while the
# lookups go on. "quiet" runs are the same without the write. Reported per run: lookups/s,
# p50/p99/max latency, and for bulk runs the time from the write's commit to its audit record.
# Everything on unix sockets in a work dir; every process stopped by PID.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
MXGUARD=${MXGUARD:-$REPO/build/mxguard}
ROWS=${EXT_ROWS:-10000}
RUNS=${EXT_RUNS:-3}
DURATION=${EXT_DURATION:-10}
AT=${EXT_AT:-3}
OUT=${BENCH_OUT:-/tmp/mxguard-external-$(date +%Y%m%d-%H%M%S).txt}
BENCH_TAG=external
. "$BENCH_DIR/lib.sh"

for tool in gcc sqlite3 python3; do command -v "$tool" >/dev/null || die "$tool not found"; done
[ -x "$MXGUARD" ] || die "mxguard binary $MXGUARD missing (build it first)"
WORK=$(mktemp -d "${BENCH_TMP:-/tmp}/mxguard-external.XXXX")
gcc -std=c11 -O2 -Wall -Wextra -o "$WORK/lookup_client" "$BENCH_DIR/lookup_client.c" ||
    die "cannot build lookup_client"
cp "$MXGUARD" "$WORK/mxguard"
awk '{ print $1 ".", $2 }' "$BENCH_DIR/queries.txt" >"$WORK/mix.txt"
{
    echo "# mxguard out-of-band bulk write, $(date -u +%FT%TZ)"
    echo "# mxguard $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores"
    echo "# $ROWS rows in one SQL transaction ${AT}s into ${DURATION}s runs; lookup_client -c 4"
} >"$OUT"

run() { # KIND N
    local d=$WORK/$1-$2 pid lc t_write t_audit
    mkdir -p "$d"
    printf 'backend-socket=%s\ncontrol-socket=%s\nstore=sqlite:%s\nlog-level=warning\nmode=reject\n' \
        "$d/backend.sock" "$d/control.sock" "$d/store.sqlite3" >"$d/mxguard.conf"
    "$WORK/mxguard" import --zone example.com "$BENCH_DIR/zones/example.com.zone" \
        --config "$d/mxguard.conf" >/dev/null
    "$WORK/mxguard" serve --config "$d/mxguard.conf" >"$d/mxguard.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    for _ in $(seq 1 100); do [ -S "$d/backend.sock" ] && break; sleep 0.05; done
    "$WORK/lookup_client" -s "$d/backend.sock" -q "$WORK/mix.txt" -c 4 -d "$DURATION" -w 1 \
        >"$d/lc.out" 2>&1 &
    lc=$!
    PIDS+=("$lc")
    sleep $((AT + 1))
    t_write="-"
    if [ "$1" = bulk ]; then
        sqlite3 -cmd '.timeout 5000' "$d/store.sqlite3" "INSERT INTO records (domain_id, name, type, content, ttl)
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ROWS)
            SELECT 1, 'bulk' || i || '.example.com', 'TXT', '\"' || i || '\"', 60 FROM n"
        t_write=$(date +%s%N)
        t_audit=""
        for _ in $(seq 1 600); do
            if "$WORK/mxguard" audit export --config "$d/mxguard.conf" | grep -q '"source":"external"'; then
                t_audit=$(date +%s%N)
                break
            fi
            sleep 0.05
        done
        [ -n "$t_audit" ] || die "the bulk write was not audited within 30 s"
        t_write=$(((t_audit - t_write) / 1000000))
    fi
    wait "$lc" || die "lookup_client failed: $(cat "$d/lc.out")"
    kill -TERM "$pid"
    wait "$pid" || true
    echo "$1 run=$2 $(cat "$d/lc.out") audited_ms=$t_write" >>"$OUT"
    log "$1 run $2: $(cat "$d/lc.out") audited_ms=$t_write"
}

for ((r = 1; r <= RUNS; r++)); do
    run quiet "$r"
    run bulk "$r"
done
cat "$OUT"
