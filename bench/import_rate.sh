#!/usr/bin/env bash
# How fast does a zone file go in? `mxguard import` (parse as pdns does, one guarded and audited
# SQLite transaction) against `pdnsutil load-zone` into pdns's gsqlite3, on the same file.
#   bash bench/import_rate.sh [RECORDS] [SEED] [RUNS]     (default: 100000 1 5)
# The zone is generated from SEED (same seed, same file): owners h0, h1, ... with a mix of
# A (35%), AAAA (15%), MX (12%), TXT with two strings (15%), CNAME (13%) and SRV (10%), plus the
# SOA, an NS and its address. Each run imports into a fresh store / a fresh gsqlite3 database
# (WAL, synchronous=FULL for mxguard; gsqlite3's defaults for pdnsutil). Prints per run the wall
# time and CPU time (user + sys) of each, then the medians, records/s and the ratio; and SQLite's
# floor for the same rows (below).
# Run by hand; needs python3, pdnsutil, sqlite3 and GNU time (/usr/bin/time). Starts no server.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MXGUARD=${MXGUARD:-$ROOT/build/mxguard}
PDNSUTIL=${PDNSUTIL:-pdnsutil}
SCHEMA=${PDNS_SQLITE_SCHEMA:-/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql}
N=${1:-100000}
SEED=${2:-1}
RUNS=${3:-5}
[ -x "$MXGUARD" ] || { echo "mxguard binary not found: $MXGUARD (set MXGUARD)" >&2; exit 2; }
W=$(mktemp -d /tmp/mxg-import-rate.XXXXXX)
trap 'rm -rf "$W"' EXIT

python3 - "$N" "$SEED" >"$W/zone" <<'PY'
import random, sys
n, seed = int(sys.argv[1]), int(sys.argv[2])
r = random.Random(seed)
w = sys.stdout.write
w("$ORIGIN bench.example.\n$TTL 3600\n")
w("@ IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n")
for i in range(max(0, n - 3)):
    t, h = r.random(), f"h{i}"
    if t < 0.35:
        w(f"{h} IN A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n")
    elif t < 0.50:
        w(f"{h} 300 IN AAAA 2001:db8::{i >> 16:x}:{i & 0xffff:x}\n")
    elif t < 0.62:
        w(f"{h} IN MX {r.randrange(0, 50)} mx{r.randrange(0, 1000)}.bench.example.\n")
    elif t < 0.77:
        w(f'{h} IN TXT "v=spf1 ip4:10.{i & 255}.0.0/16 -all" "k={r.getrandbits(64):x}"\n')
    elif t < 0.90:
        w(f"{h} IN CNAME h{r.randrange(0, i + 1)}\n")
    else:
        w(f"_sip._tcp.{h} IN SRV {r.randrange(0, 20)} {r.randrange(0, 100)} 5060 "
          f"h{r.randrange(0, i + 1)}.bench.example.\n")
PY

# timed OUTFILE CMD... -- run CMD, append "wall cpu" (seconds) to OUTFILE; fail loudly.
timed() {
    local out=$1
    shift
    if ! /usr/bin/time -f '%e %U %S' -o "$W/time" "$@" >"$W/cmd.log" 2>&1; then
        cat "$W/cmd.log" >&2
        echo "failed: $*" >&2
        exit 1
    fi
    awk '{ printf "%s %.2f\n", $1, $2 + $3 }' "$W/time" >>"$out"
}

: >"$W/mx.times"
: >"$W/gs.times"
printf 'run  mxguard_wall  mxguard_cpu  pdnsutil_wall  pdnsutil_cpu\n'
for ((i = 1; i <= RUNS; i++)); do
    rm -rf "$W/mx" "$W/gs"
    mkdir -p "$W/mx" "$W/gs"
    printf 'store=sqlite:%s\nbackend-socket=%s\ncontrol-socket=%s\nlog-level=error\n' \
        "$W/mx/store.sqlite3" "$W/mx/backend.sock" "$W/mx/control.sock" >"$W/mx/mxguard.conf"
    timed "$W/mx.times" "$MXGUARD" import --zone bench.example "$W/zone" --config "$W/mx/mxguard.conf"
    sqlite3 "$W/gs/pdns.sqlite3" <"$SCHEMA"
    printf 'launch=gsqlite3\ngsqlite3-database=%s\n' "$W/gs/pdns.sqlite3" >"$W/gs/pdns.conf"
    timed "$W/gs.times" "$PDNSUTIL" --config-dir="$W/gs" load-zone bench.example "$W/zone"
    printf '%3d  %12s  %11s  %13s  %12s\n' "$i" $(tail -n 1 "$W/mx.times") $(tail -n 1 "$W/gs.times")
done
# SQLite's own floor for the rows mxguard's import writes: the last run's records and its two
# index tables (mxg_names, mxg_targets) copied by one INSERT ... SELECT into an empty store of the
# same schema and page size (without the capture triggers, which mxguard's own connections do
# not run), in one transaction with mxguard's settings (WAL, synchronous=FULL, 64 MiB page
# cache). No parsing, no statement per row, no guard: no import into this schema can be faster.
: >"$W/floor.times"
for ((i = 1; i <= RUNS; i++)); do
    rm -f "$W/floor.sqlite3" "$W/floor.sqlite3-wal" "$W/floor.sqlite3-shm"
    { echo "PRAGMA page_size=$(sqlite3 "$W/mx/store.sqlite3" "PRAGMA page_size");"
      sqlite3 "$W/mx/store.sqlite3" .schema | python3 -c '
import re, sys
print(re.sub(r"CREATE TRIGGER.*?END;\n", "", sys.stdin.read(), flags=re.S))' |
        grep -v sqlite_sequence; } | sqlite3 "$W/floor.sqlite3"
    sqlite3 "$W/floor.sqlite3" "PRAGMA journal_mode=WAL" >/dev/null
    timed "$W/floor.times" sqlite3 "$W/floor.sqlite3" "PRAGMA synchronous=FULL; PRAGMA cache_size=-65536;
        ATTACH '$W/mx/store.sqlite3' AS src; BEGIN;
        INSERT INTO records SELECT * FROM src.records;
        INSERT INTO mxg_names SELECT * FROM src.mxg_names;
        INSERT INTO mxg_targets SELECT * FROM src.mxg_targets; COMMIT;"
done
rows_mx=$(sqlite3 "$W/mx/store.sqlite3" "SELECT COUNT(*) FROM records")
rows_gs=$(sqlite3 "$W/gs/pdns.sqlite3" "SELECT COUNT(*) FROM records")
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mw=$(awk '{ print $1 }' "$W/mx.times" | median)
mc=$(awk '{ print $2 }' "$W/mx.times" | median)
gw=$(awk '{ print $1 }' "$W/gs.times" | median)
gc=$(awk '{ print $2 }' "$W/gs.times" | median)
fw=$(awk '{ print $1 }' "$W/floor.times" | median)
fc=$(awk '{ print $2 }' "$W/floor.times" | median)
awk -v n="$N" -v mw="$mw" -v mc="$mc" -v gw="$gw" -v gc="$gc" -v fw="$fw" -v fc="$fc" \
    -v rm="$rows_mx" -v rg="$rows_gs" -v rf="$(sqlite3 "$W/floor.sqlite3" "SELECT COUNT(*) FROM records")" '
    function rate(t) { return t > 0 ? sprintf("%.0f", n / t) : "inf" }
    BEGIN {
        printf "\nrecords: %d (rows stored: mxguard %d, gsqlite3 %d)\n", n, rm, rg
        printf "mxguard import:     median %.2f s wall (%s records/s), %.2f s CPU (%s records/s)\n", mw, rate(mw), mc, rate(mc)
        printf "pdnsutil load-zone: median %.2f s wall (%s records/s), %.2f s CPU (%s records/s)\n", gw, rate(gw), gc, rate(gc)
        printf "SQLite floor (%d rows): median %.2f s wall (%s records/s), %.2f s CPU (%s records/s)\n", rf, fw, rate(fw), fc, rate(fc)
        printf "ratio mxguard/pdnsutil (records/s): %.2f wall, %.2f CPU\n", gw / mw, gc / mc
        printf "ratio mxguard/SQLite floor (records/s): %.2f wall, %.2f CPU\n", fw / mw, fc / mc
    }'
