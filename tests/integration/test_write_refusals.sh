#!/usr/bin/env bash
# tests/integration/test_write_refusals.sh -- bad writes leave the store untouched. A small
# python3 client speaks the remote-backend protocol straight to mxguard's backend socket (one
# JSON line per request, one line back) and checks the replies; pdns on mxguard (DNS 5369)
# and the store itself show what was applied:
#   - replaceRRSet / feedRecord outside a transaction answer false;
#   - a transaction with one invalid write (bad A, MX without priority, a name outside the
#     zone, a domain_id of another zone, a bad feedEnts name), before or after a valid write:
#     the write answers false, the commit answers without "result", nothing is applied;
#   - abortTransaction discards; a disconnect mid-transaction rolls back;
#   - commit/abort with an unknown trxid on a fresh connection answer {"result": true};
#   - reads on the same connection see uncommitted writes, another connection does not;
#   - startTransaction with domain_id = the zone's id wipes the zone at commit (as pdnsutil
#     load-zone and AXFR-in do), and a poisoned wipe keeps the zone.
# pdns validates nearly every record before the backend sees it, so the poisoned transactions
# here come from the direct client. One DNS UPDATE pdns passes on but mxguard refuses -- a TTL
# above 2^31-1, which pdns hands over as a negative number -- is in test_guard_audit.sh, with the
# audit record every poisoned commit leaves.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init

PORT=5369
mxg_write_config "$IT_WORK/mxguard"
# These tests are about the write path, not the mail guard: the test network's addresses are
# declared mail ranges so that MX records written here never count as mail moving away.
echo "mail-ranges=192.0.2.0/24,198.51.100.0/24,203.0.113.0/24,2001:db8::/32" >>"$MXG_CONF"
mxg_import_zones "example.com=$IT_ZONES_DIR/example.com.zone" "example.net=$IT_ZONES_DIR/example.net.zone"
mxg_start
pdns_start --kind remote --port "$PORT" --name pdns-remote

store_dump() {
    store_sql "select domain_id, name, type, content, ttl from records order by 1, 2, 3, 4, 5"
}
meta_dump() { store_sql "select domain_id, kind, content from domainmetadata order by 1, 2, 3"; }
initial=$(store_dump)
initial_meta=$(meta_dump)

cat >"$IT_WORK/rb.py" <<'PY'
"""Minimal remote-backend client: one JSON object per line each way."""
import json, socket, sys, time

SOCK = sys.argv[1]
PHASE = sys.argv[2]
results = []

def check(ok, msg, detail=""):
    print(("PASS " if ok else "FAIL ") + msg + ((" :: " + detail) if (detail and not ok) else ""))
    sys.stdout.flush()

class Conn:
    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(5)
        self.s.connect(SOCK)
        self.f = self.s.makefile("rb")
        r = self.call("initialize", {})
        assert r.get("result") is True, r
    def call(self, method, params):
        self.s.sendall((json.dumps({"method": method, "parameters": params}) + "\n").encode())
        line = self.f.readline()
        if not line:
            return {"<closed>": True}
        return json.loads(line)
    def close(self):
        try:
            self.f.close()
            self.s.close()
        except OSError:
            pass

def rr(name, qtype, content, ttl=300):
    return {"qtype": qtype, "qname": name, "qclass": 1, "content": content, "ttl": ttl, "auth": True}

def zid(c, zone):
    r = c.call("getDomainInfo", {"name": zone})
    return r["result"]["id"]

def names_of(reply):
    res = reply.get("result")
    if not isinstance(res, list):
        return []
    return sorted((x["qtype"], x["content"]) for x in res)

TRX = [int(time.time())]
def trxid():
    TRX[0] += 1
    return TRX[0]

def start(c, zone, domain_id=-1):
    t = trxid()
    r = c.call("startTransaction", {"domain": zone, "domain_id": domain_id, "trxid": t})
    check(r.get("result") is True, f"startTransaction {zone} domain_id={domain_id}", json.dumps(r))
    return t

def replace(c, t, zone_id, name, qtype, records):
    return c.call("replaceRRSet", {"domain_id": zone_id, "qname": name, "qtype": qtype,
                                   "trxid": t, "rrset": records})

def refused_txn(label, writes, c=None):
    """writes: list of (method, params-builder(t, id), expect_ok). Commit must carry no result."""
    c = c or Conn()
    zone_id = zid(c, "example.com")
    t = start(c, "example.com")
    for method, build, expect in writes:
        r = c.call(method, build(t, zone_id))
        check(r.get("result") is expect, f"{label}: {method} answers {str(expect).lower()}", json.dumps(r))
    r = c.call("commitTransaction", {"trxid": t})
    check("result" not in r, f"{label}: commit of the poisoned transaction has no 'result'", json.dumps(r))
    c.close()

def rep(name, qtype, records):
    return ("replaceRRSet", lambda t, i: {"domain_id": i, "qname": name, "qtype": qtype, "trxid": t,
                                          "rrset": records})

def feed(record):
    return ("feedRecord", lambda t, i: {"trxid": t, "rr": record})

if PHASE == "refused":
    c = Conn()
    zone_id = zid(c, "example.com")
    # --- writes outside a transaction ---
    r = replace(c, 12345, zone_id, "out1.example.com.", "A", [rr("out1.example.com.", "A", "192.0.2.1")])
    check(r.get("result") is False, "replaceRRSet outside a transaction answers false", json.dumps(r))
    r = replace(c, -1, zone_id, "out1.example.com.", "A", [rr("out1.example.com.", "A", "192.0.2.1")])
    check(r.get("result") is False, "replaceRRSet with trxid -1 answers false", json.dumps(r))
    r = c.call("feedRecord", {"trxid": 12345, "rr": rr("out2.example.com.", "A", "192.0.2.2")})
    check(r.get("result") is False, "feedRecord outside a transaction answers false", json.dumps(r))
    r = c.call("feedEnts", {"trxid": 12345, "domain_id": zone_id, "nonterm": [{"nonterm": "x.example.com.", "auth": True}]})
    check(r.get("result") is False, "feedEnts outside a transaction answers false", json.dumps(r))
    r = c.call("lookup", {"qtype": "ANY", "qname": "out1.example.com.", "zone-id": zone_id})
    check(names_of(r) == [], "nothing written outside a transaction", json.dumps(r))
    c.close()

    # --- poisoned transactions: the invalid write first or last, other kinds of invalid ---
    good_a = rep("bad1.example.com.", "A", [rr("bad1.example.com.", "A", "192.0.2.41")])
    refused_txn("invalid A first", [
        rep("bad0.example.com.", "A", [rr("bad0.example.com.", "A", "999.1.1.1")]) + (False,),
        good_a + (True,)])
    refused_txn("invalid A after a valid write", [
        rep("bad2.example.com.", "TXT", [rr("bad2.example.com.", "TXT", "\"fine\"")]) + (True,),
        rep("bad3.example.com.", "A", [rr("bad3.example.com.", "A", "192.0.2")]) + (False,)])
    refused_txn("MX without priority", [
        rep("bad4.example.com.", "MX", [rr("bad4.example.com.", "MX", "mx1.example.net")]) + (False,),
        rep("bad5.example.com.", "A", [rr("bad5.example.com.", "A", "192.0.2.45")]) + (True,)])
    refused_txn("name outside the zone (served elsewhere)", [
        rep("bad6.example.com.", "A", [rr("bad6.example.com.", "A", "192.0.2.46")]) + (True,),
        rep("www.example.net.", "A", [rr("www.example.net.", "A", "192.0.2.47")]) + (False,)])
    refused_txn("name outside every zone", [
        rep("x.example.org.", "A", [rr("x.example.org.", "A", "192.0.2.48")]) + (False,),
        rep("bad7.example.com.", "A", [rr("bad7.example.com.", "A", "192.0.2.49")]) + (True,)])
    refused_txn("record owner differs from the RRset name", [
        rep("bad8.example.com.", "A", [rr("other.example.com.", "A", "192.0.2.50")]) + (False,),
        rep("bad9.example.com.", "A", [rr("bad9.example.com.", "A", "192.0.2.51")]) + (True,)])
    refused_txn("invalid name", [
        rep("bad..example.com.", "A", [rr("bad..example.com.", "A", "192.0.2.52")]) + (False,),
        rep("bad10.example.com.", "A", [rr("bad10.example.com.", "A", "192.0.2.53")]) + (True,)])
    refused_txn("invalid AAAA and CNAME via feedRecord", [
        feed(rr("bad11.example.com.", "A", "192.0.2.54")) + (True,),
        feed(rr("bad12.example.com.", "AAAA", "2001:db8::zz")) + (False,)])
    refused_txn("negative TTL", [
        rep("bad13.example.com.", "A", [rr("bad13.example.com.", "A", "192.0.2.55", ttl=-5)]) + (False,),
        rep("bad14.example.com.", "A", [rr("bad14.example.com.", "A", "192.0.2.56")]) + (True,)])
    refused_txn("unknown type", [
        rep("bad15.example.com.", "BOGUSTYPE", [rr("bad15.example.com.", "BOGUSTYPE", "x")]) + (False,),
        rep("bad16.example.com.", "A", [rr("bad16.example.com.", "A", "192.0.2.57")]) + (True,)])
    c = Conn()
    net_id = zid(c, "example.net")
    c.close()
    refused_txn("domain_id of another zone", [
        rep("bad17.example.com.", "A", [rr("bad17.example.com.", "A", "192.0.2.58")]) + (True,),
        ("replaceRRSet", lambda t, i: {"domain_id": net_id, "qname": "bad18.example.com.", "qtype": "A",
                                       "trxid": t, "rrset": [rr("bad18.example.com.", "A", "192.0.2.59")]}, False)])
    refused_txn("feedEnts with a name outside the zone", [
        feed(rr("bad19.example.com.", "A", "192.0.2.60")) + (True,),
        ("feedEnts", lambda t, i: {"trxid": t, "domain_id": i, "nonterm": [{"nonterm": "a.example.org.", "auth": True}]}, False)])
    refused_txn("deleting a valid RRset beside an invalid write", [
        rep("www.example.com.", "A", []) + (True,),
        rep("bad20.example.com.", "A", [rr("bad20.example.com.", "A", "300.0.0.1")]) + (False,)])
    refused_txn("TXT content that is not a character-string", [
        rep("bad21.example.com.", "TXT", [rr("bad21.example.com.", "TXT", "\"unterminated")]) + (False,),
        rep("bad22.example.com.", "A", [rr("bad22.example.com.", "A", "192.0.2.62")]) + (True,)])

    # --- abort discards ---
    c = Conn()
    zone_id = zid(c, "example.com")
    t = start(c, "example.com")
    r = replace(c, t, zone_id, "aborted.example.com.", "A", [rr("aborted.example.com.", "A", "192.0.2.70")])
    check(r.get("result") is True, "write before the abort", json.dumps(r))
    r = c.call("abortTransaction", {"trxid": t})
    check(r.get("result") is True, "abortTransaction answers true", json.dumps(r))
    r = c.call("commitTransaction", {"trxid": t})
    check(r.get("result") is True, "a commit after the abort is a no-op (true)", json.dumps(r))
    r = c.call("lookup", {"qtype": "ANY", "qname": "aborted.example.com.", "zone-id": zone_id})
    check(names_of(r) == [], "aborted write not visible on the same connection", json.dumps(r))
    # after an abort, the connection can run a fresh transaction and abort it too
    t = start(c, "example.com")
    r = replace(c, t, zone_id, "aborted2.example.com.", "TXT", [rr("aborted2.example.com.", "TXT", "\"x\"")])
    r = c.call("abortTransaction", {"trxid": t})
    check(r.get("result") is True, "second abort answers true", json.dumps(r))
    c.close()

    # --- disconnect mid-transaction rolls back ---
    c = Conn()
    zone_id = zid(c, "example.com")
    t_dropped = start(c, "example.com")
    r = replace(c, t_dropped, zone_id, "dropped.example.com.", "A", [rr("dropped.example.com.", "A", "192.0.2.71")])
    check(r.get("result") is True, "write before the disconnect", json.dumps(r))
    r = replace(c, t_dropped, zone_id, "shop.example.com.", "A", [])
    c.close()
    time.sleep(0.2)
    c = Conn()
    r = c.call("lookup", {"qtype": "ANY", "qname": "dropped.example.com.", "zone-id": zone_id})
    check(names_of(r) == [], "write of the dropped connection not visible", json.dumps(r))
    r = c.call("lookup", {"qtype": "A", "qname": "shop.example.com.", "zone-id": zone_id})
    check(names_of(r) == [("A", "192.0.2.25")], "delete of the dropped connection not applied", json.dumps(r))
    # pdns sends the abort of a dropped connection on a new one, with the old trxid
    r = c.call("abortTransaction", {"trxid": t_dropped})
    check(r == {"result": True} or r.get("result") is True, "abort of the dropped trxid on a new connection: true", json.dumps(r))
    c.close()

    # --- unknown trxid on a fresh connection ---
    for method in ("commitTransaction", "abortTransaction"):
        c = Conn()
        r = c.call(method, {"trxid": 987654321})
        check(r.get("result") is True, f"{method} of an unknown trxid on a fresh connection: true", json.dumps(r))
        r = c.call(method, {"trxid": 0})
        check(r.get("result") is True, f"{method} with trxid 0 on a fresh connection: true", json.dumps(r))
        c.close()

    # --- a poisoned wipe keeps the zone ---
    c = Conn()
    net_id = zid(c, "example.net")
    t = start(c, "example.net", net_id)
    c.call("feedRecord", {"trxid": t, "rr": rr("example.net.", "SOA", "ns1.example.net. hostmaster.example.net. 2099010101 10800 3600 604800 600")})
    c.call("feedRecord", {"trxid": t, "rr": rr("example.net.", "NS", "ns1.example.net.")})
    r = c.call("feedRecord", {"trxid": t, "rr": rr("broken.example.net.", "A", "1.2.3.4.5")})
    check(r.get("result") is False, "wipe transaction: invalid feedRecord answers false", json.dumps(r))
    c.call("feedRecord", {"trxid": t, "rr": rr("later.example.net.", "A", "198.51.100.99")})
    r = c.call("commitTransaction", {"trxid": t})
    check("result" not in r, "poisoned wipe: commit has no 'result'", json.dumps(r))
    c.close()

elif PHASE == "visibility":
    a, b = Conn(), Conn()
    zone_id = zid(a, "example.com")
    t = start(a, "example.com")
    r = replace(a, t, zone_id, "ryw.example.com.", "A", [rr("ryw.example.com.", "A", "192.0.2.80")])
    check(r.get("result") is True, "write in the open transaction", json.dumps(r))
    r = replace(a, t, zone_id, "x.y.ent.example.com.", "TXT", [rr("x.y.ent.example.com.", "TXT", "\"deep\"")])
    r = replace(a, t, zone_id, "intranet.example.com.", "A", [])
    r = a.call("lookup", {"qtype": "A", "qname": "ryw.example.com.", "zone-id": zone_id})
    check(names_of(r) == [("A", "192.0.2.80")], "same connection: lookup A sees the uncommitted write", json.dumps(r))
    r = a.call("lookup", {"qtype": "ANY", "qname": "RYW.example.com.", "zone-id": -1})
    check(names_of(r) == [("A", "192.0.2.80")], "same connection: ANY lookup (zone-id -1, other case) sees it", json.dumps(r))
    r = a.call("lookup", {"qtype": "ANY", "qname": "y.ent.example.com.", "zone-id": zone_id})
    check([x["qtype"] for x in r.get("result") or []] == ["ENT"], "same connection: new empty non-terminal is an ENT", json.dumps(r))
    r = a.call("lookup", {"qtype": "ANY", "qname": "intranet.example.com.", "zone-id": zone_id})
    check(names_of(r) == [], "same connection: the deleted RRset is gone", json.dumps(r))
    r = a.call("list", {"zonename": "example.com.", "domain_id": zone_id, "include_disabled": False})
    listed = {(x["qname"].lower().rstrip("."), x["qtype"]) for x in r.get("result") or []}
    check(("ryw.example.com", "A") in listed and ("intranet.example.com", "A") not in listed,
          "same connection: list shows the transaction's state", str(sorted(listed))[:300])
    r = b.call("lookup", {"qtype": "ANY", "qname": "ryw.example.com.", "zone-id": zone_id})
    check(names_of(r) == [], "other connection: the uncommitted write is invisible", json.dumps(r))
    r = b.call("lookup", {"qtype": "A", "qname": "intranet.example.com.", "zone-id": zone_id})
    check(names_of(r) == [("A", "10.1.2.3")], "other connection: the uncommitted delete is invisible", json.dumps(r))
    # park here until the shell has checked pdns, then commit
    print("WAITING"); sys.stdout.flush()
    sys.stdin.readline()
    r = a.call("commitTransaction", {"trxid": t})
    check(r == {"result": True} or r.get("result") is True, "commit answers true", json.dumps(r))
    r = b.call("lookup", {"qtype": "A", "qname": "ryw.example.com.", "zone-id": zone_id})
    check(names_of(r) == [("A", "192.0.2.80")], "other connection sees it after the commit", json.dumps(r))
    a.close(); b.close()

elif PHASE == "wipe":
    c, other = Conn(), Conn()
    net_id = zid(c, "example.net")
    t = start(c, "example.net", net_id)
    for rec in (rr("example.net.", "SOA", "ns1.example.net. hostmaster.example.net. 2099010101 10800 3600 604800 600", 3600),
                rr("example.net.", "NS", "ns1.example.net.", 3600),
                rr("example.net.", "NS", "ns2.example.net.", 3600),
                rr("ns1.example.net.", "A", "198.51.100.1", 3600),
                rr("ns2.example.net.", "A", "198.51.100.2", 3600),
                # the mail hosts keep their addresses (example.com's shop MX points at them)
                rr("example.net.", "MX", "10 mx1.example.net.", 3600),
                rr("example.net.", "MX", "20 mx2.example.net.", 3600),
                rr("mx1.example.net.", "A", "198.51.100.25", 3600),
                rr("mx1.example.net.", "AAAA", "2001:db8:1::25", 3600),
                rr("mx2.example.net.", "A", "198.51.100.26", 3600),
                rr("reloaded.example.net.", "TXT", "\"after the wipe\"", 3600)):
        r = c.call("feedRecord", {"trxid": t, "rr": rec})
        check(r.get("result") is True, f"wipe: feedRecord {rec['qname']} {rec['qtype']}", json.dumps(r))
    r = c.call("feedEnts", {"trxid": t, "domain_id": net_id, "nonterm": []})
    check(r.get("result") is True, "wipe: feedEnts (empty)", json.dumps(r))
    r = c.call("lookup", {"qtype": "ANY", "qname": "chain3.example.net.", "zone-id": net_id})
    check(names_of(r) == [], "wipe: same connection no longer sees the old records", json.dumps(r))
    r = other.call("lookup", {"qtype": "A", "qname": "chain3.example.net.", "zone-id": net_id})
    check(names_of(r) == [("A", "198.51.100.33")], "wipe: another connection still sees the old zone", json.dumps(r))
    r = c.call("commitTransaction", {"trxid": t})
    check(r.get("result") is True, "wipe: commit answers true", json.dumps(r))
    r = other.call("lookup", {"qtype": "A", "qname": "chain3.example.net.", "zone-id": net_id})
    check(names_of(r) == [], "wipe: old records gone after the commit", json.dumps(r))
    c.close(); other.close()
PY

run_phase() { # PHASE -- run the client; turn its PASS/FAIL lines into checks
    local line
    while IFS= read -r line; do
        case $line in
            PASS\ *) it_pass "${line#PASS }" ;;
            FAIL\ *) it_fail "${line#FAIL }" ;;
            *) echo "    $line" ;;
        esac
    done < <(python3 "$IT_WORK/rb.py" "$MXG_SOCK" "$1" 2>&1 </dev/null || echo "FAIL python client for phase $1 exited non-zero")
}

# --- refused, aborted and dropped transactions change nothing ------------------------------
run_phase refused
it_alive "$MXG_PID" && it_pass "mxguard survived the refused writes" || it_fail "mxguard died"
assert_eq "$initial" "$(store_dump)" "records table unchanged after every refused/aborted/dropped transaction"
assert_eq "$initial_meta" "$(meta_dump)" "metadata unchanged"
for n in out1 out2 bad0 bad1 bad2 bad3 bad5 bad6 bad7 bad9 bad10 bad11 bad12 bad14 bad16 bad17 bad19 bad22 aborted aborted2 dropped; do
    assert_rcode "$PORT" NXDOMAIN "$n.example.com" A
done
assert_answer "$PORT" www.example.com A 192.0.2.20
assert_answer "$PORT" shop.example.com A 192.0.2.25
assert_answer "$PORT" mx1.example.net A 198.51.100.25
assert_eq 2024020101 "$(dig_short "$PORT" example.net SOA | awk '{print $3}')" "poisoned wipe kept example.net's serial"
assert_rcode "$PORT" NXDOMAIN later.example.net A
if grep -q 'write refused' "$MXG_LOG"; then it_pass "mxguard logs the refused writes"; else it_fail "no 'write refused' in the mxguard log"; fi
if grep -q 'commit on example.com.* refused' "$MXG_LOG"; then it_pass "mxguard logs the refused commits"; else it_fail "no refused commit in the mxguard log"; fi

# --- read-your-writes vs. other connections, then commit -------------------------------------
coproc RB { python3 "$IT_WORK/rb.py" "$MXG_SOCK" visibility 2>&1; }
rb_pid=$RB_PID
while IFS= read -r -t 10 line <&"${RB[0]}"; do
    case $line in
        PASS\ *) it_pass "${line#PASS }" ;;
        FAIL\ *) it_fail "${line#FAIL }" ;;
        WAITING)
            assert_rcode "$PORT" NXDOMAIN ryw.example.com A
            assert_answer "$PORT" intranet.example.com A 10.1.2.3
            echo go >&"${RB[1]}"
            ;;
        *) echo "    $line" ;;
    esac
done
wait "$rb_pid" 2>/dev/null || true
assert_answer "$PORT" ryw.example.com A 192.0.2.80
assert_answer "$PORT" x.y.ent.example.com TXT '"deep"'
assert_rcode "$PORT" NOERROR y.ent.example.com A
assert_rcode "$PORT" NXDOMAIN intranet.example.com A

# --- a wipe transaction replaces the zone ---------------------------------------------------
run_phase wipe
assert_eq 2099010101 "$(dig_short "$PORT" example.net SOA | awk '{print $3}')" "wiped zone serves the new SOA"
assert_answer "$PORT" reloaded.example.net TXT '"after the wipe"'
assert_rcode "$PORT" NXDOMAIN chain3.example.net A
assert_rcode "$PORT" NXDOMAIN www.example.net A
assert_answer "$PORT" mx1.example.net A 198.51.100.25
assert_answer "$PORT" example.net NS $'ns1.example.net.\nns2.example.net.'
assert_eq 11 "$(store_sql "select count(*) from records r join domains d on d.id = r.domain_id where d.name = 'example.net' and r.type != ''")" \
    "example.net holds exactly the 11 fed records"
assert_answer "$PORT" www.example.com A 192.0.2.20     # the other zone untouched
assert_eq ok "$(store_sql 'PRAGMA integrity_check')" "store integrity_check"
it_alive "$MXG_PID" && it_pass "mxguard still running" || it_fail "mxguard died"

it_finish
