#!/usr/bin/env bash
# tests/integration/test_resolve_oracle.sh -- `mxguard resolve` (mxguard's model of what pdns
# answers to an A/AAAA query) against what pdns 4.7 on mxguard really answers.
#
# oracle.py gen writes a reproducible zone set (fixed seed): 61 zones, ~2,900 owner names of
# plain hosts, wildcards (addresses, CNAME, without addresses, blocked by an empty non-terminal,
# only an ENT itself, at apexes, below cuts and DNAMEs), CNAME chains of 1 to 12 links across
# zones (some looping, some leaving every served zone, some ending below a delegation, at an
# ENT, an ALIAS, a DNAME), delegations with glue, DNAMEs (at and below apexes, looping, leaving
# the zones, into a delegation, onto another DNAME), ALIAS, MX, and child zones served inside
# their parents. Every zone is imported with `mxguard import` (mode=off, parents first) and pdns
# (caches off) serves them from `mxguard serve`. For each of ~10,650 queries (every owner name,
# wildcard matches one and two labels down, ENTs, names below delegations and DNAMEs,
# nonexistent names, names outside every zone; A and AAAA) `mxguard resolve --json --batch` must
# give the result pdns gives to `dig +norec` (classified by oracle.py: servfail / unknown /
# addresses + the set / none; see its classify()).
# Two rounds: dname-processing=no in mxguard's config and pdns.conf, then =yes (both
# restarted). Any difference fails; so does a result kind pdns gives too rarely (fewer than 50
# addresses/unknown/none answers or 10 servfail), which would mean the set no longer exercises
# it.
#
# Env: MXGUARD, MXG_ORACLE_SEED (default 4711), ORACLE_PORT (default 5383), MXG_KEEP_TMP=1,
#      MXG_ORACLE_SELFCHECK=1: compare pdns with oracle.py's own reference model instead of
#      `mxguard resolve` (a check of the generator and the classifier; proves nothing about
#      mxguard, and leaves dname-processing out of mxguard's config).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init

PORT=${ORACLE_PORT:-5383}
SEED=${MXG_ORACLE_SEED:-4711}
SELFCHECK=${MXG_ORACLE_SELFCHECK:-0}
ORACLE="$IT_LIB_DIR/oracle.py"
GEN="$IT_WORK/gen"
QUERIES="$GEN/queries.txt"
# ~20,000 lookups per round: keep the daemon's log to what matters.
MXG_LOG_LEVEL=${MXG_LOG_LEVEL:-info}
MINS=(--min addresses=50 --min unknown=50 --min none=50 --min servfail=10)

if [ "$SELFCHECK" = 1 ]; then
    it_log "SELF-CHECK: pdns is compared with oracle.py's python model, NOT with mxguard resolve"
fi

python3 "$ORACLE" gen --seed "$SEED" --out "$GEN" || it_die "oracle.py gen failed"
mapfile -t ZONES < <(awk '{ print $1 "=" $2 }' "$GEN/zones.txt")
it_log "$(wc -l <"$QUERIES") queries over ${#ZONES[@]} zones (seed $SEED)"

# write_config DP -- mxguard's config for one round: the guard off (every import loads), and
# DNAMEs followed as pdns follows them with the same setting.
write_config() {
    mxg_write_config "$IT_WORK/mxguard"
    echo "mode=off" >>"$MXG_CONF"
    if [ "$SELFCHECK" != 1 ]; then echo "dname-processing=$1" >>"$MXG_CONF"; fi
    local out
    out=$(mxg_exec config check --config "$MXG_CONF" 2>&1) ||
        it_die "mxguard refuses the config (dname-processing=$1): $out"
}

write_config no
mxg_import_zones "${ZONES[@]}"
zl=$(mxg zone list)
assert_eq "${#ZONES[@]}" "$(grep -c '\.test' <<<"$zl")" "mxguard lists every imported zone"

if [ "$SELFCHECK" != 1 ]; then
    # One query on its own first: a clear message when the command is missing or broken.
    probe=$(mxg_exec resolve --config "$MXG_CONF" --json "${ZONES[0]%%=*}" A 2>&1) ||
        it_die "mxguard resolve --json ${ZONES[0]%%=*} A failed: $probe"
    python3 -c 'import json, sys; json.loads(sys.argv[1])' "$probe" ||
        it_die "mxguard resolve --json printed no JSON object: $probe"
fi

for dp in no yes; do
    write_config "$dp"
    mxg_start ""
    pdns_start --kind remote --port "$PORT" --name "pdns-dname-$dp" -- "--dname-processing=$dp"
    model="$IT_WORK/model-$dp.jsonl"
    answers="$IT_WORK/pdns-$dp.jsonl"
    t0=$SECONDS
    if [ "$SELFCHECK" = 1 ]; then
        python3 "$ORACLE" model --dir "$GEN" --queries "$QUERIES" --out "$model" --dname-processing "$dp"
    elif ! mxg_exec resolve --config "$MXG_CONF" --json --batch "$QUERIES" >"$model" 2>"$IT_WORK/resolve-$dp.err"; then
        it_fail "mxguard resolve --json --batch (dname-processing=$dp) failed"
        head -n 20 "$IT_WORK/resolve-$dp.err"
    fi
    it_log "model ($dp): $((SECONDS - t0)) s"
    python3 "$ORACLE" dig --dig "$DIG" --port "$PORT" --queries "$QUERIES" --out "$answers" --jobs 4 ||
        it_fail "dig got no reply to some queries (dname-processing=$dp)"
    if python3 "$ORACLE" compare --queries "$QUERIES" --model "$model" --pdns "$answers" \
        --label "dname-processing=$dp" "${MINS[@]}" >"$IT_WORK/compare-$dp.out" 2>&1; then
        it_pass "$(tail -n 1 "$IT_WORK/compare-$dp.out")"
    else
        cat "$IT_WORK/compare-$dp.out"
        it_fail "mxguard resolve and pdns differ (dname-processing=$dp)"
    fi
    if it_alive "$PDNS_PID"; then it_pass "pdns still running (dname-processing=$dp)"; else it_fail "pdns died"; fi
    if it_alive "$MXG_PID"; then it_pass "mxguard still running (dname-processing=$dp)"; else it_fail "mxguard died"; fi
    pdns_stop "$PDNS_PID"
    mxg_stop
done

it_finish
