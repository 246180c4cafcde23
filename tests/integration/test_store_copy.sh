#!/usr/bin/env bash
# tests/integration/test_store_copy.sh -- `mxguard store copy` between the engines:
#   - a SQLite store made the way users make one (imports, API PATCHes with their audit records,
#     a refusal, metadata, pdnsutil secure-zone and add-zone-key, TSIG keys, an autoprimary) is
#     copied into an empty PostgreSQL database: exit 0, "verified", the counts of what it holds;
#   - pdns on the copy answers exactly as pdns on the original: every name and type of the
#     zones (dig, rcode and records; RRSIGs aside, their signatures are random), the DNSKEY
#     RRsets, the TSIG and metadata lists pdnsutil shows, the same audit head;
#   - `audit verify` passes on the copy and the chain goes on there (a new PATCH chains to it);
#   - copied back into a new SQLite file: verified again, same audit head;
#   - a destination that holds zones is refused (exit 2), and so is one that does not open.
#
# Ports: DNS 5314, 5315; API 8108, 8109.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guard_lib.sh"
mxg_require
it_init

pg_database copy
SQ="$IT_WORK/orig/store.sqlite3"
BACK="$IT_WORK/back.sqlite3"

# --- the original, on SQLite -----------------------------------------------------------------
MXG_TEST_PG_STATE= mxg_write_config "$IT_WORK/orig"
echo "mode=reject" >>"$MXG_CONF"
ORIG_CONF=$MXG_CONF
mxg_import_zones "example.com=$IT_ZONES_DIR/example.com.zone" "example.net=$IT_ZONES_DIR/example.net.zone" \
    "2.0.192.in-addr.arpa=$IT_ZONES_DIR/2.0.192.in-addr.arpa.zone"
mxg_start
pdns_start --kind remote --port 5314 --api-port 8108 --name pdns-orig -- \
    --remote-dnssec=yes --dnssec-key-cache-ttl=0 --zone-metadata-cache-ttl=0
echo "remote-dnssec=yes" >>"$PDNS_DIR/pdns.conf"
ORIG_DIR=$PDNS_DIR
G_API=8108
pu() { "$PDNSUTIL" --config-dir="$1" "${@:2}" 2>&1; }
# pu_out DIR ARGS... -- stdout only: pdns's log lines on stderr carry a timestamp.
pu_out() { "$PDNSUTIL" --config-dir="$1" "${@:2}" 2>/dev/null; }

assert_eq 204 "$(g_patch example.com "$(body "$(rr "copy1.example.com." TXT 300 '"one"')" "$(rr "copy2.example.com." A 300 192.0.2.77)")")" "a PATCH"
assert_eq 204 "$(g_patch example.net "$(body "$(rr "copy3.example.net." AAAA 300 2001:db8::77)")")" "another PATCH"
assert_ne 204 "$(g_patch example.com "$(body "$(rr "example.com." A 3600 203.0.113.80)")")" "the apex moved: refused (an audit record of it)"
assert_ok "secure-zone" pu "$ORIG_DIR" secure-zone example.com
assert_ok "add-zone-key (an inactive ZSK)" pu "$ORIG_DIR" add-zone-key example.com zsk inactive ecdsa256
assert_ok "set-meta" pu "$ORIG_DIR" set-meta example.net ALSO-NOTIFY 192.0.2.53 192.0.2.54
assert_ok "import-tsig-key" pu "$ORIG_DIR" import-tsig-key xfr-key hmac-sha256 c2VjcmV0LWZvci10aGUtY29weQ==
assert_ok "autoprimary add" mxg autoprimary add 192.0.2.99 ns.provider.example.
ORIG_HEAD=$(mxg audit verify --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["head"])')

# --- copy to PostgreSQL ----------------------------------------------------------------------
out=$(mxg_exec store copy --from "sqlite:$SQ" --to "$PG_URI" 2>&1) || true
assert_contains "$out" "copied and verified" "store copy sqlite -> postgresql"
assert_contains "$out" "3 zones" "the copy counts 3 zones"
assert_contains "$out" "2 DNSSEC keys" "the copy counts the 2 DNSSEC keys"
assert_contains "$out" "1 TSIG keys, 1 autoprimaries" "the copy counts the TSIG key and the autoprimary"

# --- pdns on the copy ------------------------------------------------------------------------
mxg_write_config "$IT_WORK/copy"
mxg_set_store "$PG_URI" mode=reject node-name=copy
COPY_CONF=$MXG_CONF
mxg_start
pdns_start --kind remote --port 5315 --api-port 8109 --name pdns-copy -- \
    --remote-dnssec=yes --dnssec-key-cache-ttl=0 --zone-metadata-cache-ttl=0
echo "remote-dnssec=yes" >>"$PDNS_DIR/pdns.conf"
COPY_DIR=$PDNS_DIR

# answers PORT -- for every name of the zones and every type: "name type rcode records", the
# records sorted, RRSIGs left out (their signatures are random). One dig in batch mode.
answers() {
    "$DIG" @127.0.0.1 -p "$1" +norec +dnssec +tries=1 +time=2 -f "$IT_WORK/batch" 2>&1 | python3 -c '
import re, sys
for block in sys.stdin.read().split(";; Got answer:")[1:]:
    status = re.search(r"status: ([A-Z]+)", block).group(1)
    q = re.search(r";; QUESTION SECTION:\n;(\S+)\s+IN\s+(\S+)", block)
    ans = re.search(r";; ANSWER SECTION:\n(.*?)(\n\n|$)", block, re.S)
    rrs = sorted(" ".join(l.split()) for l in (ans.group(1).splitlines() if ans else [])
                 if l.split()[3:4] != ["RRSIG"])
    print(q.group(1), q.group(2), status, " | ".join(rrs))'
}
: >"$IT_WORK/batch"
for z in example.com example.net 2.0.192.in-addr.arpa; do
    { dig_at 5314 +noall +answer AXFR "$z" | awk '{print $1}'; echo "nothere.$z."; } | sort -u |
        while read -r name; do
            for t in SOA NS A AAAA MX TXT CNAME SRV PTR DNSKEY NSEC NSEC3PARAM; do echo "$name $t"; done
        done >>"$IT_WORK/batch"
done
answers 5314 >"$IT_WORK/orig.answers"
answers 5315 >"$IT_WORK/copy.answers"
if diff -u "$IT_WORK/orig.answers" "$IT_WORK/copy.answers" >"$IT_WORK/answers.diff"; then
    it_pass "pdns on the copy answers as pdns on the original ($(wc -l <"$IT_WORK/orig.answers") questions)"
else
    it_fail "pdns on the copy answers differently"; head -20 "$IT_WORK/answers.diff"
fi
assert_contains "$(cat "$IT_WORK/copy.answers")" "DNSKEY NOERROR example.com." "the copy serves example.com's DNSKEYs"
assert_contains "$(pu_out "$COPY_DIR" list-tsig-keys)" "xfr-key." "list-tsig-keys on the copy lists the key"
assert_eq "$(pu_out "$ORIG_DIR" list-tsig-keys)" "$(pu_out "$COPY_DIR" list-tsig-keys)" "list-tsig-keys equal"
assert_eq "$(pu_out "$ORIG_DIR" get-meta example.net ALSO-NOTIFY)" "$(pu_out "$COPY_DIR" get-meta example.net ALSO-NOTIFY)" "get-meta equal"
copy_head=$(mxg_exec audit verify --json --config "$COPY_CONF" | python3 -c 'import json,sys; print(json.load(sys.stdin)["head"])')
assert_eq "$ORIG_HEAD" "$copy_head" "audit verify on the copy: the same head"
assert_contains "$(mxg_exec autoprimary list --config "$COPY_CONF")" "192.0.2.99" "the autoprimary copied"

# --- copy back to a new SQLite file ----------------------------------------------------------
out=$(mxg_exec store copy --from "$PG_URI" --to "sqlite:$BACK" 2>&1) || true
assert_contains "$out" "copied and verified" "store copy postgresql -> sqlite"
printf 'store=sqlite:%s\n' "$BACK" >"$IT_WORK/back.conf"
back_head=$(mxg_exec audit verify --json --config "$IT_WORK/back.conf" | python3 -c 'import json,sys; print(json.load(sys.stdin)["head"])')
assert_eq "$ORIG_HEAD" "$back_head" "audit verify on the copy back: the same head"

# --- the chain goes on on the copy -----------------------------------------------------------
G_API=8109
MXG_CONF=$COPY_CONF
assert_eq 204 "$(g_patch example.com "$(body "$(rr "after-copy.example.com." TXT 300 '"x"')")")" "a PATCH on the copy"
assert_ok "audit verify on the copy after a new commit" mxg_exec audit verify --config "$COPY_CONF"
assert_contains "$(mxg_exec audit export --after "${ORIG_HEAD%%:*}" --config "$COPY_CONF")" '"node":"copy"' "the new record chains on, naming its node"

# --- refusals ---------------------------------------------------------------------------------
rc=0
out=$(mxg_exec store copy --from "sqlite:$SQ" --to "$PG_URI" 2>&1) || rc=$?
assert_eq 2 "$rc" "a destination holding zones: exit 2"
assert_contains "$out" "already holds zones" "... and says why"
rc=0
out=$(mxg_exec store copy --from "sqlite:$SQ" --to "postgresql:///x?host=/nonexistent" 2>&1) || rc=$?
assert_eq 2 "$rc" "a destination that does not open: exit 2"
assert_contains "$out" "cannot connect to PostgreSQL" "... and says why"
rc=0
out=$(mxg_exec store copy --from "sqlite:$SQ" 2>&1) || rc=$?
assert_eq 2 "$rc" "no --to: usage error"

it_finish
