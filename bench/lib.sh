# bench/lib.sh -- what the bench scripts share; sourced after the script sets BENCH_TAG (the
# log prefix). It sets PIDS=() and WORK="" and traps EXIT, INT, TERM and HUP: on exit every
# process started with spawn is stopped (newest first), then the commands in BENCH_ON_EXIT run,
# then WORK is removed unless the run failed or BENCH_KEEP=1.

PIDS=()
WORK=""
BENCH_ON_EXIT=()

log() { printf '[%s %s] %s\n' "${BENCH_TAG:-bench}" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# alive PID -- the process exists and is not a zombie.
alive() {
    local st
    kill -0 "$1" 2>/dev/null || return 1
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo X)
    [ "$st" != Z ] && [ "$st" != X ]
}

# stop_pid PID -- TERM, up to 5 s, then KILL; reaps it.
stop_pid() {
    local pid=$1 i
    if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do alive "$pid" || break; sleep 0.1; done
        if alive "$pid"; then
            log "pid $pid ignored TERM, sending KILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
    local rc=$? i
    trap - EXIT INT TERM HUP
    set +e
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[$i]}"; done
    for ((i = ${#BENCH_ON_EXIT[@]} - 1; i >= 0; i--)); do eval "${BENCH_ON_EXIT[$i]}"; done
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        if [ "$rc" -eq 0 ] && [ "${BENCH_KEEP:-0}" != 1 ]; then
            rm -rf "$WORK"
        else
            log "kept work dir $WORK"
        fi
    fi
    exit "$rc"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# spawn LOG CMD... -- start CMD in the background (output to LOG); its PID in LAST_PID.
spawn() {
    local logf=$1
    shift
    "$@" </dev/null >>"$logf" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

# wait_socket PATH PID -- until the unix socket exists (5 s), while PID lives.
wait_socket() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ -S "$1" ] && return 0
        alive "$2" || return 1
        sleep 0.05
    done
    return 1
}

# wait_dns PORT PID [ZONE] -- until 127.0.0.1:PORT answers ZONE's SOA (any rcode; with ZONE
# given, NOERROR), 15 s at most, while PID lives.
wait_dns() {
    local i out
    for ((i = 0; i < 60; i++)); do
        alive "$2" || return 1
        if out=$("${DIG:-dig}" @127.0.0.1 -p "$1" +tries=1 +time=1 +norec "${3:-${ZONE:-.}}" SOA 2>/dev/null); then
            [ -z "${3:-}" ] && return 0
            [[ $out == *"status: NOERROR"* ]] && return 0
        fi
        sleep 0.25
    done
    return 1
}

# median -- the median of the numbers on stdin (the mean of the middle two for an even count).
median() {
    sort -g | awk '{v[NR] = $1} END {
        if (NR == 0) { print "nan"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# port_free PORT... -- stop the run, saying who holds it, when something already listens on a
# PORT (TCP or UDP): a stray server there would be measured in place of the bench's own.
port_free() {
    local p held
    for p in "$@"; do
        held=$(ss -Hlntup "( sport = :$p )" 2>/dev/null || true)
        [ -z "$held" ] || die "port $p is already in use; stop what holds it first: $(printf '%s' "$held" | tr -s ' \n' ' ')"
    done
}
