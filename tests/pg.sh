#!/usr/bin/env bash
# pg.sh -- a throw-away PostgreSQL server for the tests (Debian's postgresql package).
#
#   pg.sh start STATE     initdb in a new directory under /tmp, start the server on a unix socket
#                         in it (no TCP), and write the directory to the file STATE
#   pg.sh stop STATE      stop that server (by the PID in its postmaster.pid) and remove it all
#   pg.sh restart STATE   restart it (fast shutdown: open connections are cut)
#   pg.sh kill STATE      kill -9 the server (postmaster) and start it again: crash recovery
#   pg.sh uri STATE DB    print the store URI of database DB on it
#   pg.sh createdb STATE DB
#   pg.sh psql STATE DB [psql args...]
#
# The server runs as an unprivileged user: the caller itself, or, for root, Debian's postgres
# user. fsync is off: a killed server keeps every commit (the kernel has it), only a machine
# crash would lose some, which no test makes.
set -euo pipefail

PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$PGBIN/initdb" ] || { echo "pg.sh: no PostgreSQL server binaries (install postgresql)" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
  RUNAS=(runuser -u postgres --)
  PGUSER_NAME=postgres
else
  RUNAS=()
  PGUSER_NAME=$(id -un)
fi

cmd=${1:-}
state=${2:-}
[ -n "$cmd" ] && [ -n "$state" ] || { echo "usage: pg.sh start|stop|host|user|uri|createdb|psql STATE [DB]" >&2; exit 2; }

dir_of() { cat "$state"; }
# The server's options: its socket in DIR only, no TCP; lock waits over 200 ms logged.
server_opts() {
  echo "-k $1 -c listen_addresses='' -c fsync=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB -c log_lock_waits=on -c deadlock_timeout=200ms"
}

case "$cmd" in
  start)
    dir=$(mktemp -d /tmp/mxg-pg.XXXXXX)
    chmod 755 "$dir"
    [ "${#RUNAS[@]}" -gt 0 ] && chown postgres: "$dir"
    "${RUNAS[@]}" "$PGBIN/initdb" -D "$dir/data" -U "$PGUSER_NAME" -A trust -E UTF8 --locale=C \
      --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "$(server_opts "$dir")" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "$dir" >"$state"
    ;;
  stop)
    [ -f "$state" ] || exit 0
    dir=$(dir_of)
    if [ -f "$dir/data/postmaster.pid" ]; then
      pid=$(head -n 1 "$dir/data/postmaster.pid")
      kill -INT "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir" "$state"
    ;;
  restart)
    dir=$(dir_of)
    "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >/dev/null
    ;;
  kill)
    dir=$(dir_of)
    pid=$(head -n 1 "$dir/data/postmaster.pid")
    kill -KILL "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    # The children end once their postmaster is gone; the new one waits for them.
    for _ in $(seq 1 100); do pgrep -f "postgres: .*$(basename "$dir")" >/dev/null 2>&1 || break; sleep 0.05; done
    "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "$(server_opts "$dir")" \
      start >/dev/null || { tail -n 20 "$dir/server.log" >&2; exit 1; }
    ;;
  host)
    dir_of
    ;;
  user)
    echo "$PGUSER_NAME"
    ;;
  uri)
    echo "postgresql:///${3:?database}?host=$(dir_of)&user=$PGUSER_NAME"
    ;;
  createdb)
    "$PGBIN/createdb" -h "$(dir_of)" -U "$PGUSER_NAME" "${3:?database}"
    ;;
  psql)
    db=${3:?database}
    shift 3
    psql -X -q -v ON_ERROR_STOP=1 -h "$(dir_of)" -U "$PGUSER_NAME" -d "$db" "$@"
    ;;
  *)
    echo "pg.sh: unknown command $cmd" >&2; exit 2 ;;
esac
