#!/usr/bin/env python3
"""Differential DNS test: ask two authoritative servers the same questions.

    difftest.py --ref-port 5301 --cand-port 5302 [--zone ZONE=FILE]...

Both servers listen on 127.0.0.1. The reference is normally pdns with
launch=bind reading the zone files, the candidate pdns with launch=remote on
mxguard after `mxguard import` of the same files (or pdns+gsqlite3 for the
harness self-check). Without --zone every tests/data/zones/*.zone is used and
the zone name is the file name minus ".zone".

Queries (several hundred) are generated from the zone files:
  * every owner name (spelled as in the file, so mixed case is kept) x the
    common types A AAAA MX NS SOA TXT CNAME SRV CAA NAPTR PTR SPF ANY,
  * a mixed-case variant of every owner,
  * empty non-terminals (ancestors of owners that own nothing),
  * nonexistent names below and beside existing ones,
  * names matched by wildcards (one and two labels deep),
  * names at and below delegations (NS owners other than the apex),
  * names outside every zone (REFUSED),
  * AXFR of every zone (compared as sets of records).
Each query runs as `dig +norec +tries=1 +time=2 -p PORT @127.0.0.1 NAME TYPE`, up to
--batch of them through one `dig -f` (a query without an answer is asked again alone, twice,
before it counts). The rcode, the
header flags and the QUESTION/ANSWER/AUTHORITY/ADDITIONAL sections are
compared; sections order-insensitively. The OPT pseudo-section (cookie, nsid,
udp size), query time, server and message size lines are ignored.

Name case: by default owner names and names inside RDATA (NS, CNAME, PTR, MX,
SRV, SOA, NAPTR replacement, DNAME) compare case-insensitively, except owner
names in the ANSWER section that equal the query name: pdns echoes the case of
the query there, so those compare exactly, as does the QUESTION section.
Differences that are only in case elsewhere are still printed, as warnings;
--strict-case turns them into failures.

Known systematic differences between backends that are not bugs are listed
in ALLOWANCES below. Each one is applied explicitly, printed with its count
in the summary, and can be disabled with --no-allowances. There are none
between pdns+bind and pdns+gsqlite3 (see test_difftest_selfcheck.sh).

Exit status: 0 when every query matched, 1 on any mismatch, 2 on usage or
setup errors (e.g. a server that does not answer at all).
"""

import argparse
import collections
import concurrent.futures
import glob
import os
import re
import subprocess
import sys
import time

QTYPES = ["A", "AAAA", "MX", "NS", "SOA", "TXT", "CNAME", "SRV", "CAA",
          "NAPTR", "PTR", "SPF", "ANY"]
# RDATA fields that are domain names, by type: indexes into the split RDATA
# (None = the whole RDATA is one name).
NAME_FIELDS = {
    "NS": None, "CNAME": None, "PTR": None, "DNAME": None,
    "MX": [1], "SRV": [3], "SOA": [0, 1], "NAPTR": [5], "AFSDB": [1],
    "RP": [0, 1], "KX": [1],
}
SECTIONS = ["QUESTION", "ANSWER", "AUTHORITY", "ADDITIONAL"]

# Explicit, documented allowances for systematic differences that are not
# bugs. Each entry: (id, description, predicate(query, ref, cand) -> bool).
# Empty on purpose: pdns+bind and pdns+gsqlite3 agree on every query of the
# test set (checked 2026-11 with pdns 4.7.3), so any difference from the
# remote backend is a real difference in what mxguard hands to pdns.
ALLOWANCES = []


# --------------------------------------------------------------- zone files --

def tokenize(line):
    """Split a zone-file line into tokens; drops comments; keeps quoted
    strings (with their quotes) as single tokens; returns (tokens,
    starts_with_blank, paren_delta)."""
    toks, cur, i, inq, depth = [], "", 0, False, 0
    while i < len(line):
        c = line[i]
        if inq:
            cur += c
            if c == "\\" and i + 1 < len(line):
                cur += line[i + 1]
                i += 1
            elif c == '"':
                inq = False
        elif c == "\\" and i + 1 < len(line):
            cur += c + line[i + 1]
            i += 1
        elif c == '"':
            cur += c
            inq = True
        elif c == ";":
            break
        elif c in "()":
            depth += 1 if c == "(" else -1
            if cur:
                toks.append(cur)
                cur = ""
        elif c.isspace():
            if cur:
                toks.append(cur)
                cur = ""
        else:
            cur += c
        i += 1
    if cur:
        toks.append(cur)
    return toks, line[:1].isspace(), depth


def absname(name, origin):
    if name == "@":
        return origin
    if name.endswith(".") and not name.endswith("\\."):
        return name
    return name + "." + origin if origin != "." else name + "."


TTL_RE = re.compile(r"^(\d+[smhdwSMHDW]?)+$")
CLASSES = {"IN", "CH", "HS", "CS"}


def parse_zone(path, origin, records=None, state=None):
    """Very small RFC 1035 master-file reader: returns a list of
    (owner, type, rdata-tokens) with owners spelled as in the file."""
    if records is None:
        records = []
    if state is None:
        state = {"last": origin}
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    pending, pend_blank, depth = [], False, 0
    for raw in lines:
        toks, blank, d = tokenize(raw)
        if depth > 0:
            pending += toks
            depth += d
            if depth > 0:
                continue
            toks, blank = pending, pend_blank
        elif d > 0:
            pending, pend_blank, depth = toks, blank, d
            continue
        pending, depth = [], 0
        if not toks:
            continue
        if toks[0].upper() == "$ORIGIN":
            origin = absname(toks[1], origin)
            continue
        if toks[0].upper() == "$TTL":
            continue
        if toks[0].upper() == "$INCLUDE":
            inc = toks[1]
            if not os.path.isabs(inc):
                inc = os.path.join(os.path.dirname(path), inc)
            inc_origin = absname(toks[2], origin) if len(toks) > 2 else origin
            parse_zone(inc, inc_origin, records, dict(state))
            continue
        if blank:
            owner = state["last"]
        else:
            owner = absname(toks[0], origin)
            toks = toks[1:]
            state["last"] = owner
        while toks and (TTL_RE.match(toks[0]) or toks[0].upper() in CLASSES):
            toks = toks[1:]
        if not toks:
            continue
        records.append((owner, toks[0].upper(), toks[1:]))
    return records


# ---------------------------------------------------------- query generation --

def labels(name):
    return [l for l in re.split(r"(?<!\\)\.", name.rstrip(".")) if l]


def join(lbls):
    return ".".join(lbls) + "."


def is_below(name, parent):
    n, p = name.lower().rstrip("."), parent.lower().rstrip(".")
    return n != p and n.endswith("." + p)


def mixcase(name):
    out, up = [], True
    for c in name:
        if c.isalpha():
            out.append(c.upper() if up else c.lower())
            up = not up
        else:
            out.append(c)
    s = "".join(out)
    return s if s != name else name.swapcase()


def build_queries(zones):
    """zones: list of (zone, file). Returns ordered unique (name, type)."""
    queries, seen = [], set()

    def add(name, qtype):
        key = (name, qtype)
        if key not in seen:
            seen.add(key)
            queries.append(key)

    all_zones = [z.lower().rstrip(".") + "." for z, _ in zones]
    for zone, path in zones:
        apex = zone.rstrip(".") + "."
        recs = parse_zone(path, apex)
        owners = collections.OrderedDict()
        types_of = collections.defaultdict(set)
        for owner, rtype, _ in recs:
            owners.setdefault(owner.lower(), owner)
            types_of[owner.lower()].add(rtype)
        cuts = [o for o in owners if "NS" in types_of[o] and o != apex.lower()]
        wilds = [o for o in owners if o.startswith("*.")]

        # zone apex extras
        for t in ["DNSKEY", "DS", "NSEC", "CDS"]:
            add(apex, t)
        # 1. every owner x common types, as spelled in the file
        for lo, owner in owners.items():
            for t in QTYPES:
                add(owner, t)
            for t in sorted(types_of[lo] - set(QTYPES)):
                add(owner, t)
        # 2. mixed-case variants
        for lo, owner in owners.items():
            mc = mixcase(owner)
            for t in sorted({"A", "ANY", "SOA"} | (types_of[lo] & set(QTYPES))):
                add(mc, t)
        # 3. empty non-terminals
        ents = set()
        for lo in owners:
            lb = labels(lo)
            for i in range(1, len(lb) - len(labels(apex))):
                anc = join(lb[i:])
                if anc not in owners:
                    ents.add(anc)
        for ent in sorted(ents):
            for t in ["A", "TXT", "NS", "SOA", "ANY", "SRV"]:
                add(ent, t)
            add(mixcase(ent), "A")
        # 4. nonexistent names below and beside existing ones
        parents = set()
        for lo, owner in owners.items():
            if any(is_below(lo, c) for c in cuts):
                continue
            if not lo.startswith("*."):
                add("nxd-below." + owner, "A")
                add("nxd-below." + owner, "ANY")
            lb = labels(lo)
            if len(lb) > len(labels(apex)):
                parents.add(join(lb[1:]))
        for p in sorted(parents | {apex.lower()}):
            for t in ["A", "MX", "TXT"]:
                add("nxd-beside." + p, t)
            add("NxD-Beside." + p, "AAAA")
            add("zz.nxd." + p, "A")
        # 5. wildcard matches
        for w in wilds:
            base = w[2:]
            for t in QTYPES:
                add("matched." + base, t)
            for t in ["A", "TXT", "ANY", "MX", "CNAME"]:
                add("two.levels." + base, t)
            add("MiXeD." + base.upper(), "A")
            add("MiXeD." + base, "TXT")
        # 6. delegations: at and below the cut
        for c in cuts:
            cn = owners[c]
            for t in ["NS", "DS", "A", "AAAA", "ANY", "SOA", "MX", "TXT"]:
                add(cn, t)
            for sub in ["www.", "nxd.", "deep.nxd.", "HoSt."]:
                for t in ["A", "NS", "ANY", "MX"]:
                    add(sub + cn, t)
        # 7. AXFR
        add(apex, "AXFR")
    # 8. outside every zone
    for name in ["example.org.", "www.example.org.", "org.", ".",
                 "in-addr.arpa.", "192.in-addr.arpa.", "com."]:
        if name not in all_zones:
            add(name, "SOA")
            add(name, "A")
    return queries


# ------------------------------------------------------------ dig handling --

HEADER_RE = re.compile(r"^;; ->>HEADER<<- opcode: (\S+), status: (\S+), id: \d+")
FLAGS_RE = re.compile(r"^;; flags:([^;]*);")
SECTION_RE = re.compile(r"^;; (QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:")


class Result:
    def __init__(self, raw, status, flags, sections, error=None, tries=1):
        self.raw = raw
        self.status = status
        self.flags = flags
        self.sections = sections  # name -> list of record lines
        self.error = error
        self.tries = tries


def clean_raw(raw):
    """The dig output without the lines we never compare."""
    keep = []
    skip_opt = False
    for line in raw.splitlines():
        if line.startswith(";; OPT PSEUDOSECTION"):
            skip_opt = True
            continue
        if skip_opt:
            if line.startswith("; ") and not SECTION_RE.match(line):
                continue
            skip_opt = False
        if re.match(r"^;; (Query time|SERVER|WHEN|MSG SIZE|XFR size)", line) \
                or line.startswith("; <<>> DiG") or line.startswith(";; global options") \
                or line.startswith("; (1 server found)") or line.startswith(";; Got answer"):
            continue
        keep.append(line)
    while keep and not keep[-1].strip():
        keep.pop()
    return "\n".join(keep)


def parse_dig(raw):
    status, flags, sections, cur = None, None, {s: [] for s in SECTIONS}, None
    for line in raw.splitlines():
        m = HEADER_RE.match(line)
        if m:
            status = m.group(2)
            continue
        m = FLAGS_RE.match(line)
        if m:
            flags = " ".join(sorted(m.group(1).split()))
            continue
        m = SECTION_RE.match(line)
        if m:
            cur = m.group(1)
            continue
        if not line.strip():
            cur = None
            continue
        if cur == "QUESTION" and line.startswith(";"):
            sections[cur].append(" ".join(line[1:].split()))
        elif cur and not line.startswith(";"):
            sections[cur].append(line)
    return status, flags, sections


def parse_axfr(raw):
    recs = [l for l in raw.splitlines() if l.strip() and not l.startswith(";")]
    failed = ("Transfer failed" in raw or "communications error" in raw
              or "no servers could be reached" in raw or not recs)
    status = "XFR-FAILED" if failed else "XFR-OK"
    return status, "", {"ANSWER": recs, "QUESTION": [], "AUTHORITY": [], "ADDITIONAL": []}


def run_dig(port, name, qtype, timeout_s, attempts=3):
    if qtype == "AXFR":
        cmd = ["dig", "+tries=1", "+time=%d" % max(timeout_s, 5), "-p", str(port),
               "@127.0.0.1", name, "AXFR"]
    else:
        cmd = ["dig", "+norec", "+tries=1", "+time=%d" % timeout_s, "-p", str(port),
               "@127.0.0.1", name, qtype]
    raw, err = "", None
    for attempt in range(1, attempts + 1):
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=timeout_s * 4 + 10, check=False)
            raw = p.stdout.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            raw, err = "", "dig hung"
            continue
        if qtype == "AXFR":
            status, flags, secs = parse_axfr(raw)
            if status == "XFR-OK" or attempt == attempts:
                return Result(raw, status, flags, secs, tries=attempt)
            continue
        status, flags, secs = parse_dig(raw)
        if status is not None:
            return Result(raw, status, flags, secs, tries=attempt)
        err = "no reply"
    return Result(raw, "NO-REPLY", None, {s: [] for s in SECTIONS}, error=err, tries=attempts)


DIG_BANNER = "; <<>> DiG "


def run_dig_batch(port, queries, timeout_s):
    """One `dig -f` for many (name, type) queries, each with its own Result. A query whose
    block does not parse (no reply, or the output could not be split) is asked again alone
    with run_dig's retries."""
    # The options on the command line hold for every line (a batch line takes a few words only).
    lines = ["%s %s" % q for q in queries]
    try:
        p = subprocess.run(["dig", "+norec", "+tries=1", "+time=%d" % timeout_s, "-p", str(port),
                            "@127.0.0.1", "-f", "-"], input="\n".join(lines).encode() + b"\n",
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=(timeout_s + 1) * len(queries) + 10, check=False)
        raw = p.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        raw = ""
    blocks, cur = [], None
    for line in raw.splitlines(keepends=True):
        if line.startswith(DIG_BANNER):
            cur = [line]
            blocks.append(cur)
        elif cur is not None:
            cur.append(line)
    results = []
    for i, (name, qtype) in enumerate(queries):
        res = None
        if len(blocks) == len(queries):
            text = "".join(blocks[i])
            status, flags, secs = parse_dig(text)
            if status is not None:
                res = Result(text, status, flags, secs)
        results.append(res or run_dig(port, name, qtype, timeout_s))
    return results


# ------------------------------------------------------------- comparison --

def split_rr(line):
    parts = line.split(None, 4)
    if len(parts) < 5:
        parts += [""] * (5 - len(parts))
    return parts  # owner ttl class type rdata


def fold_rdata(rtype, rdata):
    fields = NAME_FIELDS.get(rtype.upper(), [])
    if fields is None:
        return rdata.lower()
    if not fields:
        return rdata
    parts = rdata.split(" ")
    for i in fields:
        if i < len(parts):
            parts[i] = parts[i].lower()
    return " ".join(parts)


def record_key(section, line, qname, strict):
    if section == "QUESTION":
        return line
    owner, ttl, cls, rtype, rdata = split_rr(line)
    if strict:
        return (owner, ttl, cls, rtype, rdata)
    if not (section == "ANSWER" and owner.lower() == qname.lower()):
        owner = owner.lower()
    return (owner, ttl, cls, rtype, fold_rdata(rtype, rdata))


def compare(qname, qtype, ref, cand, strict, rl="ref", cl="cand"):
    """List of human-readable differences ([] = equal)."""
    diffs = []
    if ref.status != cand.status:
        diffs.append("rcode: %s %s, %s %s" % (rl, ref.status, cl, cand.status))
    if ref.flags != cand.flags:
        diffs.append("flags: %s [%s], %s [%s]" % (rl, ref.flags, cl, cand.flags))
    for sec in SECTIONS:
        if qtype == "AXFR":
            # AXFR: one set of records (the SOA appears first and last).
            r = set(record_key(sec, l, qname, strict) for l in ref.sections[sec])
            c = set(record_key(sec, l, qname, strict) for l in cand.sections[sec])
        else:
            r = collections.Counter(record_key(sec, l, qname, strict) for l in ref.sections[sec])
            c = collections.Counter(record_key(sec, l, qname, strict) for l in cand.sections[sec])
        if r != c:
            if isinstance(r, set):
                only_r, only_c = sorted(r - c, key=str), sorted(c - r, key=str)
            else:
                only_r = sorted((r - c).elements(), key=str)
                only_c = sorted((c - r).elements(), key=str)
            fmt = lambda k: k if isinstance(k, str) else "\t".join(k)
            lines = ["%s section differs:" % sec]
            lines += ["    only in %s: %s" % (rl, fmt(k)) for k in only_r]
            lines += ["    only in %s: %s" % (cl, fmt(k)) for k in only_c]
            diffs.append("\n".join(lines))
    return diffs


# ------------------------------------------------------------------- main --

def default_zones(repo_root):
    zones = []
    for f in sorted(glob.glob(os.path.join(repo_root, "tests", "data", "zones", "*.zone"))):
        zones.append((os.path.basename(f)[:-len(".zone")], f))
    return zones


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ref-port", type=int, required=True)
    ap.add_argument("--cand-port", type=int, required=True)
    ap.add_argument("--ref-label", default="ref")
    ap.add_argument("--cand-label", default="cand")
    ap.add_argument("--zone", action="append", default=[], metavar="ZONE=FILE")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--timeout", type=int, default=2, help="dig +time (s)")
    ap.add_argument("--strict-case", action="store_true",
                    help="case-only differences are failures, not warnings")
    ap.add_argument("--no-allowances", action="store_true")
    ap.add_argument("--max-report", type=int, default=60,
                    help="print full details of at most N mismatches (rest: one line each)")
    ap.add_argument("--list-queries", action="store_true", help="print the queries and exit")
    ap.add_argument("--min-queries", type=int, default=300)
    ap.add_argument("--batch", type=int, default=60, help="queries per `dig -f` (1 = one dig each)")
    args = ap.parse_args()

    if args.zone:
        zones = []
        for z in args.zone:
            if "=" not in z:
                ap.error("--zone wants ZONE=FILE")
            name, path = z.split("=", 1)
            zones.append((name, os.path.abspath(path)))
    else:
        zones = default_zones(os.path.dirname(os.path.dirname(here)))
    if not zones:
        ap.error("no zone files")

    queries = build_queries(zones)
    if args.list_queries:
        for n, t in queries:
            print(n, t)
        return 0
    if len(queries) < args.min_queries:
        print("difftest: only %d queries generated (< %d)" % (len(queries), args.min_queries))
        return 2

    # Both servers must answer something before we start.
    for label, port in ((args.ref_label, args.ref_port), (args.cand_label, args.cand_port)):
        probe = run_dig(port, zones[0][0].rstrip(".") + ".", "SOA", args.timeout)
        if probe.status in (None, "NO-REPLY"):
            print("difftest: %s server on 127.0.0.1:%d does not answer:\n%s"
                  % (label, port, probe.raw))
            return 2

    t0 = time.time()

    # AXFRs one dig each; the other queries in batches of one `dig -f` per server.
    def job(chunk):
        if chunk[0][1] == "AXFR":
            return [(q, run_dig(args.ref_port, q[0], q[1], args.timeout),
                     run_dig(args.cand_port, q[0], q[1], args.timeout)) for q in chunk]
        rs = run_dig_batch(args.ref_port, chunk, args.timeout)
        cs = run_dig_batch(args.cand_port, chunk, args.timeout)
        return list(zip(chunk, rs, cs))

    plain = [q for q in queries if q[1] != "AXFR"]
    size = max(1, min(args.batch, -(-len(plain) // args.threads)))
    chunks = [[q] for q in queries if q[1] == "AXFR"]
    chunks += [plain[i:i + size] for i in range(0, len(plain), size)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.threads) as ex:
        results = [t for part in ex.map(job, chunks) for t in part]
    elapsed = time.time() - t0

    mismatches, warnings, allowed = [], [], collections.Counter()
    retries = 0
    by_kind = collections.Counter()
    for (name, qtype), r, c in results:
        retries += (r.tries - 1) + (c.tries - 1)
        for label, res in ((args.ref_label, r), (args.cand_label, c)):
            if res.tries > 1:
                print("difftest: note: %s %s needed %d tries on %s (final: %s)"
                      % (name, qtype, res.tries, label, res.status))
        diffs = compare(name, qtype, r, c, args.strict_case, args.ref_label, args.cand_label)
        if diffs:
            allow = None
            if not args.no_allowances:
                for aid, _desc, pred in ALLOWANCES:
                    if pred((name, qtype), r, c):
                        allow = aid
                        break
            if allow:
                allowed[allow] += 1
                continue
            mismatches.append(((name, qtype), r, c, diffs))
            for d in diffs:
                by_kind[d.split(":")[0]] += 1
        elif not args.strict_case:
            sdiffs = compare(name, qtype, r, c, True, args.ref_label, args.cand_label)
            if sdiffs:
                warnings.append(((name, qtype), r, c, sdiffs))

    rl, cl = args.ref_label, args.cand_label
    for i, ((name, qtype), r, c, diffs) in enumerate(mismatches):
        if i >= args.max_report:
            print("MISMATCH %s %s: %s" % (name, qtype, "; ".join(d.splitlines()[0].rstrip(":") for d in diffs)))
            continue
        print("=" * 78)
        print("MISMATCH %s %s" % (name, qtype))
        for d in diffs:
            print("  " + d)
        print("--- %s (port %d) ---" % (rl, args.ref_port))
        print(clean_raw(r.raw))
        print("--- %s (port %d) ---" % (cl, args.cand_port))
        print(clean_raw(c.raw))
    for (name, qtype), r, c, diffs in warnings:
        print("WARNING case-only difference %s %s:" % (name, qtype))
        for d in diffs:
            print("  " + d)

    nq = len(results)
    print("=" * 78)
    print("difftest: %d queries over %d zones (%d AXFR) in %.1fs, %d threads, %d dig retries"
          % (nq, len(zones), sum(1 for q in queries if q[1] == "AXFR"), elapsed,
             args.threads, retries))
    for aid, n in sorted(allowed.items()):
        desc = [d for a, d, _ in ALLOWANCES if a == aid][0]
        print("difftest: ALLOWED %d x %s: %s" % (n, aid, desc))
    if warnings:
        print("difftest: %d case-only differences (warnings; --strict-case to fail)" % len(warnings))
    if by_kind:
        print("difftest: mismatch kinds: " + ", ".join("%s=%d" % kv for kv in sorted(by_kind.items())))
    print("difftest: %d matched, %d mismatched (%s=127.0.0.1:%d vs %s=127.0.0.1:%d)"
          % (nq - len(mismatches), len(mismatches), rl, args.ref_port, cl, args.cand_port))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
