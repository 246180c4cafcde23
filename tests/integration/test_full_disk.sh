#!/usr/bin/env bash
# tests/integration/test_full_disk.sh -- the store's file system runs full under a running pdns
# on mxguard.
#
# The store (and with it the audit log) lives on a 6 MiB tmpfs mounted in a private mount
# namespace (the test re-runs itself under `unshare --mount`; it needs root and fails when it
# cannot have that). After a first write works, the WAL is checkpointed and truncated (so any
# commit needs new space) and a filler file takes every free block. Then:
#  - API PATCHes (allowed ones and one the guard refuses) and nsupdate each fail cleanly: the
#    API answers 500 with pdns's error, nsupdate gets SERVFAIL, mxguard says "disk is full" in
#    its log and keeps running;
#  - dig still answers (old data), `mxguard audit verify` passes, the store is unchanged (records
#    and audit log byte for byte) and integrity_check says ok;
#  - the filler is deleted: the same writes go through (the refused PATCH now leaves its audit
#    record), dig serves them, the audit log verifies, integrity_check ok.
# Finally mxguard is stopped and restarted on a full disk: it serves reads and refuses writes.
#
# Ports: DNS 5380, API 8093.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guard_lib.sh"
mxg_require
it_init

if [ -z "${MXG_IN_NS:-}" ]; then
    [ "$(id -u)" -eq 0 ] || it_die "needs root to mount a size-limited tmpfs in a private mount namespace"
    unshare --mount --propagation private true 2>/dev/null ||
        it_die "cannot create a private mount namespace (unshare --mount)"
    rc=0
    MXG_IN_NS=1 unshare --mount --propagation private bash "$0" || rc=$?
    trap - EXIT
    rm -rf "$IT_WORK"
    exit "$rc"
fi

PORT=5380
G_API=8093
ZONE=full.example
OLD=192.0.2.10
SMALL=$IT_WORK/small
mkdir -p "$SMALL"
mount -t tmpfs -o size=6m,mode=0700 mxg-full-test "$SMALL" || it_die "cannot mount a tmpfs on $SMALL"
# The namespace goes away with this shell; unmount (lazily: mxguard may still hold files until
# the cleanup stops it) so that the work dir can be removed.
full_cleanup() {
    local rc=$?
    set +e
    umount -l "$SMALL" 2>/dev/null
    (exit "$rc")
    it_cleanup
}
trap full_cleanup EXIT

printf '@ IN A %s\n@ IN MX 10 @\nwww IN A 192.0.2.20\n' "$OLD" | g_zone "$ZONE"
mxg_write_config "$IT_WORK/mxguard"
MXG_STORE=$SMALL/store.sqlite3
sed -i "s|^store=.*|store=sqlite:$MXG_STORE|" "$MXG_CONF"
echo "mode=reject" >>"$MXG_CONF"
mxg_import_zones "$ZONE=$IT_WORK/zones/$ZONE.zone"
mxg_start
pdns_start --kind remote --port "$PORT" --api-port "$G_API" --name pdns-full

nsu() {
    NSU_RC=0
    NSU_OUT=$({ printf 'server 127.0.0.1 %s\nzone %s\n' "$PORT" "$ZONE"; printf '%s\n' "$@"; echo send; } |
        timeout 20 nsupdate -t 5 2>&1) || NSU_RC=$?
}
txt() { g_patch "$ZONE" "$(body "$(rr "$1.$ZONE." TXT 60 "\"$2\"")")"; }
apex_moved() { g_patch "$ZONE" "$(body "$(rr "$ZONE." A 3600 203.0.113.50)")"; }
audit_count() { mxg audit export | grep -c . || true; }
# Records, metadata and the audit log: what must not change while writes fail.
snapshot() {
    g_sql "SELECT 'r', name, type, prio, content FROM records UNION ALL
           SELECT 'm', kind, content, '', '' FROM domainmetadata UNION ALL
           SELECT 'a', seq, hash, record, '' FROM mxg_audit ORDER BY 1, 2, 3, 4, 5"
}
avail_kb() { df -k --output=avail "$SMALL" | tail -n 1 | tr -d ' '; }

# --- with space -------------------------------------------------------------------------------
assert_eq 204 "$(txt before v1)" "PATCH with space: 204"
nsu "update add nsu-before.$ZONE. 60 IN TXT \"n1\""
assert_eq 0 "$NSU_RC" "nsupdate with space"
assert_answer "$PORT" "before.$ZONE" TXT '"v1"'

# --- fill the file system ---------------------------------------------------------------------
# Empty WAL, so every commit needs blocks the file system no longer has (a commit that fits in
# WAL space already allocated would simply succeed).
assert_eq "0|0|0" "$(g_sql 'PRAGMA wal_checkpoint(TRUNCATE)')" "WAL checkpointed and truncated"
dd if=/dev/zero of="$SMALL/filler" bs=64k >/dev/null 2>&1 || true
dd if=/dev/zero of="$SMALL/filler2" bs=512 >/dev/null 2>&1 || true
assert_eq 0 "$(avail_kb)" "the store's file system is full"
it_log "store file system: $(df -h --output=size,used,avail "$SMALL" | tail -n 1)"
audit0=$(audit_count)
snap0=$(snapshot)
log0=$(grep -c "disk is full" "$MXG_LOG" || true)

# --- writes fail cleanly ----------------------------------------------------------------------
for i in 1 2 3 4 5; do
    code=$(txt "full$i" "x$i")
    assert_eq 500 "$code" "PATCH $i on a full disk: 500"
done
assert_contains "$(cat "$IT_WORK/patch.out")" "Internal Server Error" "the API client gets pdns's error"
assert_eq 500 "$(apex_moved)" "guard-refused PATCH on a full disk: 500"
nsu "update add nsu-full.$ZONE. 60 IN TXT \"n2\""
assert_ne 0 "$NSU_RC" "nsupdate on a full disk fails"
assert_contains "$NSU_OUT" "SERVFAIL" "nsupdate on a full disk: SERVFAIL"
it_alive "$MXG_PID" && it_pass "mxguard still running" || it_fail "mxguard died on the full disk"
it_alive "$PDNS_PID" && it_pass "pdns still running" || it_fail "pdns died"
assert_contains "$(grep 'Sending ServFail' "$PDNS_LOG" || true)" "for $ZONE" "pdns answered the UPDATE with SERVFAIL"
nfull=$(($(grep -c "disk is full" "$MXG_LOG" || true) - log0))
[ "$nfull" -ge 7 ] && it_pass "mxguard logged $nfull failed commits as 'disk is full'" ||
    it_fail "only $nfull 'disk is full' lines in mxguard's log"

# --- reads go on, nothing changed, nothing corrupted ------------------------------------------
assert_answer "$PORT" "$ZONE" A "$OLD"
assert_answer "$PORT" "before.$ZONE" TXT '"v1"'
assert_answer "$PORT" "nsu-before.$ZONE" TXT '"n1"'
assert_rcode "$PORT" NXDOMAIN "full1.$ZONE" TXT
assert_rcode "$PORT" NXDOMAIN "nsu-full.$ZONE" TXT
assert_contains "$(dig_at "$PORT" "$ZONE" SOA)" "status: NOERROR" "SOA answered on a full disk"
assert_ok "audit verify on a full disk" mxg audit verify
assert_eq "$audit0" "$(audit_count)" "no audit record for the failed commits"
[ "$snap0" = "$(snapshot)" ] && it_pass "records and audit log unchanged" || it_fail "the store changed while writes failed"
assert_eq ok "$(g_sql 'PRAGMA integrity_check')" "integrity_check on a full disk"

# --- space again ------------------------------------------------------------------------------
rm -f "$SMALL/filler" "$SMALL/filler2"
it_log "freed: $(avail_kb) kB available"
assert_eq 204 "$(txt after v2)" "PATCH after space is freed: 204"
assert_answer "$PORT" "after.$ZONE" TXT '"v2"'
assert_eq 500 "$(apex_moved)" "guard-refused PATCH after space is freed: 500 (the guard)"
nsu "update add nsu-after.$ZONE. 60 IN TXT \"n3\""
assert_eq 0 "$NSU_RC" "nsupdate after space is freed"
assert_answer "$PORT" "nsu-after.$ZONE" TXT '"n3"'
assert_answer "$PORT" "$ZONE" A "$OLD"
assert_eq $((audit0 + 3)) "$(audit_count)" "three new audit records (PATCH, refusal, nsupdate)"
assert_eq "allow reject allow" "$(mxg audit export | tail -n 3 | python3 -c 'import json, sys
print(" ".join(json.loads(l)["verdict"] for l in sys.stdin))')" "their verdicts"
assert_ok "audit verify after space is freed" mxg audit verify
assert_eq ok "$(g_sql 'PRAGMA integrity_check')" "integrity_check after space is freed"

# --- a restart on a full disk -----------------------------------------------------------------
g_sql 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
dd if=/dev/zero of="$SMALL/filler" bs=64k >/dev/null 2>&1 || true
dd if=/dev/zero of="$SMALL/filler2" bs=512 >/dev/null 2>&1 || true
assert_eq 0 "$(avail_kb)" "full again"
audit1=$(audit_count)
mxg_stop
rm -f "$MXG_SOCK" "$MXG_CTL_SOCK"
mxg_start
# Stopping mxguard checkpointed and deleted the WAL: take what that freed as well.
dd if=/dev/zero of="$SMALL/filler3" bs=512 >/dev/null 2>&1 || true
assert_eq 0 "$(avail_kb)" "still full after the restart"
assert_eq '"v2"' "$(dig_retry "$PORT" "after.$ZONE" TXT)" "restarted on a full disk: dig answers"
code=500
for ((i = 0; i < 3; i++)); do code=$(txt restarted v3); [ "$code" = 500 ] && break; done
assert_eq 500 "$code" "restarted on a full disk: PATCH 500"
assert_eq "$audit1" "$(audit_count)" "no audit record"
rm -f "$SMALL/filler" "$SMALL/filler2" "$SMALL/filler3"
assert_eq 204 "$(txt restarted v3)" "and 204 once there is space"
assert_ok "audit verify at the end" mxg audit verify
assert_eq ok "$(g_sql 'PRAGMA integrity_check')" "integrity_check at the end"
it_finish
