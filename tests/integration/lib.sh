# shellcheck shell=bash
# tests/integration/lib.sh -- shared harness for mxguard integration tests.
#
# Source it from a test script that runs under `set -euo pipefail`:
#
#   . "$(dirname "$0")/lib.sh"
#   it_init                      # temp dir + cleanup trap
#   mxg_start                    # write config, start `mxguard serve`
#   pdns_start --kind remote --port 5310 --api-port 8085
#   assert_rcode 5310 NOERROR example.com SOA
#   it_finish                    # prints summary, exit 1 on failures
#
# Everything binds to 127.0.0.1 or to unix sockets below the work dir.
# Ports are chosen by the tests (DNS 5300-5399, HTTP 8080-8119) and passed in
# explicitly; nothing here picks a port on its own.
#
# Every process started through it_spawn (mxguard, pdns_server) is recorded by
# PID and stopped by PID on exit -- TERM first, KILL after a bounded wait -- so
# nothing is left running even when a test fails or is interrupted.
#
# Environment:
#   MXGUARD        mxguard binary (default: <repo>/build/mxguard)
#   MXG_TEST_TMP   parent of the work dir (default: /tmp)
#   MXG_KEEP_TMP   1 = keep the work dir even when the test passed
#   PDNS_SERVER, PDNSUTIL, PDNS_CONTROL, DIG   override the tool paths
#   MXG_VALGRIND   1 = run every mxguard process (daemon and CLI) under valgrind memcheck, with
#                  a log per process in the work dir; any error or definite/indirect leak fails
#                  the test.
#                  The waits for the daemon and pdns's remote-backend timeout are raised.
#   MXG_VALGRIND_LOGS  with MXG_VALGRIND=1: also copy the valgrind logs into this directory

IT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IT_REPO_ROOT=$(cd "$IT_LIB_DIR/../.." && pwd)
IT_ZONES_DIR="$IT_REPO_ROOT/tests/data/zones"
MXGUARD=${MXGUARD:-$IT_REPO_ROOT/build/mxguard}
PDNS_SERVER=${PDNS_SERVER:-/usr/sbin/pdns_server}
PDNSUTIL=${PDNSUTIL:-pdnsutil}
PDNS_CONTROL=${PDNS_CONTROL:-pdns_control}
DIG=${DIG:-dig}
PDNS_SQLITE_SCHEMA=${PDNS_SQLITE_SCHEMA:-/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql}
PDNS_PGSQL_SCHEMA=${PDNS_PGSQL_SCHEMA:-/usr/share/doc/pdns-backend-pgsql/schema.pgsql.sql}
# Under valgrind mxguard runs some 20-50 times slower: waits and timeouts scale by IT_SLOW.
IT_VALGRIND=${MXG_VALGRIND:-0}
IT_SLOW=1
if [ "$IT_VALGRIND" = 1 ]; then IT_SLOW=10; fi

IT_WORK=""            # temp work dir of this test
IT_PIDS=()            # every PID we started
IT_ON_EXIT=()         # commands run at the end (it_on_exit)
IT_FAILS=0            # failed assertions
IT_CHECKS=0           # all assertions
IT_NAME=$(basename "${0:-test}" .sh)

# Set by mxg_start:
MXG_CONF=""           # config file
MXG_SOCK=""           # backend socket
MXG_CTL_SOCK=""       # control socket
MXG_STORE=""          # sqlite file
MXG_PID=""            # PID of `mxguard serve`
MXG_LOG=""            # its stderr
# Set by pdns_start:
PDNS_DIR=""           # config dir of the pdns started last
PDNS_PID=""           # its PID
PDNS_LOG=""           # its log file

# ----------------------------------------------------------------- logging --

it_log()  { printf '[%s] %s\n' "$IT_NAME" "$*" >&2; }
it_die()  { printf '[%s] FATAL: %s\n' "$IT_NAME" "$*" >&2; IT_FAILS=$((IT_FAILS + 1)); exit 1; }

# it_tail FILE [N] -- show the last N lines of a log (for failure messages).
it_tail() {
    local f=$1 n=${2:-30}
    if [ -s "$f" ]; then
        printf '%s\n' "----- last $n lines of $f -----" >&2
        tail -n "$n" "$f" >&2 || true
        printf '%s\n' "-----" >&2
    fi
}

# ------------------------------------------------------- setup / cleanup --

# it_init -- create the work dir and install the cleanup trap. Call once.
it_init() {
    local parent=${MXG_TEST_TMP:-/tmp}
    mkdir -p "$parent"
    IT_WORK=$(mktemp -d "$parent/mxg-it.XXXX")
    trap it_cleanup EXIT
    # Under `set -e` a failing command ends the test; say which one.
    set -o errtrace
    trap 'it_log "command failed (exit $?) at ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND"' ERR
    trap 'it_log "interrupted"; exit 130' INT
    trap 'it_log "terminated"; exit 143' TERM
    trap 'it_log "hangup"; exit 129' HUP
    it_log "work dir $IT_WORK"
}

# it_on_exit CMD -- run CMD (eval'd) at the end of the test, after its processes are stopped,
# newest first: servers that are not children of the test (a PostgreSQL server).
it_on_exit() { IT_ON_EXIT+=("$*"); }

# it_spawn NAME LOGFILE CMD... -- start CMD in the background with stdout and
# stderr into LOGFILE, record its PID; the PID is left in IT_LAST_PID.
it_spawn() {
    local name=$1 logf=$2
    shift 2
    "$@" </dev/null >>"$logf" 2>&1 &
    IT_LAST_PID=$!
    IT_PIDS+=("$IT_LAST_PID")
    it_log "started $name pid $IT_LAST_PID"
}

# it_alive PID -- true while PID runs (and is not a zombie).
it_alive() {
    local pid=$1 st
    kill -0 "$pid" 2>/dev/null || return 1
    st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo X)
    [ "$st" != Z ] && [ "$st" != X ]
}

# it_stop_pid PID [GRACE_TENTHS] -- TERM, wait up to GRACE (default 5 s), KILL.
it_stop_pid() {
    local pid=$1 grace=${2:-$((50 * IT_SLOW))} i
    it_alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace; i++)); do
        it_alive "$pid" || break
        sleep 0.1
    done
    if it_alive "$pid"; then
        it_log "pid $pid ignored TERM, sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 20; i++)); do it_alive "$pid" || break; sleep 0.1; done
    fi
    wait "$pid" 2>/dev/null || true
}

# it_cleanup -- EXIT trap: stop everything (newest first), report, tidy up.
it_cleanup() {
    local rc=$? i
    trap - EXIT INT TERM HUP ERR
    set +e
    for ((i = ${#IT_PIDS[@]} - 1; i >= 0; i--)); do
        it_stop_pid "${IT_PIDS[$i]}"
    done
    for ((i = ${#IT_ON_EXIT[@]} - 1; i >= 0; i--)); do
        eval "${IT_ON_EXIT[$i]}"
    done
    # A sanitizer build reports leaks and undefined behaviour when the daemon exits: any
    # report in a log of the test fails the test.
    if [ -n "$IT_WORK" ] && [ -d "$IT_WORK" ] &&
        grep -rlE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$IT_WORK" >/dev/null 2>&1; then
        it_log "sanitizer report in:"
        grep -rlE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$IT_WORK" >&2
        grep -rhE -A25 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$IT_WORK" | head -n 80 >&2
        IT_FAILS=$((IT_FAILS + 1))
        [ "$rc" -ne 0 ] || rc=1
    fi
    # Under valgrind: every mxguard process must have ended with no error (definite and
    # indirect leaks count as errors).
    if [ "$IT_VALGRIND" = 1 ] && [ -n "$IT_WORK" ] && [ -d "$IT_WORK" ]; then
        local vlog
        for vlog in "$IT_WORK"/valgrind.*.log; do
            [ -f "$vlog" ] || continue
            if [ -n "${MXG_VALGRIND_LOGS:-}" ]; then
                mkdir -p "$MXG_VALGRIND_LOGS"
                cp "$vlog" "$MXG_VALGRIND_LOGS/$IT_NAME.${vlog##*/}"
            fi
            if ! grep -q 'ERROR SUMMARY: 0 errors' "$vlog"; then
                it_log "valgrind reports errors (or the process did not exit) in $vlog:"
                head -n 120 "$vlog" >&2
                IT_FAILS=$((IT_FAILS + 1))
                [ "$rc" -ne 0 ] || rc=1
            fi
        done
    fi
    if [ -n "$IT_WORK" ] && [ -d "$IT_WORK" ]; then
        if [ "$rc" -eq 0 ] && [ "$IT_FAILS" -eq 0 ] && [ "${MXG_KEEP_TMP:-0}" != 1 ]; then
            rm -rf "$IT_WORK"
        else
            it_log "kept work dir $IT_WORK (logs: mxguard.log, */pdns.log)"
        fi
    fi
    exit "$rc"
}

# it_wait_socket PATH PID [TRIES] -- wait (TRIES x 0.05 s, default 100) for a
# unix socket to appear while PID stays alive.
it_wait_socket() {
    local path=$1 pid=$2 tries=${3:-100} i
    for ((i = 0; i < tries; i++)); do
        [ -S "$path" ] && return 0
        it_alive "$pid" || return 1
        sleep 0.05
    done
    [ -S "$path" ]
}

# ------------------------------------------------------------------ mxguard --

# mxg_write_config DIR [PDNS_CONTROL_CMD] -- write DIR/mxguard.conf and set
# MXG_CONF, MXG_SOCK, MXG_CTL_SOCK, MXG_STORE.
mxg_write_config() {
    local dir=$1 ctl=${2:-}
    mkdir -p "$dir"
    MXG_CONF="$dir/mxguard.conf"
    MXG_SOCK="$dir/backend.sock"
    MXG_CTL_SOCK="$dir/control.sock"
    MXG_STORE="$dir/store.sqlite3"
    MXG_STORE_URI="sqlite:$MXG_STORE"
    if [ -n "${MXG_TEST_PG_STATE:-}" ]; then
        # The PostgreSQL engine (run.sh --engine postgresql): a database of its own per store.
        MXG_PG_DB="mxg_$(printf '%s' "$dir" | md5sum | cut -c1-16)"
        bash "$IT_REPO_ROOT/tests/pg.sh" createdb "$MXG_TEST_PG_STATE" "$MXG_PG_DB" 2>/dev/null || true
        MXG_STORE_URI=$(bash "$IT_REPO_ROOT/tests/pg.sh" uri "$MXG_TEST_PG_STATE" "$MXG_PG_DB")
    fi
    {
        echo "backend-socket=$MXG_SOCK"
        echo "control-socket=$MXG_CTL_SOCK"
        echo "store=$MXG_STORE_URI"
        echo "log-level=${MXG_LOG_LEVEL:-debug}"
        if [ -n "$ctl" ]; then echo "pdns-control=$ctl"; fi
    } >"$MXG_CONF"
}

# store_sql SQL -- run SQL on the test's mxguard store, whichever engine holds it: sqlite3 on
# the file, or psql on its PostgreSQL database, rows printed as sqlite3 prints them (columns
# joined by '|', no header). "PRAGMA integrity_check" on PostgreSQL checks what the server does
# not: no row of records, domainmetadata or cryptokeys without its zone, no mxguard index row of
# a zone that is gone; it prints "ok" or what it found.
store_sql() {
    if [ -n "${MXG_TEST_PG_STATE:-}" ]; then
        local sql=$1
        if [ "$sql" = "PRAGMA integrity_check" ]; then
            sql="SELECT coalesce(string_agg(what, ', '), 'ok') FROM ("
            sql+=" SELECT 'record without zone' AS what FROM records r WHERE NOT EXISTS"
            sql+="  (SELECT 1 FROM domains d WHERE d.id = r.domain_id)"
            sql+=" UNION SELECT 'metadata without zone' FROM domainmetadata m WHERE NOT EXISTS"
            sql+="  (SELECT 1 FROM domains d WHERE d.id = m.domain_id)"
            sql+=" UNION SELECT 'key without zone' FROM cryptokeys k WHERE NOT EXISTS"
            sql+="  (SELECT 1 FROM domains d WHERE d.id = k.domain_id)"
            sql+=" UNION SELECT 'name index row without zone' FROM mxg_names n WHERE NOT EXISTS"
            sql+="  (SELECT 1 FROM domains d WHERE d.id = n.domain_id)"
            sql+=" UNION SELECT 'target index row without record' FROM mxg_targets t WHERE NOT EXISTS"
            sql+="  (SELECT 1 FROM records r WHERE r.domain_id = t.domain_id AND r.name = t.name"
            sql+="   AND r.type = t.type)) problems"
        fi
        bash "$IT_REPO_ROOT/tests/pg.sh" psql "$MXG_TEST_PG_STATE" "$MXG_PG_DB" -A -t -F '|' -c "$sql"
    else
        sqlite3 "$MXG_STORE" "$1"
    fi
}

# store_json SELECT -- the rows of a query on the test's store as one JSON array of objects.
store_json() {
    if [ -n "${MXG_TEST_PG_STATE:-}" ]; then
        store_sql "SELECT coalesce(json_agg(t), '[]') FROM ($1) t"
    else
        sqlite3 -json "$MXG_STORE" "$1" | grep . || echo '[]'
    fi
}

# store_snapshot / store_restore -- keep the test's whole store (mxguard stopped) and put it back
# as it was: a copy of the SQLite file, or a PostgreSQL database made from a template.
store_snapshot() {
    if [ -n "${MXG_TEST_PG_STATE:-}" ]; then
        bash "$IT_REPO_ROOT/tests/pg.sh" psql "$MXG_TEST_PG_STATE" postgres \
            -c "DROP DATABASE IF EXISTS ${MXG_PG_DB}_snap" -c "CREATE DATABASE ${MXG_PG_DB}_snap TEMPLATE $MXG_PG_DB"
    else
        sqlite3 "$MXG_STORE" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
        cp "$MXG_STORE" "$IT_WORK/store.snapshot"
    fi
}
store_restore() {
    if [ -n "${MXG_TEST_PG_STATE:-}" ]; then
        bash "$IT_REPO_ROOT/tests/pg.sh" psql "$MXG_TEST_PG_STATE" postgres \
            -c "DROP DATABASE $MXG_PG_DB" -c "CREATE DATABASE $MXG_PG_DB TEMPLATE ${MXG_PG_DB}_snap"
    else
        rm -f "$MXG_STORE-wal" "$MXG_STORE-shm"
        cp "$IT_WORK/store.snapshot" "$MXG_STORE"
    fi
}

# pg_database PREFIX -- a PostgreSQL database of the test's own, PREFIX_<work dir>: on the
# run's server (run.sh --engine postgresql) or on one the test starts here and stops at its end.
# Sets PG_STATE, PG_DB and PG_URI (the store URI).
pg_database() {
    PG_STATE=${MXG_TEST_PG_STATE:-}
    if [ -z "$PG_STATE" ]; then
        PG_STATE=$IT_WORK/pg.state
        bash "$IT_REPO_ROOT/tests/pg.sh" start "$PG_STATE" || it_die "cannot start PostgreSQL"
        it_on_exit bash "$IT_REPO_ROOT/tests/pg.sh" stop "$PG_STATE"
    fi
    PG_DB="$1_$(basename "$IT_WORK" | tr -c 'a-zA-Z0-9\n' _)"
    bash "$IT_REPO_ROOT/tests/pg.sh" createdb "$PG_STATE" "$PG_DB"
    PG_URI=$(bash "$IT_REPO_ROOT/tests/pg.sh" uri "$PG_STATE" "$PG_DB")
}

# mxg_set_store URI [KEY=VALUE]... -- point $MXG_CONF at the store URI (it may hold '&', which
# sed would read), and append the other keys.
mxg_set_store() {
    grep -v '^store=' "$MXG_CONF" >"$MXG_CONF.tmp"
    printf 'store=%s\n' "$1" >>"$MXG_CONF.tmp"
    shift
    [ $# -eq 0 ] || printf '%s\n' "$@" >>"$MXG_CONF.tmp"
    mv "$MXG_CONF.tmp" "$MXG_CONF"
}

# mxg_argv -- set MXG_ARGV to the command that runs the mxguard binary: the binary itself, or
# with MXG_VALGRIND=1 valgrind with a log per process in the work dir (a child forked to run
# pdns_control writes none). An array, not a function, so that it_spawn's PID is the process
# itself.
mxg_argv() {
    MXG_ARGV=("$MXGUARD")
    if [ "$IT_VALGRIND" = 1 ]; then
        MXG_ARGV=(valgrind --error-exitcode=99 --leak-check=full
            --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
            --num-callers=30 --child-silent-after-fork=yes
            --suppressions="$IT_REPO_ROOT/tests/valgrind.supp"
            --log-file="$IT_WORK/valgrind.%p.log" "$MXGUARD")
    fi
}

# mxg_exec ARGS... -- run the mxguard binary (see mxg_argv) in the foreground.
mxg_exec() {
    mxg_argv
    "${MXG_ARGV[@]}" "$@"
}

# mxg_require -- fail clearly when the mxguard binary is missing.
mxg_require() {
    [ -x "$MXGUARD" ] || it_die "mxguard binary not found or not executable: $MXGUARD (build it or set MXGUARD)"
}

# mxg CMD... -- run the mxguard CLI with the test config appended.
mxg() {
    [ -n "$MXG_CONF" ] || mxg_write_config "$IT_WORK/mxguard"
    mxg_exec "$@" --config "$MXG_CONF"
}

# mxg_start [PDNS_CONTROL_CMD] -- write a config (unless mxg_write_config ran
# already) and start `mxguard serve`; waits for the backend socket.
mxg_start() {
    mxg_require
    [ -n "$MXG_CONF" ] || mxg_write_config "$IT_WORK/mxguard" "${1:-}"
    MXG_LOG="$(dirname "$MXG_CONF")/mxguard.log"
    local front
    front=$(sed -n 's/^api-listen=.*:\([0-9][0-9]*\)$/\1/p' "$MXG_CONF" | tail -n 1)
    [ -z "$front" ] || it_port_free "$front" "API front"
    mxg_argv
    it_spawn "mxguard serve" "$MXG_LOG" "${MXG_ARGV[@]}" serve --config "$MXG_CONF"
    MXG_PID=$IT_LAST_PID
    if ! it_wait_socket "$MXG_SOCK" "$MXG_PID" $((100 * IT_SLOW)); then
        it_tail "$MXG_LOG"
        it_die "mxguard serve did not create $MXG_SOCK within $((5 * IT_SLOW)) s (pid $MXG_PID alive: $(it_alive "$MXG_PID" && echo yes || echo no))"
    fi
    it_log "mxguard serving on $MXG_SOCK"
}

# mxg_stop -- stop the daemon (TERM, then KILL) and wait for it.
mxg_stop() {
    if [ -n "$MXG_PID" ]; then it_stop_pid "$MXG_PID"; fi
    MXG_PID=""
}

# mxg_import_zones ZONE=FILE... -- `mxguard import` each zone; runs in the
# file's directory so that relative $INCLUDEs resolve there.
mxg_import_zones() {
    local zf zone file
    [ -n "$MXG_CONF" ] || mxg_write_config "$IT_WORK/mxguard"
    for zf in "$@"; do
        zone=${zf%%=*} file=${zf#*=}
        if ! (cd "$(dirname "$file")" && mxg import --zone "$zone" "$file") >>"$IT_WORK/mxguard-cli.log" 2>&1; then
            it_tail "$IT_WORK/mxguard-cli.log"
            it_die "mxguard import --zone $zone $file failed"
        fi
    done
}

# ---------------------------------------------------------------- zone sets --

# it_default_zones -- print ZONE=FILE for every tests/data/zones/*.zone
# (zone name = file name without .zone).
it_default_zones() {
    local f
    for f in "$IT_ZONES_DIR"/*.zone; do
        printf '%s=%s\n' "$(basename "$f" .zone)" "$f"
    done
}

# -------------------------------------------------------------------- pdns --

# pdns_start --kind remote|bind|gsqlite3|gpgsql --port DNSPORT [--api-port PORT]
#            [--zone ZONE=FILE]... [--socket PATH] [--name NAME]
#            [--zone-cache-refresh SECONDS] [-- EXTRA_PDNS_ARGS...]
# Creates $IT_WORK/NAME (default pdns-KIND-PORT) with pdns.conf and the
# backend data, starts pdns_server --config-dir=DIR and waits until it answers
# on 127.0.0.1:DNSPORT. Sets PDNS_DIR, PDNS_PID, PDNS_LOG.
#   remote:   uses --socket (default: $MXG_SOCK); zones come from mxguard.
#   bind:     named.conf listing the --zone files (directory = their dir).
#   gsqlite3: fresh database from the Debian schema; pdnsutil create-zone +
#             load-zone + rectify-zone for every --zone. Rectifying adds
#             the empty-non-terminal rows; IT_GSQLITE3_RECTIFY=no skips it
#             (then _tcp.example.com & co. answer NXDOMAIN instead of NODATA).
#   gpgsql:   the database of pg_database, given pdns's schema if it has none; the
#             zones loaded as for gsqlite3.
pdns_start() {
    local kind="" port="" api="" name="" sock="" zcr=300 zones=() extra=()
    while [ $# -gt 0 ]; do
        case $1 in
            --kind) kind=$2; shift 2 ;;
            --port) port=$2; shift 2 ;;
            --api-port) api=$2; shift 2 ;;
            --zone) zones+=("$2"); shift 2 ;;
            --socket) sock=$2; shift 2 ;;
            --name) name=$2; shift 2 ;;
            --zone-cache-refresh) zcr=$2; shift 2 ;;
            --) shift; extra=("$@"); break ;;
            *) it_die "pdns_start: unknown argument $1" ;;
        esac
    done
    if [ -z "$kind" ] || [ -z "$port" ]; then it_die "pdns_start: --kind and --port are required"; fi
    it_check_port "$port" 5300 5399 DNS
    [ -z "$api" ] || it_check_port "$api" 8080 8119 HTTP
    name=${name:-pdns-$kind-$port}
    local dir="$IT_WORK/$name"
    mkdir -p "$dir"
    local conf="$dir/pdns.conf"
    {
        echo "# generated by tests/integration/lib.sh"
        echo "local-address=127.0.0.1"
        echo "local-port=$port"
        echo "socket-dir=$dir"
        echo "guardian=no"
        echo "daemon=no"
        echo "disable-syslog=yes"
        echo "loglevel=6"
        echo "cache-ttl=0"
        echo "query-cache-ttl=0"
        echo "negquery-cache-ttl=0"
        echo "security-poll-suffix="
        echo "dnsupdate=yes"
        echo "allow-dnsupdate-from=127.0.0.0/8"
        echo "allow-axfr-ips=127.0.0.0/8"
        echo "zone-cache-refresh-interval=$zcr"
        if [ -n "$api" ]; then
            echo "api=yes"
            echo "api-key=secret"
            echo "webserver=yes"
            echo "webserver-address=127.0.0.1"
            echo "webserver-port=$api"
            echo "webserver-allow-from=127.0.0.1"
        else
            echo "api=no"
            echo "webserver=no"
        fi
    } >"$conf"
    case $kind in
        remote)
            sock=${sock:-$MXG_SOCK}
            [ -n "$sock" ] || it_die "pdns_start remote: no backend socket (start mxguard first or pass --socket)"
            {
                echo "launch=remote"
                echo "remote-connection-string=unix:path=$sock,timeout=$((2000 * IT_SLOW))"
                echo "default-api-rectify=no"
            } >>"$conf"
            ;;
        bind)
            local nc="$dir/named.conf" zf zone file
            : >"$nc"
            for zf in "${zones[@]}"; do
                zone=${zf%%=*} file=${zf#*=}
                [ -f "$file" ] || it_die "zone file $file not found"
                # "directory" makes relative $INCLUDEs resolve next to the file.
                printf 'zone "%s" { type master; file "%s"; };\n' "$zone" "$file" >>"$nc"
            done
            if [ ${#zones[@]} -gt 0 ]; then
                local zdir
                zdir=$(dirname "${zones[0]#*=}")
                { printf 'options { directory "%s"; };\n' "$zdir"; cat "$nc"; } >"$nc.tmp" && mv "$nc.tmp" "$nc"
            fi
            {
                echo "launch=bind"
                echo "bind-config=$nc"
            } >>"$conf"
            ;;
        gsqlite3)
            local db="$dir/pdns.sqlite3"
            sqlite3 "$db" <"$PDNS_SQLITE_SCHEMA" || it_die "cannot create $db"
            {
                echo "launch=gsqlite3"
                echo "gsqlite3-database=$db"
            } >>"$conf"
            pdns_load_zones "$dir" "${zones[@]}"
            ;;
        gpgsql)
            # The database of pg_database ($PG_STATE, $PG_DB): pdns's schema if it has none yet.
            [ -n "${PG_DB:-}" ] || it_die "pdns_start gpgsql: call pg_database first"
            local pgsh="$IT_REPO_ROOT/tests/pg.sh"
            if [ -z "$(bash "$pgsh" psql "$PG_STATE" "$PG_DB" -A -t -c "SELECT to_regclass('domains')")" ]; then
                bash "$pgsh" psql "$PG_STATE" "$PG_DB" -f "$PDNS_PGSQL_SCHEMA" >/dev/null ||
                    it_die "cannot load $PDNS_PGSQL_SCHEMA"
            fi
            {
                echo "launch=gpgsql"
                echo "gpgsql-host=$(bash "$pgsh" host "$PG_STATE")"
                echo "gpgsql-dbname=$PG_DB"
                echo "gpgsql-user=$(bash "$pgsh" user "$PG_STATE")"
            } >>"$conf"
            pdns_load_zones "$dir" "${zones[@]}"
            ;;
        *) it_die "pdns_start: unknown backend kind '$kind'" ;;
    esac
    PDNS_DIR=$dir
    PDNS_LOG="$dir/pdns.log"
    it_spawn "pdns_server ($kind, port $port)" "$PDNS_LOG" "$PDNS_SERVER" --config-dir="$dir" "${extra[@]}"
    PDNS_PID=$IT_LAST_PID
    if ! pdns_wait_ready "$port" "$PDNS_PID" 60; then
        it_tail "$PDNS_LOG"
        it_die "pdns_server ($kind) did not answer on 127.0.0.1:$port"
    fi
    it_log "pdns ($kind) answering on 127.0.0.1:$port${api:+, API on 127.0.0.1:$api}"
}

# pdns_load_zones DIR [ZONE=FILE]... -- pdnsutil (with DIR's pdns.conf) create-zone, load-zone
# and rectify-zone for every zone, as an operator fills a gsqlite3 or gpgsql database.
pdns_load_zones() {
    local dir=$1 zf zone file
    shift
    for zf in "$@"; do
        zone=${zf%%=*} file=${zf#*=}
        [ -f "$file" ] || it_die "zone file $file not found"
        {
            "$PDNSUTIL" --config-dir="$dir" create-zone "$zone" &&
            (cd "$(dirname "$file")" && "$PDNSUTIL" --config-dir="$dir" load-zone "$zone" "$file") &&
            if [ "${IT_GSQLITE3_RECTIFY:-yes}" = yes ]; then
                "$PDNSUTIL" --config-dir="$dir" rectify-zone "$zone"
            fi
        } >>"$dir/pdnsutil.log" 2>&1 || { it_tail "$dir/pdnsutil.log"; it_die "pdnsutil could not load $zone from $file"; }
    done
}

# it_check_port PORT LOW HIGH WHAT -- keep tests inside the agreed ranges.
it_check_port() {
    case $1 in ''|*[!0-9]*) it_die "bad $4 port '$1'" ;; esac
    if [ "$1" -lt "$2" ] || [ "$1" -gt "$3" ]; then it_die "$4 port $1 outside $2-$3"; fi
    it_port_free "$1" "$4"
}

# it_port_free PORT WHAT -- stop the test, saying who holds it, when something already listens
# on PORT (TCP or UDP, any address): a stray server there would answer in place of the test's
# own and show up as a wrong result.
it_port_free() {
    local held
    held=$(ss -Hlntup "( sport = :$1 )" 2>/dev/null || true)
    [ -z "$held" ] || it_die "$2 port $1 is already in use; stop what holds it first: $(printf '%s' "$held" | tr -s ' \n' ' ')"
}

# pdns_wait_ready PORT PID [TRIES] -- wait until dig gets any reply (even
# REFUSED) from 127.0.0.1:PORT; TRIES x ~0.25 s (default 60), while PID lives.
pdns_wait_ready() {
    local port=$1 pid=$2 tries=${3:-60} i
    for ((i = 0; i < tries; i++)); do
        it_alive "$pid" || return 1
        if "$DIG" @127.0.0.1 -p "$port" +tries=1 +time=1 +norec . SOA >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.25
    done
    return 1
}

# pdns_ctl [DIR] CMD... -- pdns_control against the pdns in DIR (default
# PDNS_DIR), e.g. `pdns_ctl rediscover`.
pdns_ctl() {
    local dir=$PDNS_DIR
    if [ $# -gt 0 ] && [ -d "$1" ]; then dir=$1; shift; fi
    "$PDNS_CONTROL" --config-dir="$dir" "$@"
}

# pdns_stop [PID] -- stop a pdns (default: the one started last).
pdns_stop() { it_stop_pid "${1:-$PDNS_PID}"; }

# --------------------------------------------------------------------- dig --

# DIG_SOURCE -- the source address of every dig below (default: the kernel's choice, 127.0.0.1).
# dig sets SO_REUSEPORT on its UDP socket, so the kernel may give two digs running at the same
# time the same source port; asking the same server, they then share one address tuple and one
# of them gets the other's reply ("ID mismatch") and times out. A dig that runs beside another
# (a background query loop) sets its own 127.0.0.N here.
DIG_SOURCE=${DIG_SOURCE:-}

# dig_at PORT ARGS... -- dig against 127.0.0.1:PORT, no recursion, one try.
dig_at() {
    local port=$1
    shift
    "$DIG" @127.0.0.1 ${DIG_SOURCE:+-b "$DIG_SOURCE"} -p "$port" +norec +tries=1 \
        +time=$((IT_SLOW > 1 ? 10 : 2)) "$@"
}

# dig_short PORT NAME TYPE -- sorted +short answer.
dig_short() { dig_at "$1" +short "$2" "$3" | sort; }

# dig_answers PORT -- ask 127.0.0.1:PORT every "NAME TYPE" line of stdin through one `dig -f`;
# print "NAME TYPE RDATA..." for each, in order: the RDATA of every answer record, space-joined
# (nothing after the type for an empty answer or no reply).
dig_answers() {
    "$DIG" @127.0.0.1 ${DIG_SOURCE:+-b "$DIG_SOURCE"} -p "$1" +norec +tries=2 \
        +time=$((IT_SLOW > 1 ? 10 : 2)) +noall +answer +cmd -f - |
        awk '/^; <<>> DiG / { if (q != "") print q a; q = $(NF - 1) " " $NF; a = ""; next }
             /^;/ || NF < 5 { next }
             { r = $5; for (i = 6; i <= NF; i++) r = r " " $i; a = a " " r }
             END { if (q != "") print q a }'
}

# dig_rcode PORT NAME TYPE -- the rcode word (NOERROR, NXDOMAIN, ...) or
# TIMEOUT when no reply came.
dig_rcode() {
    local out
    out=$(dig_at "$1" "$2" "$3" 2>&1) || true
    if [[ $out =~ status:\ ([A-Z]+) ]]; then echo "${BASH_REMATCH[1]}"; else echo TIMEOUT; fi
}

# dig_retry PORT NAME TYPE -- dig_short, asked up to 10 times until it answers (the first query
# on a pdns backend connection that died with mxguard may fail).
dig_retry() {
    local i out=""
    for ((i = 0; i < 10; i++)); do
        out=$(dig_short "$1" "$2" "$3" 2>/dev/null || true)
        [ -n "$out" ] && break
        sleep 0.3
    done
    printf '%s\n' "$out"
}

# dig_flags PORT NAME TYPE -- header flags, e.g. "qr aa".
dig_flags() {
    local out
    out=$(dig_at "$1" "$2" "$3" 2>&1) || true
    sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p' <<<"$out"
}

# mxg_kill ROUND -- SIGKILL mxguard in a crash round (a failure when it died on its own before).
mxg_kill() {
    if ! it_alive "$MXG_PID"; then
        it_fail "round $1: mxguard died on its own before the kill"
        it_tail "$MXG_LOG" 20
    fi
    kill -KILL "$MXG_PID" 2>/dev/null || true
    wait "$MXG_PID" 2>/dev/null || true
}

# mxg_restart ROUND -- start mxguard again after mxg_kill. The dead daemon leaves its socket
# files; they are removed so that mxg_start waits for the new ones.
mxg_restart() {
    rm -f "$MXG_SOCK" "$MXG_CTL_SOCK"
    MXG_PID=""
    mxg_start >/dev/null 2>&1 || it_die "round $1: mxguard did not restart"
}

# ------------------------------------------------------------- the API front --

# front_wait URL -- wait (10 s at most) until the front answers on URL.
front_wait() {
    local i
    for ((i = 0; i < 100; i++)); do
        curl -s -o /dev/null "$1/" && return 0
        sleep 0.1
    done
    it_die "the API front does not answer on $1"
}

# fc [CURL ARGS...] -- curl through the front; prints the body, then the status on a line.
fc() { curl -sS -m 20 -w '\n%{http_code}' "$@"; }
status() { tail -n1 <<<"$1"; }
bodyof() { sed '$d' <<<"$1"; }

# -------------------------------------------------------------- assertions --

it_pass() { IT_CHECKS=$((IT_CHECKS + 1)); printf '  ok   %s\n' "$*"; }
it_fail() { IT_CHECKS=$((IT_CHECKS + 1)); IT_FAILS=$((IT_FAILS + 1)); printf '  FAIL %s\n' "$*"; }

# assert_eq EXPECTED ACTUAL MESSAGE
assert_eq() {
    if [ "$1" == "$2" ]; then it_pass "$3"; else
        it_fail "$3"; printf '       expected: %s\n       actual:   %s\n' "$1" "$2"; fi
}

# assert_ne UNEXPECTED ACTUAL MESSAGE
assert_ne() {
    if [ "$1" != "$2" ]; then it_pass "$3"; else
        it_fail "$3"; printf '       unexpected value: %s\n' "$2"; fi
}

# assert_contains HAYSTACK NEEDLE MESSAGE
assert_contains() {
    if [[ $1 == *"$2"* ]]; then it_pass "$3"; else
        it_fail "$3"; printf '       %s\n' "missing: $2" "in: ${1:0:600}"; fi
}

# assert_not_contains HAYSTACK NEEDLE MESSAGE
assert_not_contains() {
    if [[ $1 != *"$2"* ]]; then it_pass "$3"; else
        it_fail "$3"; printf '       %s\n' "unexpected: $2" "in: ${1:0:600}"; fi
}

# assert_ok MESSAGE CMD... -- command must exit 0.
assert_ok() {
    local msg=$1 out rc=0
    shift
    out=$("$@" 2>&1) || rc=$?
    if [ "$rc" -eq 0 ]; then it_pass "$msg"; else
        it_fail "$msg (exit $rc: $*)"; printf '%s\n' "$out" | head -n 20 | sed 's/^/       /'; fi
}

# assert_fails MESSAGE CMD... -- command must exit non-zero.
assert_fails() {
    local msg=$1 rc=0
    shift
    "$@" >/dev/null 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then it_pass "$msg"; else it_fail "$msg (unexpectedly succeeded: $*)"; fi
}

# assert_rcode PORT RCODE NAME TYPE
assert_rcode() {
    assert_eq "$2" "$(dig_rcode "$1" "$3" "$4")" "$3 $4 -> $2 (port $1)"
}

# assert_answer PORT NAME TYPE EXPECTED -- EXPECTED is the sorted +short
# answer, lines separated by newlines.
assert_answer() {
    assert_eq "$(printf '%s\n' "$4" | sort)" "$(dig_short "$1" "$2" "$3")" "$2 $3 answer (port $1)"
}

# it_finish -- summary line; exit 1 when any assertion failed.
it_finish() {
    if [ "$IT_FAILS" -eq 0 ]; then
        it_log "all $IT_CHECKS checks passed"
        exit 0
    fi
    it_log "$IT_FAILS of $IT_CHECKS checks FAILED"
    exit 1
}
