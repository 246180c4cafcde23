#!/usr/bin/env bash
# tests/integration/test_import_oracle.sh -- `mxguard import` against `pdnsutil load-zone`, the
# reference for what a zone file means to pdns 4.7.
#
# 1. tests/data/import/oracle.example.zone (every record type pdns knows, odd TXT text, escaped
#    and mixed-case names, TTL forms, $GENERATE, $INCLUDE, $ORIGIN, parentheses, comments) is
#    loaded by pdnsutil into a fresh gsqlite3 database and imported by mxguard into a fresh store:
#    the same (name, type) pairs and the same number of records.
# 2. Files pdnsutil refuses (bad content for many types, unknown types and classes, bad
#    directives, a record outside the zone) are refused by mxguard too, with file, line and
#    reason, and leave its store untouched.
# 3. The differences that are on purpose: a second SOA (pdnsutil skips it), meta types such as
#    ANY or TSIG (pdnsutil stores them), exact duplicates (pdnsutil stores both rows), a file
#    without SOA, pdns's own readings of some text (parentheses inside a name, a blank inside a
#    CNAME target, the class after the type), and relative names in the types pdns leaves
#    unqualified (mxguard qualifies them with the origin, as RFC 1035 and other servers do).
# 4. pdns on gsqlite3 (port 5303) and pdns on mxguard (port 5304) serving the zone give the same
#    dig answers for every name with ANY and with every type it holds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init

DATA="$IT_REPO_ROOT/tests/data/import"
ZONE=oracle.example
GS_PORT=5303
MX_PORT=5304

# gs_fresh DIR -- a pdnsutil configuration on a fresh gsqlite3 database (DIR/pdns.sqlite3).
gs_fresh() {
    rm -rf "$1"
    mkdir -p "$1"
    sqlite3 "$1/pdns.sqlite3" <"$PDNS_SQLITE_SCHEMA"
    printf 'launch=gsqlite3\ngsqlite3-database=%s\n' "$1/pdns.sqlite3" >"$1/pdns.conf"
}

# gs_load DIR ZONE FILE -- pdnsutil load-zone, run in the file's directory (relative $INCLUDE).
gs_load() {
    (cd "$(dirname "$3")" && timeout 60 "$PDNSUTIL" --config-dir="$1" load-zone "$2" "$3")
}

# mx_fresh DIR -- an mxguard configuration on a fresh store (sets MXG_CONF and MXG_STORE).
mx_fresh() {
    rm -rf "$1"
    MXG_CONF=""
    mxg_write_config "$1"
}

# mx_load ZONE FILE -- mxguard import, run in the file's directory.
mx_load() {
    (cd "$(dirname "$2")" && mxg_exec import --zone "$1" "$2" --config "$MXG_CONF")
}

# rows_text DB -- every record row but pdns's empty non-terminals, readable.
rows_text() {
    sqlite3 "$1" "SELECT quote(name), type, quote(content), ttl, prio, disabled, auth FROM records
        WHERE type IS NOT NULL AND type != '' ORDER BY hex(name), type, hex(content), ttl"
}

# ------------------------------------------------------------------ 1. the same rows --

GS="$IT_WORK/gs"
gs_fresh "$GS"
gs_load "$GS" "$ZONE" "$DATA/oracle.example.zone" >"$IT_WORK/pdnsutil.log" 2>&1 ||
    { it_tail "$IT_WORK/pdnsutil.log"; it_die "pdnsutil load-zone refused the oracle zone"; }
mx_fresh "$IT_WORK/mxguard"
out=$(mx_load "$ZONE." "$DATA/oracle.example.zone" 2>&1) ||
    { printf '%s\n' "$out" >&2; it_die "mxguard import refused the oracle zone"; }
MX_STORE=$MXG_STORE
MX_CONF=$MXG_CONF

pairs() {
    sqlite3 "$1" "SELECT DISTINCT hex(lower(name)), type FROM records
        WHERE type IS NOT NULL AND type != '' ORDER BY 1, 2"
}
count() {
    sqlite3 "$1" "SELECT COUNT(*) FROM records WHERE type IS NOT NULL AND type != ''"
}
ref=$(pairs "$GS/pdns.sqlite3")
cand=$(pairs "$MX_STORE")
n=$(count "$GS/pdns.sqlite3")
if [ "$ref" == "$cand" ]; then
    it_pass "mxguard stores pdnsutil's $(wc -l <<<"$ref") (name, type) pairs"
else
    it_fail "names or types differ (< pdnsutil load-zone on gsqlite3, > mxguard import)"
    diff <(sqlite3 "$GS/pdns.sqlite3" "SELECT DISTINCT lower(name), type FROM records ORDER BY 1, 2") \
        <(sqlite3 "$MX_STORE" "SELECT DISTINCT lower(name), type FROM records ORDER BY 1, 2") |
        head -n 40 || true
fi
assert_eq "$n" "$(count "$MX_STORE")" "as many records as pdnsutil stores"
if [ "$n" -ge 140 ]; then it_pass "$n records"; else it_fail "only $n records"; fi
assert_contains "$out" "$n records imported" "the import counts every record"
types=$(sqlite3 "$MX_STORE" "SELECT COUNT(DISTINCT type) FROM records")
if [ "$types" -ge 55 ]; then it_pass "$types distinct types"; else it_fail "only $types types"; fi
text=$(rows_text "$MX_STORE")
assert_contains "$text" "'inc4.sub2.oracle.example'|A|'192.0.2.81'|1800" \
    "the include's \$TTL and \$ORIGIN apply after it, as in pdns"
assert_contains "$text" "'_s1._tcp.oracle.example'|SRV|'0 5061 host1.oracle.example'|3600|0" \
    "\$GENERATE with \${offset} and SRV priority in its column"
assert_contains "$text" "|LUA|'A \"ifportup(443, {''192.0.2.1'', ''192.0.2.2''})\"'|" "LUA content is kept"

# ----------------------------------------------------------------- 2. both refuse --

# refused MESSAGE LINES... -- a zone of the SOA, one NS and LINES; pdnsutil must refuse it, and
# mxguard must too, naming the file and the line of the last of LINES, and create nothing.
REFUSE_DIR="$IT_WORK/refuse"
mkdir -p "$REFUSE_DIR"
refused() {
    local msg=$1 f="$REFUSE_DIR/r.zone" rc=0 out line
    shift
    { printf '%s\n' "\$ORIGIN $ZONE." '@ IN SOA ns1 hm 1 7200 3600 1209600 300' '@ IN NS ns1'
      printf '%s\n' "$@"; } >"$f"
    line=$((3 + $#))
    gs_fresh "$REFUSE_DIR/gs"
    if gs_load "$REFUSE_DIR/gs" "$ZONE" "$f" >/dev/null 2>&1; then
        it_fail "$msg: pdnsutil accepted it (the case is wrong)"
        return
    fi
    mx_fresh "$REFUSE_DIR/mx"
    out=$(mx_load "$ZONE." "$f" 2>&1) || rc=$?
    if [ "$rc" -eq 0 ]; then
        it_fail "$msg: mxguard accepted what pdnsutil refuses"
    elif [[ $out != *"$f:$line: "* ]]; then
        it_fail "$msg: mxguard's message does not name $f:$line: $out"
    elif [ "$(sqlite3 "$MXG_STORE" 'SELECT COUNT(*) FROM domains')" != 0 ]; then
        it_fail "$msg: a refused import left a zone behind"
    else
        it_pass "$msg: both refuse (${out#*"$f:$line: "})"
    fi
}
refused "CLASS1" 'a CLASS1 A 192.0.2.1'
refused "class CH" 'a CH TXT "x"'
refused "IPv4 octet over 255" 'a IN A 192.0.2.256'
refused "bad IPv6" 'a IN AAAA 2001:db8::g'
refused "MX without target" 'a IN MX 10'
refused "MX preference over 16 bits" 'a IN MX 65536 mail'
refused "SRV missing a field" 'a IN SRV 0 5 sip'
refused "TLSA with non-hex data" 'a IN TLSA 3 1 1 XYZ'
refused "LOC without hemisphere" 'a IN LOC 52 22 23 X 4 53 32 E 10m'
refused "HTTPS unknown key" 'a IN HTTPS 1 . foo=bar'
refused "HTTPS IPv6 in ipv4hint" 'a IN HTTPS 1 . ipv4hint=2001:db8::1'
refused "APL family mismatch" 'a IN APL 1:2001:db8::/32'
refused "EUI48 with colons" 'a IN EUI48 00:00:5e:00:53:2a'
refused "CSYNC unknown type" 'a IN CSYNC 66 3 A FOO'
refused "LUA unknown type" 'a IN LUA XX "x"'
refused "AFSDB without host" 'a IN AFSDB 1'
refused "RFC 3597 length mismatch" 'a IN TYPE65534 \# 3 01020304'
refused "unknown type" 'a IN FOO x'
refused "SIG by name" 'a IN SIG \# 0'
refused "empty label" 'a.. IN A 192.0.2.1'
refused "label over 63 octets" "a IN CNAME $(printf 'x%.0s' {1..64})"
refused "\$TTL not a number" '$TTL abc'
refused "unknown directive" '$FOO bar'
refused "\$GENERATE backwards" '$GENERATE 3-1 h$ A 192.0.2.1'
refused "\$GENERATE bad modifier" '$GENERATE 1-2 h${x} A 192.0.2.1'
refused "\$GENERATE over 255" '$GENERATE 250-260 h$ A 192.0.2.$'
refused "missing \$INCLUDE" '$INCLUDE missing.inc'
refused "a record outside the zone" 'www.elsewhere.example. IN A 192.0.2.1'
refused "outside the zone through \$ORIGIN" '$ORIGIN elsewhere.example.' 'a IN A 192.0.2.1'

# lenient MESSAGE LINES... -- pdnsutil refuses what libzscanner reads (and RFC 1035 allows):
# mxguard imports it. pdns reads the content mxguard stores for these (checked in part 4).
LENIENT_LINES=()
lenient() {
    local msg=$1 f="$REFUSE_DIR/l.zone" rc=0 out
    shift
    { printf '%s\n' "\$ORIGIN $ZONE." '@ IN SOA ns1 hm 1 7200 3600 1209600 300' '@ IN NS ns1'
      printf '%s\n' "$@"; } >"$f"
    gs_fresh "$REFUSE_DIR/gs"
    if gs_load "$REFUSE_DIR/gs" "$ZONE" "$f" >/dev/null 2>&1; then
        it_fail "$msg: pdnsutil accepted it (the case is wrong)"
        return
    fi
    mx_fresh "$REFUSE_DIR/mx"
    out=$(mx_load "$ZONE." "$f" 2>&1) || rc=$?
    assert_eq 0 "$rc" "$msg: pdnsutil refuses it, mxguard imports it ($out)"
    LENIENT_LINES+=("l${#LENIENT_LINES[@]} ${1#* }")
}
lenient "TXT of bare words" 't IN TXT unquoted words'
refused "CERT type 0" 'a IN CERT 0 0 0 AAAA'
lenient "CERT mnemonic" 'a IN CERT PKIX 0 0 AAAA'
refused "SVCB alias form with parameters" 'a IN SVCB 0 . alpn=h2'
refused "IPSECKEY with a '.' gateway of type 0" 'a IN IPSECKEY 10 0 2 . AQ=='
lenient "HINFO of bare words" 'a IN HINFO PC Linux'
lenient "RFC 3597 data split" 'a IN TYPE65534 \# 4 0102 0304'
lenient "RFC 3597 for a type pdns reads" 'a IN TYPE1 \# 4 c0000201'
lenient "TTL with two units" 'a 1h30m IN A 192.0.2.1'

# The out-of-zone file of tests/data.
gs_fresh "$REFUSE_DIR/gs"
if gs_load "$REFUSE_DIR/gs" outside.example "$DATA/outside.example.zone" >"$IT_WORK/gs.out" 2>&1; then
    it_fail "pdnsutil accepted outside.example.zone"
fi
assert_contains "$(cat "$IT_WORK/gs.out")" "not part of zone" "pdnsutil: a record outside the zone"
mx_fresh "$REFUSE_DIR/mx"
rc=0
out=$(mx_load outside.example "$DATA/outside.example.zone" 2>&1) || rc=$?
assert_ne 0 "$rc" "mxguard refuses outside.example.zone"
assert_contains "$out" "outside.example.zone:6: owner www.elsewhere.example. is outside zone outside.example." \
    "mxguard names file, line and reason"

# -------------------------------------------------- 3. the differences on purpose --

# differ MESSAGE WANT LINES... -- pdnsutil accepts; mxguard refuses with WANT in its message.
differ() {
    local msg=$1 want=$2 f="$REFUSE_DIR/d.zone" rc=0 out
    shift 2
    { printf '%s\n' "\$ORIGIN $ZONE." '@ IN SOA ns1 hm 1 7200 3600 1209600 300' '@ IN NS ns1'
      printf '%s\n' "$@"; } >"$f"
    gs_fresh "$REFUSE_DIR/gs"
    gs_load "$REFUSE_DIR/gs" "$ZONE" "$f" >/dev/null 2>&1 || rc=$?
    assert_eq 0 "$rc" "$msg: pdnsutil accepts it"
    mx_fresh "$REFUSE_DIR/mx"
    rc=0
    out=$(mx_load "$ZONE." "$f" 2>&1) || rc=$?
    assert_ne 0 "$rc" "$msg: mxguard refuses it"
    assert_contains "$out" "$want" "$msg: mxguard says why"
}
differ "a second SOA (pdnsutil skips it)" "second SOA record" '@ IN SOA ns2 hm 2 7200 3600 1209600 300'
differ "type ANY (pdnsutil stores it)" "unknown record type ANY" 'a IN ANY \# 0'
differ "type TSIG (pdnsutil stores TYPE250)" "unknown record type TSIG" 'a IN TSIG \# 0'
differ "type TKEY" "unknown record type TKEY" 'a IN TKEY \# 2 0000'
differ "type OPT" "unknown record type OPT" 'a IN OPT AAAA'

f="$REFUSE_DIR/dup.zone"
printf '%s\n' "\$ORIGIN $ZONE." '@ IN SOA ns1 hm 1 7200 3600 1209600 300' \
    'a IN A 192.0.2.1' 'a IN A 192.0.2.1' >"$f"
gs_fresh "$REFUSE_DIR/gs"
gs_load "$REFUSE_DIR/gs" "$ZONE" "$f" >/dev/null 2>&1
mx_fresh "$REFUSE_DIR/mx"
mx_load "$ZONE." "$f" >/dev/null 2>&1
assert_eq 2 "$(sqlite3 "$REFUSE_DIR/gs/pdns.sqlite3" "SELECT COUNT(*) FROM records WHERE type = 'A'")" \
    "an exact duplicate: pdnsutil stores two rows"
assert_eq 1 "$(sqlite3 "$MXG_STORE" "SELECT COUNT(*) FROM records WHERE type = 'A'")" \
    "an exact duplicate: mxguard stores the record once"

# pdns's own readings of some text, which libzscanner (and RFC 1035) do not share.
differ "parentheses inside a name" "unknown record type" 'M(ai)L IN A 192.0.2.53'
differ "a blank inside a CNAME target" "unexpected data" 'cn IN CNAME two words'
differ "the class after the type" "invalid address character" 't A IN 192.0.2.62'
differ "SSHFP hex with colons" "invalid hexadecimal character" 's IN SSHFP 4 2 de:ad:be:ef'
differ "base64 without its padding" "invalid Base64 character" \
    'p IN OPENPGPKEY mQENBFVHm5sBCADFxUUkjYm7sX2s9rrc0lHa0rEIoFbrDBdhLj0'

# Relative names where pdns does not qualify them: pdnsutil stores "mail" (served as "mail."),
# mxguard qualifies it with the origin.
printf '%s\n' "\$ORIGIN $ZONE." '@ IN SOA ns1 hm 1 7200 3600 1209600 300' '@ IN NS ns1' \
    'mb IN MB mail' 'n IN NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp' >"$f"
gs_fresh "$REFUSE_DIR/gs"
gs_load "$REFUSE_DIR/gs" "$ZONE" "$f" >/dev/null 2>&1
mx_fresh "$REFUSE_DIR/mx"
mx_load "$ZONE." "$f" >/dev/null 2>&1
assert_eq "mail" "$(sqlite3 "$REFUSE_DIR/gs/pdns.sqlite3" "SELECT content FROM records WHERE type = 'MB'")" \
    "a relative MB target: pdnsutil keeps it unqualified"
assert_eq "mail.$ZONE" "$(sqlite3 "$MXG_STORE" "SELECT content FROM records WHERE type = 'MB'")" \
    "a relative MB target: mxguard qualifies it with the origin"
assert_contains "$(sqlite3 "$MXG_STORE" "SELECT content FROM records WHERE type = 'NAPTR'")" \
    "_sip._udp.$ZONE" "a relative NAPTR replacement: mxguard qualifies it"

printf '%s\n' "\$ORIGIN $ZONE." 'a IN A 192.0.2.1' >"$f"
rc=0
out=$(mx_load "$ZONE." "$f" 2>&1) || rc=$?
assert_ne 0 "$rc" "a file without SOA is refused (pdnsutil takes it)"
assert_contains "$out" "no SOA record" "and says so"

# ------------------------------------------------------------- 4. the same answers --

MXG_CONF=$MX_CONF
MXG_STORE=$MX_STORE
MXG_SOCK="$(dirname "$MX_CONF")/backend.sock"
MXG_CTL_SOCK="$(dirname "$MX_CONF")/control.sock"
# The records mxguard takes and pdnsutil refuses, in a zone of their own beside it.
LZ=lenient.example
f="$IT_WORK/lenient.zone"
{ printf '%s\n' "\$ORIGIN $LZ." '@ IN SOA ns1 hm 1 7200 3600 1209600 300' '@ IN NS ns1'
  printf '%s\n' "${LENIENT_LINES[@]}"; } >"$f"
mx_load "$LZ." "$f" >/dev/null 2>&1 || it_fail "the lenient records import into the store"
pdns_start --kind gsqlite3 --port "$GS_PORT" --zone "$ZONE=$DATA/oracle.example.zone" \
    --name pdns-gsqlite3 -- --8bit-dns=yes
mxg_start
pdns_start --kind remote --port "$MX_PORT" --name pdns-remote -- --8bit-dns=yes

# Every owner with ANY and with each type it holds (as TYPEnnn: dig knows them all so; not the
# stored RRSIG, NSEC and NSEC3, for which pdns, whatever its backend, sends replies that dig
# cannot parse -- their rows are compared above), names
# escaped for dig: every octet but letters, digits, '-', '_', '*', '.' as \DDD.
sqlite3 "$MX_STORE" "SELECT DISTINCT name, type FROM records WHERE type IS NOT NULL
    AND domain_id = (SELECT id FROM domains WHERE name = '$ZONE')" |
    python3 -c '
import sys
NUM = {"A":1,"NS":2,"CNAME":5,"SOA":6,"MB":7,"MG":8,"MR":9,"PTR":12,"HINFO":13,"MINFO":14,
 "MX":15,"TXT":16,"RP":17,"AFSDB":18,"KEY":25,"AAAA":28,"LOC":29,"SRV":33,"NAPTR":35,"KX":36,
 "CERT":37,"A6":38,"NULL":10,"DNAME":39,"APL":42,"DS":43,"SSHFP":44,"IPSECKEY":45,"RRSIG":46,"NSEC":47,
 "DNSKEY":48,"DHCID":49,"NSEC3":50,"NSEC3PARAM":51,"TLSA":52,"SMIMEA":53,"RKEY":57,"CDS":59,
 "CDNSKEY":60,"OPENPGPKEY":61,"CSYNC":62,"ZONEMD":63,"SVCB":64,"HTTPS":65,"SPF":99,"NID":104,
 "L32":105,"L64":106,"LP":107,"EUI48":108,"EUI64":109,"URI":256,"CAA":257,"DLV":32769,
 "ALIAS":65401,"LUA":65402}
def dig_name(raw):
    out, i = [], 0
    while i < len(raw):
        c = raw[i]
        if c == 0x5c:
            if raw[i + 1:i + 2].isdigit():
                out.append(b"\\" + raw[i + 1:i + 4]); i += 4; continue
            out.append(b"\\%03d" % raw[i + 1]); i += 2; continue
        if (c < 0x80 and chr(c).isalnum()) or c in b"-_.*":
            out.append(bytes([c]))
        else:
            out.append(b"\\%03d" % c)
        i += 1
    return b"".join(out) + b"."
seen = set()
for line in sys.stdin.buffer.read().split(b"\n"):
    if not line:
        continue
    name, typ = line.rsplit(b"|", 1)
    t = typ.decode()
    n = dig_name(name)
    if n not in seen:
        seen.add(n)
        sys.stdout.buffer.write(n + b" ANY\n")
    num = NUM.get(t) or int(t[4:])
    if num not in (46, 47, 50):  # stored RRSIG/NSEC/NSEC3: pdns writes replies dig cannot parse
        sys.stdout.buffer.write(n + b" TYPE%d\n" % num)
' >"$IT_WORK/questions"
NQ=$(wc -l <"$IT_WORK/questions")

# answers PORT -- per question one "QUESTION<TAB>RCODE" line and one line per answer record.
# Where dig cannot parse pdns's reply (stored NSEC records) it prints a hex dump: its first two
# octets, the message ID, are masked.
answers() {
    "$DIG" @127.0.0.1 -p "$1" +norec +tries=2 +time=3 -f "$IT_WORK/questions" \
        +noall +comments +question +answer 2>&1 | awk -F '\t' '
        /^;; ->>HEADER<<-/ { st = $0; sub(/.*status: /, "", st); sub(/,.*/, "", st); id = 0; next }
        /^;; QUESTION SECTION:/ { inq = 1; next }
        inq && /^;[^;]/ { inq = 0; q = substr($0, 2); gsub(/\t+/, " ", q); print q "\t" st "\t"; next }
        /^[0-9a-f][0-9a-f] [0-9a-f][0-9a-f] / && !id { id = 1; $0 = "xx xx" substr($0, 6) }
        /^[^;]/ && NF > 0 { print q "\t" st "\t" $0 }' | sort
}
answers "$GS_PORT" >"$IT_WORK/answers.gs"
answers "$MX_PORT" >"$IT_WORK/answers.mx"
if cmp -s "$IT_WORK/answers.gs" "$IT_WORK/answers.mx"; then
    it_pass "pdns answers the same from gsqlite3 and from mxguard ($NQ questions)"
else
    it_fail "answers differ (< gsqlite3, > mxguard)"
    diff "$IT_WORK/answers.gs" "$IT_WORK/answers.mx" | head -n 40 || true
fi
assert_eq "$NQ" "$(awk -F '\t' '$3 == ""' "$IT_WORK/answers.gs" | wc -l)" "the reference answered every question"
assert_eq "" "$(awk -F '\t' '$2 == "SERVFAIL" || $2 == ""' "$IT_WORK/answers.mx" | head -n 5)" \
    "no SERVFAIL and no timeout from pdns on mxguard"
assert_answer "$MX_PORT" txt.oracle.example TXT "$(dig_short "$GS_PORT" txt.oracle.example TXT)"

# What mxguard takes and pdnsutil refuses: pdns on mxguard reads what mxguard stored.
for ((i = 0; i < ${#LENIENT_LINES[@]}; i++)); do
    q="l$i.$LZ ANY"
    # shellcheck disable=SC2086
    st=$("$DIG" @127.0.0.1 -p "$MX_PORT" +norec +tries=2 +time=3 $q | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')
    # shellcheck disable=SC2086
    n=$("$DIG" @127.0.0.1 -p "$MX_PORT" +norec +tries=2 +time=3 +short $q | wc -l)
    if [ "$st" = NOERROR ] && [ "$n" -ge 1 ]; then
        it_pass "pdns on mxguard answers ${LENIENT_LINES[$i]}"
    else
        it_fail "${LENIENT_LINES[$i]}: status '$st', $n answers"
    fi
done

it_finish
