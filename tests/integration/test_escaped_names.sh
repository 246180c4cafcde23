#!/usr/bin/env bash
# tests/integration/test_escaped_names.sh -- names and content with characters that need escaping
# in zone files, written by pdns 4.7 itself, side by side with pdns's own gsqlite3 backend.
#
# pdns on gsqlite3 (reference) and pdns on mxguard (candidate) start from the same zone and get
# the same writes through DNS UPDATE (nsupdate), the HTTP API (PATCH) and pdnsutil
# (add-record, replace-rrset): owners and names in CNAME/MX/SRV/PTR/NS content with '(' ')' '"'
# ';' '@' '$' '#', space, "\." (a dot inside a label), "\\", control octets, DEL, non-ASCII,
# upper case, and TXT strings with the same. pdns sends such names in its own text form
# (DNSName::toString: printable ASCII as it is but '.' and '\', \DDD for the rest), which is not
# RFC 1035 zone-file escaping. Every write must succeed on both, the records tables must hold the
# same rows byte for byte, and dig answers, AXFR and the API's zone view must be the same. Then
# a copy of the gsqlite3 database is served by a second mxguard: same answers, records untouched.
#
# Both pdns run with 8bit-dns=yes: without it pdns answers SERVFAIL ("malformed qdomain") for any
# question whose name holds such octets, whatever the backend.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init

REF_PORT=5351  REF_API=8094   # pdns + gsqlite3
CAND_PORT=5352 CAND_API=8096  # pdns + mxguard
MOVED_PORT=5353               # pdns + a second mxguard on a copy of the gsqlite3 database

ZONE_FILE="$IT_WORK/example.com.zone"
# shellcheck disable=SC2016 # literal zone-file directives
printf '%s\n' '$ORIGIN example.com.' '$TTL 3600' \
    '@ IN SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300' \
    '@ IN NS ns1' '@ IN A 192.0.2.10' 'ns1 IN A 192.0.2.1' >"$ZONE_FILE"

pdns_start --kind gsqlite3 --port "$REF_PORT" --api-port "$REF_API" \
    --zone "example.com=$ZONE_FILE" --name pdns-gsqlite3 -- --8bit-dns=yes
REF_DIR=$PDNS_DIR
REF_DB="$REF_DIR/pdns.sqlite3"

mxg_write_config "$IT_WORK/mxguard"
# Not about the mail guard: the test addresses are the mail ranges, so no MX written here counts
# as mail moving away.
echo "mail-ranges=192.0.2.0/24" >>"$MXG_CONF"
mxg_import_zones "example.com=$ZONE_FILE"
mxg_start
pdns_start --kind remote --port "$CAND_PORT" --api-port "$CAND_API" --name pdns-remote \
    -- --8bit-dns=yes
CAND_DIR=$PDNS_DIR
CAND_STORE=$MXG_STORE

# ---------------------------------------------------------------------------- writes --

# both_ok MESSAGE FUNC ARGS... -- FUNC ARGS... against the reference, then the candidate
# (FUNC takes "ref" or "cand" first); both must succeed.
both_ok() {
    local msg=$1 f=$2 side out rc
    shift 2
    for side in ref cand; do
        rc=0
        out=$("$f" "$side" "$@" 2>&1) || rc=$?
        if [ "$rc" -eq 0 ]; then it_pass "$msg ($side)"; else
            it_fail "$msg ($side, exit $rc)"; printf '%s\n' "$out" | head -n 8 | sed 's/^/       /'; fi
    done
}

# nsu SIDE LINES... -- one DNS UPDATE message (check-names off: the names are the point).
nsu() {
    local port=$REF_PORT
    [ "$1" = ref ] || port=$CAND_PORT
    shift
    { printf 'server 127.0.0.1 %s\ncheck-names off\nzone example.com\n' "$port"
      printf '%s\n' "$@"; echo send; } | timeout 20 nsupdate -t 5
}

# api SIDE CHANGETYPE NAME TYPE [CONTENT...] -- PATCH one RRset (TTL 300).
api() {
    local port=$REF_API
    [ "$1" = ref ] || port=$CAND_API
    local ct=$2 name=$3 type=$4 body code
    shift 4
    body=$(jq -cn --arg n "$name" --arg t "$type" --arg ct "$ct" '{rrsets: [{name: $n, type: $t,
        ttl: 300, changetype: $ct, records: [$ARGS.positional[] | {content: ., disabled: false}]}]}' \
        --args "$@")
    code=$(curl -sS -m 20 -o "$IT_WORK/api.out" -w '%{http_code}' -X PATCH -H 'X-API-Key: secret' \
        -H 'Content-Type: application/json' --data-binary "$body" \
        "http://127.0.0.1:$port/api/v1/servers/localhost/zones/example.com.")
    [ "$code" = 204 ] || { echo "HTTP $code: $(head -c 300 "$IT_WORK/api.out")"; return 1; }
}

# pu SIDE ARGS... -- pdnsutil against that side's pdns configuration; its output must not
# report a refusal (pdnsutil add-record exits 0 even when the backend refused the RRset).
pu() {
    local dir=$REF_DIR out
    [ "$1" = ref ] || dir=$CAND_DIR
    shift
    out=$(timeout 30 "$PDNSUTIL" --config-dir="$dir" "$@" 2>&1)
    printf '%s\n' "$out"
    [[ $out != *"did not accept"* && $out != *Error* ]]
}

# DNS UPDATE: owners (zone-file escaping in nsupdate; pdns sends them in its own form).
both_ok "nsupdate: owners with ( ) \" ; @ \$ #" nsu \
    'update add M\(ai\)L.example.com 300 A 192.0.2.50' \
    'update add q\"uote.example.com 300 A 192.0.2.52' \
    'update add semi\;colon.example.com 300 A 192.0.2.53' \
    'update add at\@sign.example.com 300 A 192.0.2.54' \
    'update add dol\$lar.example.com 300 A 192.0.2.55' \
    'update add hash\#.example.com 300 A 192.0.2.62'
both_ok "nsupdate: owners with space, \\., \\\\, non-ASCII, upper case" nsu \
    'update add sp\032ace.example.com 300 A 192.0.2.51' \
    'update add dot\.inlabel.example.com 300 A 192.0.2.56' \
    'update add back\\slash.example.com 300 A 192.0.2.57' \
    'update add caf\195\169.example.com 300 A 192.0.2.58' \
    'update add UPPER.Example.COM 300 A 192.0.2.59'
both_ok "nsupdate: owners with control octets, DEL and other punctuation" nsu \
    'update add tab\009.example.com 300 A 192.0.2.60' \
    'update add nul\000x.example.com 300 A 192.0.2.61' \
    'update add del\127.example.com 300 A 192.0.2.65' \
    "update add p!u&n=c?t^u|a<t>i\`o~n'{x}[y],+%.example.com 300 A 192.0.2.63" \
    'update add star*mid.example.com 300 A 192.0.2.64'
# The reported case: a CNAME to a name with parentheses.
both_ok "nsupdate: CNAME to M(ai)L" nsu 'update add cn1.example.com 300 CNAME M\(ai\)L.example.com.'
both_ok "nsupdate: CNAMEs to names with ; \" @ \$ #" nsu \
    'update add cn3.example.com 300 CNAME semi\;colon.example.com.' \
    'update add cn7.example.com 300 CNAME q\"uote.example.com.' \
    'update add cn10.example.com 300 CNAME at\@sign.example.com.' \
    'update add cn11.example.com 300 CNAME dol\$lar.example.com.' \
    'update add cn12.example.com 300 CNAME hash\#.example.com.'
both_ok "nsupdate: CNAMEs to names with space, \\., \\\\, non-ASCII, upper case, tab" nsu \
    'update add cn2.example.com 300 CNAME sp\032ace.example.com.' \
    'update add cn4.example.com 300 CNAME dot\.inlabel.example.com.' \
    'update add cn5.example.com 300 CNAME back\\slash.example.com.' \
    'update add cn6.example.com 300 CNAME caf\195\169.example.com.' \
    'update add cn8.example.com 300 CNAME UPPER.Example.COM.' \
    'update add cn9.example.com 300 CNAME tab\009.example.com.'
both_ok "nsupdate: MX, SRV, PTR, NS targets with special characters" nsu \
    'update add mx1.example.com 300 MX 10 semi\;colon.example.com.' \
    'update add mx2.example.com 300 MX 20 M\(ai\)L.example.com.' \
    'update add _s._tcp.example.com 300 SRV 0 0 25 sp\032ace.example.com.' \
    'update add ptr1.example.com 300 PTR dot\.inlabel.example.com.' \
    'update add deleg.example.com 300 NS q\"uote.example.com.'
both_ok "nsupdate: TXT with ; ( ) \" \\\\ non-ASCII tab DEL NUL @ \$" nsu \
    'update add txt1.example.com 300 TXT "a;b" "(p)" "q\"uote" "back\\slash" "caf\195\169" "tab\009x" "@$" "del\127" "nul\000"'
# Deleting by content and by RRset compares what the backend returns with what the client sent.
both_ok "nsupdate: delete one CNAME by its special content" nsu \
    'update add cn13.example.com 300 CNAME semi\;colon.example.com.' \
    'update add cn13x.example.com 300 A 192.0.2.66'
both_ok "nsupdate: the delete" nsu 'update delete cn13.example.com CNAME semi\;colon.example.com.' \
    'update delete M\(ai\)L.example.com A 192.0.2.50' 'update add M\(ai\)L.example.com 300 A 192.0.2.67'

# API: owners must be plain host names for pdns's API; content names are taken in pdns's form.
both_ok "API: CNAME to M(ai)L" api REPLACE c1-api.example.com. CNAME 'M(ai)L.example.com.'
both_ok "API: CNAME to semi;colon" api REPLACE c2-api.example.com. CNAME 'semi;colon.example.com.'
both_ok "API: CNAME to q\"uote" api REPLACE c3-api.example.com. CNAME 'q"uote.example.com.'
both_ok "API: CNAME to at@api\$" api REPLACE c9-api.example.com. CNAME 'at@api$.example.com.'
both_ok "API: CNAME to hash#" api REPLACE c11-api.example.com. CNAME 'hash#.example.com.'
both_ok "API: CNAME to dot\\.api" api REPLACE c7-api.example.com. CNAME 'dot\.api.example.com.'
both_ok "API: CNAME to back\\\\api" api REPLACE c10-api.example.com. CNAME 'back\\api.example.com.'
both_ok "API: CNAME to sp\\032ace" api REPLACE c12-api.example.com. CNAME 'sp\032ace.example.com.'
both_ok "API: CNAME to caf\\195\\169" api REPLACE c13-api.example.com. CNAME 'caf\195\169.example.com.'
both_ok "API: PTR to (x);y" api REPLACE ptr-api.example.com. PTR '(x);y.example.com.'
both_ok "API: upper-case owner and CNAME target" api REPLACE UPPER-API.Example.COM. CNAME 'UPPER.Example.COM.'
both_ok "API: TXT with raw UTF-8, escapes and specials" api REPLACE t1-api.example.com. TXT \
    '"café" "a;b" "(p)" "q\"x" "back\\s" "\195\169" "@$#"'
both_ok "API: TXT with a raw tab" api REPLACE t2-api.example.com. TXT "$(printf '"tab\traw"')"
both_ok "API: replace a CNAME with special content" api REPLACE c2-api.example.com. CNAME 'q"x;y.example.com.'
both_ok "API: delete an RRset with special content" api DELETE c11-api.example.com. CNAME

# pdnsutil: relative owners in pdns's own grammar (only '.' and '\' are special).
both_ok "pdnsutil: owner M(ai)L-u" pu add-record example.com 'M(ai)L-u' A 300 192.0.2.90
both_ok "pdnsutil: owner esc\\(u\\)" pu add-record example.com 'esc\(u\)' A 300 192.0.2.91
both_ok "pdnsutil: owner with a raw space" pu add-record example.com 'sp ace-u' A 300 192.0.2.92
both_ok "pdnsutil: owner q\"u" pu add-record example.com 'q"u' A 300 192.0.2.93
both_ok "pdnsutil: owner semi;u" pu add-record example.com 'semi;u' A 300 192.0.2.94
both_ok "pdnsutil: owner dot\\.u" pu add-record example.com 'dot\.u' A 300 192.0.2.95
both_ok "pdnsutil: owner back\\\\u" pu add-record example.com 'back\\u' A 300 192.0.2.96
both_ok "pdnsutil: owner café-u (raw UTF-8)" pu add-record example.com 'café-u' A 300 192.0.2.97
both_ok "pdnsutil: owner at@u\$" pu add-record example.com 'at@u$' A 300 192.0.2.99
both_ok "pdnsutil: CNAME to M(ai)L" pu add-record example.com c1-u CNAME 300 'M(ai)L.example.com.'
both_ok "pdnsutil: CNAME to esc\\(x\\) (stored unescaped)" pu add-record example.com c4-u CNAME 300 'esc\(x\).example.com.'
both_ok "pdnsutil: CNAME to café (raw UTF-8)" pu add-record example.com c6-u CNAME 300 'café.example.com.'
both_ok "pdnsutil: CNAME to a relative name" pu add-record example.com c7-u CNAME 300 relative-u
both_ok "pdnsutil: MX to M(ai)L" pu add-record example.com mx-u MX 300 '10 M(ai)L.example.com.'
both_ok "pdnsutil: MX to semi;colon" pu add-record example.com mx2-u MX 300 '10 semi;colon.example.com.'
both_ok "pdnsutil: SRV to q\"uote" pu add-record example.com srv-u SRV 300 '0 5 25 q"uote.example.com.'
both_ok "pdnsutil: PTR to dot\\.inlabel" pu add-record example.com ptr-u PTR 300 'dot\.inlabel.example.com.'
both_ok "pdnsutil: NS to at@sign" pu add-record example.com ns-u NS 300 'at@sign.example.com.'
both_ok "pdnsutil: TXT with specials" pu add-record example.com t1-u TXT 300 '"café" "a;b" "(p)" "q\"x" "back\\s" "\195\169" "@$#"'
both_ok "pdnsutil: replace-rrset on owner M(ai)L-u" pu replace-rrset example.com 'M(ai)L-u' A 300 192.0.2.100
both_ok "pdnsutil: replace-rrset CNAME with special content" pu replace-rrset example.com c1-u CNAME 300 'semi;colon.example.com.'

# ------------------------------------------------------------------------ the rows --

# rows DB -- every record row but SOA (the DNS UPDATE serial follows the clock) and pdns's ENT
# rows (mxguard derives empty non-terminals instead of storing them), byte for byte. The auth
# column is left out: for the delegation NS that DNS UPDATE adds, pdns sends auth=false to a
# remote backend but its gsqlite3 ends up with auth=1 -- a matter of the write path, not of names.
rows() {
    sqlite3 "$1" "SELECT quote(d.name), quote(r.name), quote(r.type), quote(r.content), r.ttl,
        r.prio, r.disabled FROM records r JOIN domains d ON d.id = r.domain_id
        WHERE r.type IS NOT NULL AND r.type != '' AND r.type != 'SOA'
        ORDER BY hex(r.name), r.type, hex(r.content)"
}
ref_rows=$(rows "$REF_DB")
cand_rows=$(rows "$CAND_STORE")
if [ "$ref_rows" == "$cand_rows" ]; then
    it_pass "mxguard's records table holds gsqlite3's rows byte for byte"
else
    it_fail "mxguard's records table differs from gsqlite3's (< gsqlite3, > mxguard)"
    diff <(echo "$ref_rows") <(echo "$cand_rows") | head -n 40 || true
fi
assert_contains "$cand_rows" "'m(ai)l.example.com'" "the owner is stored as pdns stores it"
assert_contains "$cand_rows" "'M(ai)L.example.com'" "a CNAME target is stored as pdns sends it"
assert_contains "$cand_rows" "'sp\\032ace.example.com'" "a space is stored as \\032"
n=$(wc -l <<<"$ref_rows")
if [ "$n" -ge 60 ]; then it_pass "$n rows written"; else it_fail "only $n rows written"; fi

# ------------------------------------------------------------------------ the answers --

# The owner names of the reference rows, for dig: every octet but letters, digits, '-', '_',
# '.' as \DDD (pdns's "\." and "\\" included), so that dig reads them exactly.
mapfile -t NAMES < <(sqlite3 "$REF_DB" "SELECT DISTINCT name FROM records WHERE type IS NOT NULL
    AND type != ''" | python3 -c '
import re, sys
for line in sys.stdin.buffer.read().split(b"\n"):
    if not line:
        continue
    out, i = [], 0
    while i < len(line):
        c = line[i]
        if c == 0x5c:  # pdns escape: \DDD or \X
            if line[i + 1:i + 2].isdigit():
                out.append(b"\\" + line[i + 1:i + 4]); i += 4; continue
            out.append(b"\\%03d" % line[i + 1]); i += 2; continue
        if chr(c).isalnum() and c < 0x80 or c in b"-_.*":
            out.append(bytes([c]))
        else:
            out.append(b"\\%03d" % c)
        i += 1
    sys.stdout.buffer.write(b"".join(out) + b".\n")
')
if [ "${#NAMES[@]}" -ge 50 ]; then it_pass "${#NAMES[@]} owner names to ask for"; else
    it_fail "only ${#NAMES[@]} owner names"; fi

# Every name with the types ANY, A, CNAME, MX, SRV, PTR, NS, TXT: one dig batch per server.
for name in "${NAMES[@]}"; do
    for t in ANY A CNAME MX SRV PTR NS TXT; do printf '%s %s\n' "$name" "$t"; done
done >"$IT_WORK/questions"
NQ=$(wc -l <"$IT_WORK/questions")

# answers PORT -- per question one "QUESTION<TAB>RCODE<TAB>" line and one line per answer
# record, sorted. The SOA is left out: DNS UPDATE bumps its serial by the clock, and the API by
# SOA-EDIT-API, which mxguard's import sets (DEFAULT) and pdnsutil create-zone does not.
answers() {
    "$DIG" @127.0.0.1 -p "$1" +norec +tries=2 +time=2 -f "$IT_WORK/questions" \
        +noall +comments +question +answer 2>&1 | awk -F '\t' '
        /^;; ->>HEADER<<-/ { q = ""; st = $0; sub(/.*status: /, "", st); sub(/,.*/, "", st); next }
        /^;; QUESTION SECTION:/ { inq = 1; next }
        inq && /^;[^;]/ { inq = 0; q = substr($0, 2); gsub(/\t+/, " ", q); print q "\t" st "\t"; next }
        /^[^;]/ && NF > 0 { split($0, f, /[ \t]+/); if (f[4] != "SOA") print q "\t" st "\t" $0 }' |
        sort
}
answers "$REF_PORT" >"$IT_WORK/answers.ref"
answers "$CAND_PORT" >"$IT_WORK/answers.cand"
if cmp -s "$IT_WORK/answers.ref" "$IT_WORK/answers.cand"; then
    it_pass "dig answers for every name and type are the same ($NQ questions)"
else
    it_fail "dig answers differ"
    diff "$IT_WORK/answers.ref" "$IT_WORK/answers.cand" | head -n 40 || true
fi
assert_eq "$NQ" "$(awk -F '\t' '$3 == ""' "$IT_WORK/answers.ref" | wc -l)" "the reference answered every question"
# NXDOMAIN only for CNAMEs to names that do not exist; never SERVFAIL.
assert_eq "" "$(awk -F '\t' '$2 != "NOERROR" && $2 != "NXDOMAIN"' "$IT_WORK/answers.ref")" \
    "the reference answered NOERROR or NXDOMAIN every time"
assert_answer "$CAND_PORT" 'M\(ai\)L.example.com' A 192.0.2.67
assert_answer "$CAND_PORT" cn1.example.com CNAME 'M\(ai\)L.example.com.'
assert_answer "$CAND_PORT" cn3.example.com CNAME 'semi\;colon.example.com.'
assert_answer "$CAND_PORT" mx1.example.com MX '10 semi\;colon.example.com.'
assert_answer "$CAND_PORT" _s._tcp.example.com SRV '0 0 25 sp\032ace.example.com.'
assert_answer "$CAND_PORT" cn13.example.com CNAME ''

# axfr PORT -- the zone by AXFR (served from `list`), sorted, without the SOA.
axfr() { dig_at "$1" +noall +answer example.com AXFR | awk '$4 != "SOA"' | sort; }
ref_axfr=$(axfr "$REF_PORT")
assert_eq "$ref_axfr" "$(axfr "$CAND_PORT")" "AXFR of the zone is the same"

# zone_view PORT -- the API's view of the zone (also served from `list`), SOA left out.
zone_view() {
    curl -sS -m 20 -H 'X-API-Key: secret' "http://127.0.0.1:$1/api/v1/servers/localhost/zones/example.com." |
        jq -S '[.rrsets[] | select(.type != "SOA") | {name, type, ttl, records: (.records | sort_by(.content))}] | sort_by(.name, .type)'
}
ref_view=$(zone_view "$REF_API")
assert_eq "$ref_view" "$(zone_view "$CAND_API")" "the API shows the same RRsets"
assert_contains "$ref_view" '"M(ai)L.example.com."' "the API view has the escaped names"

# ------------------------------------------------------- the gsqlite3 database, moved --

before=$(sqlite3 "$REF_DB" "SELECT hex(name), type, hex(content), ttl, prio, disabled, auth,
    quote(ordername) FROM records ORDER BY id" | sha256sum)
mxg_write_config "$IT_WORK/mxguard-moved"
# gsqlite3 keeps recent writes in its WAL: a consistent copy goes through SQLite's backup.
sqlite3 "$REF_DB" ".backup '$MXG_STORE'"
mxg_start
pdns_start --kind remote --port "$MOVED_PORT" --name pdns-moved -- --8bit-dns=yes
answers "$MOVED_PORT" >"$IT_WORK/answers.moved"
if cmp -s "$IT_WORK/answers.ref" "$IT_WORK/answers.moved"; then
    it_pass "mxguard on a copy of the gsqlite3 database answers as gsqlite3 does"
else
    it_fail "answers differ on the moved database"
    diff "$IT_WORK/answers.ref" "$IT_WORK/answers.moved" | head -n 40 || true
fi
assert_eq "$ref_axfr" "$(axfr "$MOVED_PORT")" "AXFR from the moved database is the same"
after=$(sqlite3 "$MXG_STORE" "SELECT hex(name), type, hex(content), ttl, prio, disabled, auth,
    quote(ordername) FROM records ORDER BY id" | sha256sum)
assert_eq "$before" "$after" "the moved database's records table is untouched"

it_finish
