#!/usr/bin/env bash
# tests/integration/test_guard_clients.sh -- the mail guard through pdns's other write clients
# and mxguard's own CLI (PRODUCT.md §4, §6):
#   - nsupdate: the apex A replaced with MX -> apex: SERVFAIL in reject mode (nothing applied),
#     applied with the fix in fix mode; audit source dnsupdate.
#   - pdnsutil replace-rrset of the apex A: exit 1 in reject mode, the fix in fix mode; audit
#     source pdnsutil.
#   - mxguard check --patch: exit 1 + verdict reject, findings, fix and remedies for the apex
#     move; exit 0 for a harmless PATCH; nothing written either way.
#   - mxguard scan --json: at-risk, no-mail, safe, broken (exit 1 then).
#   - mxguard last-decision --zone Z --json after a refusal.
#
# Ports: DNS 5372.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guard_lib.sh"
mxg_require
it_init

PORT=5372
OLD=192.0.2.10
NEW=203.0.113.80

std() { printf '@ IN A %s\n@ IN MX 10 @\nwww IN A 192.0.2.20\n' "$OLD"; }
for z in n1 n2 n3 n4 n5 c1 sa; do std | g_zone "$z.example"; done
printf '@ IN A %s\n@ IN MX 0 .\n' "$OLD" | g_zone sn.example
printf '@ IN A %s\n@ IN MX 10 mail\nmail IN A 192.0.2.25\n' "$OLD" | g_zone ss.example
printf '@ IN A %s\n@ IN MX 10 mail\nmail IN A 203.0.113.25\n' "$OLD" | g_zone sb.example

mxg_write_config "$IT_WORK/mxguard"
echo "mode=reject" >>"$MXG_CONF"
mapfile -t zones < <(g_zone_list)
mxg_import_zones "${zones[@]}"
mxg_start
pdns_start --kind remote --port "$PORT" --name pdns-guard
pu() { "$PDNSUTIL" --config-dir="$PDNS_DIR" "$@" 2>&1; }

# nsu ZONE LINES... -- one DNS UPDATE; sets NSU_RC, NSU_OUT.
nsu() {
    local zone=$1
    shift
    NSU_RC=0
    NSU_OUT=$({ printf 'server 127.0.0.1 %s\nzone %s\n' "$PORT" "$zone"; printf '%s\n' "$@"; echo send; } |
        timeout 20 nsupdate -t 5 2>&1) || NSU_RC=$?
}
apex_move() { nsu "$1" "update delete $1. A" "update add $1. 3600 A $NEW"; }
audit_seq() { mxg audit export | grep -c . || true; }

# ================================================================ reject ================
it_log "--- mode reject"
g_mark
apex_move n1.example
if [ "$NSU_RC" -ne 0 ] && [[ $NSU_OUT == *SERVFAIL* ]]; then it_pass "nsupdate apex move refused: SERVFAIL"; else
    it_fail "nsupdate apex move: want SERVFAIL (exit $NSU_RC)"; printf '       %s\n' "$NSU_OUT"; fi
assert_answer "$PORT" n1.example A "$OLD"
g_audit "nsupdate reject" n1.example dnsupdate reject mail-moved:A

# one UPDATE moving the apex and, in the same message, mail to a host keeping the old address:
# the end state keeps mail, whatever the order of the single writes
g_mark
nsu n5.example "update delete n5.example. A" "update add n5.example. 3600 A $NEW" "update delete n5.example. MX" \
    "update add n5.example. 3600 MX 10 mail2.n5.example." "update add mail2.n5.example. 3600 A $OLD"
assert_eq 0 "$NSU_RC" "nsupdate apex + MX + mail host in one message: accepted"
assert_answer "$PORT" n5.example MX "10 mail2.n5.example."
assert_answer "$PORT" n5.example A "$NEW"
g_audit "nsupdate apex + MX" n5.example dnsupdate allow '!mail-moved'

# last-decision after the refusal
G_REC=$(mxg last-decision --zone n1.example --json 2>&1) || true
assert_eq "n1.example dnsupdate reject" "$(rq 'canon(r["zone"]) + " " + r["source"] + " " + r["verdict"]')" \
    "last-decision --json: the refusal"
assert_contains "$(rq '" ".join(f["rule"] + "/" + f["family"] for f in r["findings"])')" "mail-moved/A" \
    "last-decision --json: the finding"
assert_contains "$(rq 'rrs(r["changes"])')" "n1.example A $NEW" "last-decision --json: the refused change"
assert_contains "$(mxg last-decision --zone n1.example 2>&1)" "mail-moved" "last-decision (text) names the rule"

g_mark
out=$(pu replace-rrset n2.example @ A 3600 "$NEW") && rc=0 || rc=$?
assert_eq 1 "$rc" "pdnsutil replace-rrset of the apex A: exit 1"
assert_contains "$out" "No 'result' field" "pdnsutil reports the refusal"
assert_answer "$PORT" n2.example A "$OLD"
g_audit "pdnsutil reject" n2.example pdnsutil reject mail-moved:A

# ================================================================ check =================
it_log "--- check"
b=$(body "$(rr c1.example. A 3600 "$NEW")")
echo "$b" >"$IT_WORK/move.json"
body "$(rr www.c1.example. A 3600 192.0.2.21)" >"$IT_WORK/harmless.json"
before=$(audit_seq)
G_REC=$(mxg check --zone c1.example --patch "$IT_WORK/move.json" --json 2>"$IT_WORK/check.err") && rc=0 || rc=$?
assert_eq 1 "$rc" "check of the apex move: exit 1"
assert_eq "c1.example reject" "$(rq 'canon(r["zone"]) + " " + r["verdict"]')" "check --json: zone and verdict reject"
assert_contains "$(rq '" ".join(f["rule"] + "/" + f["family"] for f in r["findings"])')" "mail-moved/A" "check --json: finding mail-moved/A"
assert_contains "$(rq 'rrs(r["fix"])')" "mail.c1.example A $OLD" "check --json: the fix fix mode would apply (mail host)"
assert_contains "$(rq 'rrs(r["fix"])')" "c1.example MX 10 mail.c1.example" "check --json: the fix repoints MX"
assert_eq yes "$(rq '"yes" if isinstance(r["remedies"], list) and len(r["remedies"]) > 0 and all(isinstance(x, str) and x for x in r["remedies"]) else r["remedies"]')" \
    "check --json: remedies listed"
assert_contains "$(rq '" ".join(r["remedies"]).lower()')" "www" "a remedy proposes proxying only www"
G_REC=$(mxg check --zone c1.example --patch - --json <"$IT_WORK/move.json" 2>&1) && rc=0 || rc=$?
assert_eq "1 reject" "$rc $(rq 'r["verdict"]')" "check --patch - (stdin) gives the same verdict"
G_REC=$(mxg check --zone c1.example --patch "$IT_WORK/harmless.json" --json 2>&1) && rc=0 || rc=$?
assert_eq 0 "$rc" "check of a harmless PATCH: exit 0"
assert_eq "allow 0" "$(rq 'r["verdict"] + " " + str(len(r["findings"]))')" "check --json: allow, no findings"
assert_eq "$before" "$(audit_seq)" "check wrote no audit record"
assert_answer "$PORT" c1.example A "$OLD"
assert_answer "$PORT" www.c1.example A 192.0.2.20
assert_answer "$PORT" mail.c1.example A ""

# ================================================================ fix ===================
it_log "--- mode fix"
g_set mode=fix
g_mark
apex_move n3.example
assert_eq 0 "$NSU_RC" "nsupdate apex move in fix mode: accepted"
assert_answer "$PORT" n3.example A "$NEW"
assert_answer "$PORT" n3.example MX "10 mail.n3.example."
assert_answer "$PORT" mail.n3.example A "$OLD"
g_audit "nsupdate fix" n3.example dnsupdate fix mail-moved:A

g_mark
out=$(pu replace-rrset n4.example @ A 3600 "$NEW") && rc=0 || rc=$?
assert_eq 0 "$rc" "pdnsutil replace-rrset in fix mode: exit 0"
assert_answer "$PORT" n4.example A "$NEW"
assert_answer "$PORT" n4.example MX "10 mail.n4.example."
assert_answer "$PORT" mail.n4.example A "$OLD"
g_audit "pdnsutil fix" n4.example pdnsutil fix mail-moved:A

# ================================================================ scan ==================
it_log "--- scan"
# scan_json: mxg scan --json into $IT_WORK/scan.json, exit status in SCAN_RC; class_of ZONE < json
scan_json() { mxg scan --json >"$IT_WORK/scan.json" 2>&1 && SCAN_RC=0 || SCAN_RC=$?; }
class_of() { python3 -c 'import json, sys
d = json.loads(sys.stdin.read())
print(" ".join(z["class"] for z in d["zones"] if z["zone"].lower().rstrip(".") == sys.argv[1]) or "absent")' "$1"; }
scan_json; s=$(cat "$IT_WORK/scan.json")
assert_eq 0 "$SCAN_RC" "scan without proxy-ranges: exit 0"
assert_eq at-risk "$(class_of sa.example <<<"$s")" "scan: MX -> apex is at-risk"
assert_eq at-risk "$(class_of n1.example <<<"$s")" "scan: the refused zone is still at-risk"
assert_eq no-mail "$(class_of sn.example <<<"$s")" "scan: null MX is no-mail"
assert_eq safe "$(class_of ss.example <<<"$s")" "scan: dedicated mail host is safe"
assert_eq safe "$(class_of n3.example <<<"$s")" "scan: the fixed zone is safe"
assert_eq safe "$(class_of sb.example <<<"$s")" "scan: sb.example safe before proxy-ranges name its address"
assert_ne "" "$(python3 -c 'import json, sys
print(" ".join(" ".join(z["reasons"]) for z in json.loads(sys.stdin.read())["zones"] if z["zone"].rstrip(".") == "sa.example"))' <<<"$s")" \
    "scan: at-risk comes with reasons"
g_set proxy-ranges=203.0.113.0/24
scan_json; s=$(cat "$IT_WORK/scan.json")
assert_eq 1 "$SCAN_RC" "scan with a broken zone: exit 1"
assert_eq broken "$(class_of sb.example <<<"$s")" "scan: mail target inside proxy-ranges is broken"
assert_eq at-risk "$(class_of sa.example <<<"$s")" "scan: sa.example still at-risk"
assert_eq safe "$(class_of n3.example <<<"$s")" "scan: the fixed zone (apex in proxy-ranges, mail host outside) is safe"
mxg scan >"$IT_WORK/scan.txt" 2>&1 && rc=0 || rc=$?
assert_eq 1 "$rc" "scan (table): exit 1"
assert_contains "$(grep sb.example "$IT_WORK/scan.txt" || true)" broken "scan table shows sb.example broken"

st=$(mxg stats --json 2>&1 || true)
assert_eq "yes yes" "$(python3 -c 'import json, sys
d = json.loads(sys.argv[1]); print("yes" if d.get("rejected", 0) >= 2 else d, "yes" if d.get("fixed", 0) >= 2 else d)' "$st" 2>&1)" \
    "stats --json counts the refusals and fixes"
assert_ok "audit verify" mxg audit verify
assert_eq ok "$(g_sql 'PRAGMA integrity_check')" "store integrity_check"
it_finish
