#!/usr/bin/env python3
"""Resolution oracle: generated zone sets, pdns's answers classified, and the comparison.

Used by test_resolve_oracle.sh to prove that `mxguard resolve` (mxguard's model of what pdns
answers to an A/AAAA query) equals what pdns 4.7 on mxguard really answers. Standard library
only. Subcommands:

  gen --seed N --out DIR
      Write a reproducible zone set: DIR/zones/<zone>.zone (RFC 1035 master files, SOA and NS
      at each apex), DIR/zones.txt ("ZONE FILE" per line, parents before children) and
      DIR/queries.txt ("NAME TYPE" per line: every owner name, names matched only by
      wildcards one and two labels down, empty non-terminals, names below delegations and
      DNAMEs, nonexistent names, names outside every zone; each as A and as AAAA).

  dig --port P --queries FILE --out FILE [--jobs J] [--timeout S]
      Ask pdns on 127.0.0.1:P every query (J `dig -f` batch processes in parallel; a query
      without a reply is asked again on its own, twice) and write one JSON object per line,
      in query order: {"name", "type", "result", "addresses", "rcode", "dig"} where result
      classifies the answer (see classify()).

  compare --queries FILE --model FILE --pdns FILE [--min KIND=N]... [--label L]
      Compare `mxguard resolve --json --batch` output (--model) with the classified dig
      answers (--pdns): result and, for "addresses", the address sets. Also checks the shape
      of every model object (name, type, fields, sorted addresses). Prints every difference
      with the dig output and a summary line with the counts per result kind; fails on any
      difference or when a kind has fewer answers than its --min.

  model --dir DIR --queries FILE --out FILE [--dname-processing yes|no]
      A small reference model of pdns 4.7's packethandler over the generated zone files, in
      the same JSON shape. ONLY for self-checking the generator and the dig classifier
      (MXG_ORACLE_SELFCHECK=1 in the test); the test proper compares `mxguard resolve`.

  summary --pdns FILE
      Counts per result kind of a classified dig run (and per query shape).

What pdns 4.7.3 does for an A/AAAA query (packethandler.cc doQuestion), which the generator
exercises and the classifier relies on:
  * the zone is the deepest served zone containing the name (getAuth); none -> REFUSED, or
    after a CNAME/DNAME -> NOERROR with the chain so far and an empty authority section;
  * an NS set at the name or an ancestor below the apex -> referral (NS in authority, AA
    cleared unless retargeted), before anything else is looked at: a CNAME below a cut is
    never followed;
  * any record at the name (or an empty non-terminal, or the apex) -> CNAME: follow it;
    records of the type: answer; else NODATA (a DNAME owner, an ALIAS owner without a
    resolver, an ENT);
  * nothing at the name -> the closest wildcard: "*.<ancestor>" for each ancestor up to the
    apex, stopping at the first ancestor that exists (an ENT counts, so it blocks a wildcard
    above it); a wildcard CNAME is followed, a wildcard without the type is NODATA, and so is
    a "*.x" that is only an ENT (a name below it exists: the backend returns its ENT record);
  * no wildcard -> with dname-processing, the closest DNAME at or above the name (up to the
    apex, even through existing names) synthesises a CNAME; else NXDOMAIN. Wildcards come
    first: a wildcard at or below a DNAME's owner (e.g. "*" beside an apex DNAME) wins;
  * each CNAME, wildcard CNAME or DNAME is one retarget; the 11th retarget is SERVFAIL (with
    an empty answer section; pdns logs it as "after 10 redirects");
  * over UDP pdns shuffles the answer section from its first non-CNAME record on, so after a
    DNAME the DNAME, the synthesised CNAME and the rest of the chain come in random order.
"""

import argparse
import collections
import concurrent.futures
import ipaddress
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time

KINDS = ["addresses", "unknown", "none", "servfail"]
FAMILIES = ["A", "AAAA"]
OUTSIDE = "outside.invalid."
ALIAS_TYPE = 65401  # pdns's ALIAS; written as TYPE65401 (RFC 3597), see Zone.lines()


# ------------------------------------------------------------------------------ names --

def labels(name):
    return [] if name == "." else name.rstrip(".").split(".")


def parent(name):
    lb = labels(name)
    return "." if len(lb) <= 1 else ".".join(lb[1:]) + "."


def is_below_or_at(name, zone):
    """name is zone or a name below it."""
    if zone == ".":
        return True
    return name == zone or name.endswith("." + zone)


def ancestors(name, stop):
    """Names strictly between name and stop (stop excluded), closest first."""
    out = []
    n = name
    while n != stop and n != ".":
        n = parent(n)
        if n == stop:
            break
        out.append(n)
    return out


def name_wire(name):
    out = b""
    for lb in labels(name):
        out += bytes([len(lb)]) + lb.encode("ascii")
    return out + b"\x00"


# -------------------------------------------------------------------------- generator --

class Zone:
    def __init__(self, name, idx):
        self.name = name
        self.idx = idx
        self.rr = collections.OrderedDict()  # owner -> OrderedDict(type -> [rdata])
        self.notes = []

    def add(self, owner, rtype, rdata):
        assert is_below_or_at(owner, self.name), (owner, self.name)
        types = self.rr.setdefault(owner, collections.OrderedDict())
        if rtype == "CNAME" and types:
            raise ValueError("CNAME beside other data at %s" % owner)
        if "CNAME" in types:
            raise ValueError("data beside CNAME at %s" % owner)
        lst = types.setdefault(rtype, [])
        if rdata not in lst:
            lst.append(rdata)

    def rel(self, owner):
        if owner == self.name:
            return "@"
        return owner[: -len(self.name) - 1]

    def lines(self):
        out = ["; generated by tests/integration/oracle.py -- do not edit",
               "$ORIGIN %s" % self.name, "$TTL 300"]
        for note in self.notes:
            out.append("; " + note)
        for owner, types in self.rr.items():
            for rtype, values in types.items():
                for v in values:
                    if rtype == "ALIAS":
                        # mxguard's zone-file reader (libzscanner) has no ALIAS mnemonic: the
                        # RFC 3597 generic form of pdns's type 65401 carries the same name.
                        w = name_wire(v)
                        out.append("%s\tTYPE%d\t\\# %d %s" % (self.rel(owner), ALIAS_TYPE, len(w), w.hex()))
                    else:
                        out.append("%s\t%s\t%s" % (self.rel(owner), rtype, v))
        return "\n".join(out) + "\n"


class Gen:
    """Builds the zone set. Everything is drawn from one random.Random(seed)."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.zones = collections.OrderedDict()
        self.v4 = 0
        self.v6 = 0
        self.pool = collections.defaultdict(list)  # kind -> names (chain terminals)
        self.extra_queries = []                     # names that own nothing themselves
        self.serial = 0
        self.dnames = []                            # DNAME owners so far

    # -- addresses --
    def a(self):
        nets = ["192.0.2.", "198.51.100.", "203.0.113."]
        i = self.v4
        self.v4 += 1
        return "%s%d" % (nets[(i // 254) % 3], i % 254 + 1)

    def aaaa(self):
        self.v6 += 1
        return str(ipaddress.IPv6Address("2001:db8::") + (self.v6 * 0x10001 + (self.v6 % 7) * (1 << 64)))

    def addrs(self, z, owner, fam):
        """fam: '4', '6' or '46'."""
        if "4" in fam:
            for _ in range(self.rng.choice([1, 1, 2, 3])):
                z.add(owner, "A", self.a())
        if "6" in fam:
            for _ in range(self.rng.choice([1, 1, 2])):
                z.add(owner, "AAAA", self.aaaa())

    # -- zones --
    def zone(self, name):
        z = Zone(name, len(self.zones))
        self.zones[name] = z
        self.serial += 1
        z.add(name, "SOA", "ns1.%s hostmaster.%s %d 7200 3600 1209600 300" % (name, name, 2024000000 + self.serial))
        z.add(name, "NS", "ns1.%s" % name)
        z.add(name, "NS", "ns.%s" % OUTSIDE)
        z.add("ns1." + name, "A", self.a())
        if self.rng.random() < 0.5:
            z.add("ns1." + name, "AAAA", self.aaaa())
        return z

    def served_zone(self, name):
        best = None
        for zn in self.zones:
            if is_below_or_at(name, zn) and (best is None or len(labels(zn)) > len(labels(best))):
                best = zn
        return best

    def pick(self, *kinds):
        cands = []
        for k in kinds:
            cands.extend((k, n) for n in self.pool[k])
        return self.rng.choice(cands)

    def other_zone(self, z, plain=True):
        cands = [x for x in self.zones.values() if x is not z and (not plain or not x.name.startswith("moved"))]
        return self.rng.choice(cands)

    # -- phase 1: what every zone holds --
    def fill_basic(self, z):
        r = self.rng
        n = z.name
        if r.random() < 0.5:
            self.addrs(z, n, r.choice(["4", "6", "46"]))
        mail = "mail." + n
        self.addrs(z, mail, r.choice(["4", "46", "46"]))
        z.add(n, "MX", "10 " + mail)
        if r.random() < 0.3:
            z.add(n, "MX", "20 mx.%s" % OUTSIDE)
        self.pool["host46"].append(mail)
        for i in range(r.randint(11, 16)):
            h = "h%d.%s" % (i, n)
            fam = r.choice(["4", "4", "6", "46", "46", "46"])
            self.addrs(z, h, fam)
            if r.random() < 0.15:
                z.add(h, "MX", "10 " + mail)
            if r.random() < 0.1:
                z.add(h, "TXT", '"host %d"' % i)
            self.pool["host" + fam].append(h)
        for i in range(r.randint(1, 2)):
            m = "mx%d.%s" % (i, n)
            z.add(m, "MX", "10 " + mail)
            z.add(m, "TXT", '"v=spf1 mx -all"')
            self.pool["nodata"].append(m)
        # hosts two and three labels down: their ancestors are empty non-terminals
        for i in range(r.randint(1, 3)):
            e = "e%d.%s" % (i, n)
            for j in range(r.randint(1, 2)):
                deep = ("h%d.%s" % (j, e)) if r.random() < 0.5 else ("h%d.g%d.%s" % (j, j, e))
                fam = r.choice(["4", "6", "46"])
                self.addrs(z, deep, fam)
                self.pool["host" + fam].append(deep)
            self.pool["ent"].append(e)
            self.pool["nx"].append("nx.%s" % e)
        for i in range(2):
            self.pool["nx"].append("nx%d.%s" % (i, n))
        self.pool["apex"].append(n)

    def fill_wild(self, z):
        r = self.rng
        n = z.name
        for i in range(r.randint(1, 2)):
            w = "w%d.%s" % (i, n)
            self.addrs(z, "*." + w, r.choice(["4", "6", "46", "46"]))
            if r.random() < 0.4:
                z.add("*." + w, "MX", "10 mail." + n)
            # an explicit name beside the wildcard, and one below an ENT it creates
            self.addrs(z, "exp." + w, r.choice(["4", "46"]))
            self.addrs(z, "h.blk." + w, "4")          # blk.w is an ENT: blocks the wildcard
            self.extra_queries += ["q%d.%s" % (i, w), "a.b.%s" % w, "x.blk.%s" % w, "x.y.exp.%s" % w]
            if r.random() < 0.5:
                self.addrs(z, "*.in." + w, "6")        # a closer wildcard below the first
                self.extra_queries += ["x.in.%s" % w, "in.%s" % w, "a.b.in.%s" % w]
            self.pool["wild"].append("t%d.%s" % (r.randint(0, 99), w))
        if r.random() < 0.3:
            # a name below "*.es": the wildcard's owner is only an empty non-terminal, and
            # still matches (pdns finds something at "*.es": the backend's ENT record): NODATA
            es = "es.%s" % n
            self.addrs(z, "h.*." + es, "4")
            self.extra_queries += ["x.%s" % es, "a.b.%s" % es]
        if r.random() < 0.5:
            wm = "wm.%s" % n
            z.add("*." + wm, "MX", "10 mail." + n)   # a wildcard without addresses: NODATA
            z.add("*." + wm, "TXT", '"wildcard without addresses"')
            self.extra_queries += ["x.%s" % wm, "a.b.%s" % wm]
            self.pool["wild"].append("t.%s" % wm)

    def fill_apex_wild(self, z):
        r = self.rng
        if r.random() < 0.5:
            self.addrs(z, "*." + z.name, r.choice(["4", "46"]))
        else:
            t = self.pick("host4", "host6", "host46")[1]
            z.add("*." + z.name, "CNAME", t)
        z.notes.append("apex wildcard: every nonexistent name not below an existing one matches it")

    def fill_wild_cname(self, z):
        r = self.rng
        n = z.name
        for i in range(r.randint(1, 2)):
            wc = "wc%d.%s" % (i, n)
            kind, t = self.pick("host4", "host6", "host46", "host46", "outside", "nx", "deleg", "wild", "ent")
            z.add("*." + wc, "CNAME", t)
            self.extra_queries += ["x.%s" % wc, "a.b.%s" % wc]
            self.pool["wildcname"].append("t%d.%s" % (r.randint(0, 99), wc))
        if r.random() < 0.35:
            wl = "wl.%s" % n
            z.add("*." + wl, "CNAME", "loop.%s" % wl)   # matches itself: a loop
            self.extra_queries += ["x.%s" % wl, "loop.%s" % wl]

    def fill_deleg(self, z):
        r = self.rng
        n = z.name
        for i in range(r.randint(1, 2)):
            d = "d%d.%s" % (i, n)
            z.add(d, "NS", "ns1." + d)
            z.add(d, "NS", "ns.%s" % OUTSIDE)
            z.add("ns1." + d, "A", self.a())
            if r.random() < 0.5:
                z.add("ns1." + d, "AAAA", self.aaaa())
            if r.random() < 0.5:
                z.add("www." + d, "A", self.a())       # occluded data below the cut
            if r.random() < 0.3:
                z.add("cn." + d, "CNAME", "h0." + n)    # a CNAME below a cut is never followed
            if r.random() < 0.3:
                z.add(d, "A", self.a())                  # data at the cut beside the NS set
            if r.random() < 0.3:
                z.add("*." + d, "A", self.a())           # a wildcard below the cut: never used
            self.extra_queries += ["x.%s" % d, "a.b.%s" % d]
            self.pool["deleg"] += [d, "www." + d, "x.y." + d]

    def fill_dname(self, z, dp_targets):
        r = self.rng
        n = z.name
        o = "old.%s" % n
        tz = self.other_zone(z)
        new = "new%d.%s" % (z.idx, tz.name)
        z.add(o, "DNAME", new)
        # the target subtree, in another zone
        for j in range(r.randint(2, 4)):
            fam = r.choice(["4", "6", "46"])
            self.addrs(tz, "h%d.%s" % (j, new), fam)
            self.extra_queries.append("h%d.%s" % (j, o))
        dp_targets.append((tz, new, o))
        if self.dnames and r.random() < 0.4:
            o2 = "old2.%s" % n
            z.add(o2, "DNAME", r.choice(self.dnames))  # a DNAME onto another DNAME's owner
            self.extra_queries += ["h0.%s" % o2, "h1.%s" % o2, "nx.%s" % o2]
            self.pool["dname"].append("h1.%s" % o2)
        self.dnames.append(o)
        self.extra_queries += ["nx.%s" % o, "a.b.%s" % o]
        self.pool["dname"] += ["h0.%s" % o, "nx.%s" % o]
        if r.random() < 0.4:
            self.addrs(z, "real." + o, "4")   # a name below a DNAME: pdns serves it as it is
            self.extra_queries += ["x.real.%s" % o]
        if r.random() < 0.3:
            self.addrs(z, "h.ent." + o, "6")  # ent.old is an ENT: NODATA, not rewritten
            self.extra_queries += ["x.ent.%s" % o]
        if r.random() < 0.3:
            self.addrs(z, "*." + o, "4")      # a wildcard below the DNAME wins over it
            self.extra_queries += ["x.%s" % o]
        if r.random() < 0.5:
            x = "ext.%s" % n
            z.add(x, "DNAME", "moved.%s" % OUTSIDE)   # leaves the served zones
            self.extra_queries += ["h.%s" % x]
            self.pool["dname"].append("h.%s" % x)
        if r.random() < 0.3:
            lp = "dl.%s" % n
            z.add(lp, "DNAME", "x.%s" % lp)           # below itself: loops (names grow)
            self.extra_queries += ["a.%s" % lp]
        if r.random() < 0.3:
            dz = [x for x in self.zones.values() if x.rr and any(k.startswith("d0.") for k in x.rr)]
            if dz:
                tgt = "d0.%s" % r.choice(dz).name
                dd = "dd.%s" % n
                z.add(dd, "DNAME", tgt)                # into a delegation: referral
                self.extra_queries += ["www.%s" % dd]

    def fill_alias(self, z):
        r = self.rng
        n = z.name
        for i in range(r.randint(1, 2)):
            al = "al%d.%s" % (i, n)
            z.add(al, "ALIAS", self.pick("host4", "host6", "host46")[1])
            if r.random() < 0.3:
                z.add(al, "MX", "10 mail." + n)
            self.pool["alias"].append(al)
        if r.random() < 0.2 and not any(t in z.rr[n] for t in ("A", "AAAA")):
            z.add(n, "ALIAS", self.pick("host4", "host46")[1])   # ALIAS at the apex

    def fill_parent_child(self, pz, cz):
        """pz holds names under cz (occluded by the child zone); maybe a delegation too."""
        r = self.rng
        c = cz.name
        if r.random() < 0.5:
            pz.add(c, "NS", "ns1." + c)
            pz.add(c, "NS", "ns.%s" % OUTSIDE)
            pz.add("ns1." + c, "A", self.a())
        self.addrs(pz, "h0." + c, "46")            # the child has its own h0
        self.addrs(pz, "only-parent." + c, "4")    # the child has nothing there
        pz.add("cn." + c, "CNAME", "h1." + pz.name)
        if r.random() < 0.5:
            pz.add("*." + c, "A", self.a())            # the parent's wildcard is not the child's
        if r.random() < 0.5:
            pz.add("old." + c, "DNAME", "h1." + pz.name)  # nor its DNAME
            self.extra_queries.append("x.old.%s" % c)
        pz.notes.append("names below %s are served by the child zone, not by this file" % c)

    def chain(self, cid, length, terminal, prefix="c"):
        """length CNAME links cid-0 -> cid-1 -> ... -> terminal, each in a random zone."""
        names = []
        zones = list(self.zones.values())
        for j in range(length):
            z = self.rng.choice(zones)
            names.append(("%s%d-%d.%s" % (prefix, cid, j, z.name), z))
        for j, (nm, z) in enumerate(names):
            tgt = names[j + 1][0] if j + 1 < len(names) else terminal
            z.add(nm, "CNAME", tgt)
        return names[0][0]

    def build(self, ntop=44, nchild=12, ngrand=3, nmoved=2, nchains=130, nloops=28):
        r = self.rng
        tops = [self.zone("z%02d.test." % i) for i in range(ntop)]
        children = []
        for pz in r.sample(tops, nchild):
            children.append((pz, self.zone("sub.%s" % pz.name)))
        grands = []
        for pz, cz in r.sample(children, ngrand):
            grands.append((cz, self.zone("deep.%s" % cz.name)))
        moved = [self.zone("moved%d.test." % i) for i in range(nmoved)]

        for z in self.zones.values():
            self.fill_basic(z)
        for z in list(self.zones.values()):
            if r.random() < 0.6:
                self.fill_wild(z)
            if r.random() < 0.4:
                self.fill_deleg(z)
        for z in r.sample(tops, 4):
            self.fill_apex_wild(z)
        for i in range(6):
            self.pool["outside"].append("h%d.%s" % (i, OUTSIDE))
        self.pool["outside"] += ["nosuch.test.", "www.example.org."]
        for z in self.zones.values():
            if r.random() < 0.5:
                self.fill_wild_cname(z)
            if r.random() < 0.5:
                self.fill_alias(z)
        dp_targets = []
        for z in r.sample(tops + [c for _, c in children], 22):
            self.fill_dname(z, dp_targets)
        for pz, cz in children + grands:
            self.fill_parent_child(pz, cz)
        # DNAME at a zone apex (beside SOA and NS): names below that exist are served as
        # they are, the others are rewritten (with dname-processing), unless a wildcard.
        for i, mz in enumerate(moved):
            tz = self.rng.choice(tops)
            mz.add(mz.name, "DNAME", tz.name)
            mz.notes.append("DNAME at the apex to %s" % tz.name)
            self.extra_queries += ["h0.%s" % mz.name, "h1.%s" % mz.name, "nx.%s" % mz.name,
                                   "mail.%s" % mz.name, "a.b.%s" % mz.name]
            if i == 1:
                self.addrs(mz, "*." + mz.name, "4")  # the wildcard wins over the apex DNAME
            self.pool["dname"].append("h2.%s" % mz.name)

        # CNAME chains of 1 to 12 links across zones, ending anywhere
        ends = ["host4", "host6", "host46", "host46", "host46", "nodata", "ent", "nx", "outside",
                "outside", "deleg", "wild", "wildcname", "alias", "apex", "dname", "dname"]
        starts = []
        for cid in range(nchains):
            length = r.choice(list(range(1, 13)) + [1, 2, 3, 4, 9, 10, 10, 11])
            kind, t = self.pick(*ends)
            starts.append(self.chain(cid, length, t))
        # some chains start at a wildcard CNAME or run through a DNAME
        for z in r.sample(list(self.zones.values()), 8):
            wc = "wx.%s" % z.name
            z.add("*." + wc, "CNAME", r.choice(starts))
            self.extra_queries.append("x.%s" % wc)
        for tz, new, owner in r.sample(dp_targets, min(8, len(dp_targets))):
            tz.add("cn.%s" % new, "CNAME", r.choice(starts))
            self.extra_queries.append("cn.%s" % owner)
        # CNAME loops of 1 to 6 links across zones
        for cid in range(nloops):
            length = r.choice([1, 1, 2, 2, 3, 4, 5, 6])
            names = []
            for j in range(length):
                z = r.choice(list(self.zones.values()))
                names.append(("lp%d-%d.%s" % (cid, j, z.name), z))
            for j, (nm, z) in enumerate(names):
                z.add(nm, "CNAME", names[(j + 1) % length][0])
        # a few chains enter a loop from outside it
        for cid in range(6):
            self.chain(1000 + cid, r.randint(1, 3), "lp%d-0.%s" % (cid, self.loop_zone(cid)), prefix="c")
        self.check()
        return self

    def loop_zone(self, cid):
        for z in self.zones.values():
            for owner in z.rr:
                if owner.startswith("lp%d-0." % cid):
                    return z.name
        raise KeyError(cid)

    def check(self):
        for z in self.zones.values():
            for owner, types in z.rr.items():
                if "CNAME" in types and len(types) > 1:
                    raise ValueError("CNAME and other data at %s" % owner)
                assert re.match(r"^(([a-z0-9-]+|\*)\.)+$", owner), owner

    # -- queries --
    def queries(self):
        names = []
        seen = set()

        def add(n):
            if n not in seen:
                seen.add(n)
                names.append(n)

        for z in self.zones.values():
            for owner in z.rr:
                if owner.startswith("*."):
                    add("m1." + owner[2:])
                    add("m2.m1." + owner[2:])
                add(owner)
            # empty non-terminals of this file
            for owner in z.rr:
                for anc in ancestors(owner, z.name):
                    if anc not in z.rr:
                        add(anc)
                        add("nx." + anc)
            add("nx-0." + z.name)
            add("a.b.nx-1." + z.name)
            hs = [o for o in z.rr if o.startswith("h") and o.count(".") == z.name.count(".") + 1]
            for h in hs[:2]:
                add("nx." + h)
        for n in self.extra_queries:
            add(n)
        for n in self.pool["outside"] + [".", "test.", "invalid.", OUTSIDE, "x.z00.test.invalid.",
                                          "example.org.", "zz.test."]:
            add(n)
        return names


def cmd_gen(args):
    g = Gen(args.seed).build()
    zdir = os.path.join(args.out, "zones")
    os.makedirs(zdir, exist_ok=True)
    order = sorted(g.zones.values(), key=lambda z: (len(labels(z.name)), z.name))
    owners = 0
    with open(os.path.join(args.out, "zones.txt"), "w") as f:
        for z in order:
            path = os.path.join(zdir, z.name.rstrip(".") + ".zone")
            with open(path, "w") as zf:
                zf.write(z.lines())
            f.write("%s %s\n" % (z.name, path))
            owners += len(z.rr)
    qs = g.queries()
    with open(os.path.join(args.out, "queries.txt"), "w") as f:
        for n in qs:
            for t in FAMILIES:
                f.write("%s %s\n" % (n, t))
    print("oracle gen: seed %d: %d zones, %d owner names, %d records, %d queries"
          % (args.seed, len(g.zones), owners,
             sum(len(v) for z in g.zones.values() for t in z.rr.values() for v in t.values()),
             len(qs) * len(FAMILIES)))
    if len(g.zones) < 50 or owners < 2000:
        print("oracle gen: too small (need 50 zones and 2000 owner names)")
        return 2
    return 0


def read_queries(path):
    out = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if parts:
                out.append((parts[0], parts[1].upper() if len(parts) > 1 else "A"))
    return out


# ------------------------------------------------------------------------ dig + classify --

HEADER_RE = re.compile(r"^;; ->>HEADER<<- opcode: (\S+), status: (\S+), id: \d+")
SECTION_RE = re.compile(r"^;; (QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:")


def split_blocks(text):
    """dig output -> list of reply blocks (each from its ->>HEADER<<- line on)."""
    blocks, cur = [], None
    for line in text.splitlines():
        if HEADER_RE.match(line):
            if cur is not None:
                blocks.append(cur)
            cur = [line]
        elif cur is not None:
            if line.startswith("; <<>> DiG") or line.startswith(";; Got answer"):
                blocks.append(cur)
                cur = None
            else:
                cur.append(line)
    if cur is not None:
        blocks.append(cur)
    return blocks


def parse_block(lines):
    status = None
    secs = {"QUESTION": [], "ANSWER": [], "AUTHORITY": [], "ADDITIONAL": []}
    cur = None
    for line in lines:
        m = HEADER_RE.match(line)
        if m:
            status = m.group(2)
            continue
        m = SECTION_RE.match(line)
        if m:
            cur = m.group(1)
            continue
        if not line.strip():
            cur = None
            continue
        if cur == "QUESTION" and line.startswith(";"):
            secs[cur].append(line[1:].split())
        elif cur and not line.startswith(";"):
            secs[cur].append(line.split(None, 4))
    return status, secs


def block_text(lines):
    keep = []
    skip = False
    for line in lines:
        if line.startswith(";; OPT PSEUDOSECTION"):
            skip = True
            continue
        if skip:
            if line.startswith("; ") and not SECTION_RE.match(line):
                continue
            skip = False
        if re.match(r"^;; (Query time|SERVER|WHEN|MSG SIZE)", line):
            continue
        keep.append(line)
    while keep and not keep[-1].strip():
        keep.pop()
    return "\n".join(keep)


def classify(qtype, status, secs):
    """The brief's classification of a dig answer -> (result, addresses)."""
    if status == "SERVFAIL":
        return "servfail", []
    if status == "REFUSED":
        return "unknown", []
    if status not in ("NOERROR", "NXDOMAIN"):
        return "rcode-" + str(status), []
    ans = [r for r in secs["ANSWER"] if len(r) == 5]
    auth = [r for r in secs["AUTHORITY"] if len(r) == 5]
    addrs = sorted(set(r[4].strip() for r in ans if r[3].upper() == qtype))
    if addrs:
        return "addresses", addrs
    atypes = set(r[3].upper() for r in auth)
    if "NS" in atypes and "SOA" not in atypes:
        return "unknown", []  # referral, possibly after CNAMEs
    # The chain left the served zones: CNAMEs (a DNAME and its synthesised CNAME) and nothing
    # in the authority section. Not "the last record is a CNAME": over UDP pdns shuffles the
    # answer section from its first non-CNAME record on (pdns::shuffle), so after a DNAME the
    # DNAME, its CNAME and the rest of the chain come in random order.
    if not auth and any(r[3].upper() in ("CNAME", "DNAME") for r in ans):
        return "unknown", []
    return "none", []


def run_dig_batch(dig, port, queries, timeout):
    with tempfile.NamedTemporaryFile("w", suffix=".batch", delete=False) as f:
        for n, t in queries:
            f.write("%s %s\n" % (n, t))
        path = f.name
    try:
        p = subprocess.run([dig, "-f", path, "+norec", "+tries=1", "+time=%d" % timeout,
                            "-p", str(port), "@127.0.0.1"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30 + len(queries) * (timeout + 1), check=False)
        text = p.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        text = ""
    finally:
        os.unlink(path)
    got = {}
    qi = 0
    for b in split_blocks(text):
        status, secs = parse_block(b)
        if not secs["QUESTION"]:
            continue
        qn, qt = secs["QUESTION"][0][0].lower(), secs["QUESTION"][0][-1].upper()
        # replies come in query order; a query without one is skipped over
        while qi < len(queries) and (queries[qi][0].lower(), queries[qi][1]) != (qn, qt):
            qi += 1
        if qi < len(queries):
            got[qi] = (status, secs, block_text(b))
            qi += 1
    return [got.get(i) for i in range(len(queries))]


def cmd_dig(args):
    queries = read_queries(args.queries)
    t0 = time.time()
    jobs = max(1, args.jobs)
    chunks = [list(range(i, len(queries), jobs)) for i in range(jobs)]
    results = [None] * len(queries)
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        futs = {ex.submit(run_dig_batch, args.dig, args.port, [queries[i] for i in ch], args.timeout): ch
                for ch in chunks if ch}
        for fut in concurrent.futures.as_completed(futs):
            for i, res in zip(futs[fut], fut.result()):
                results[i] = res
    retried = 0
    for attempt in range(2):
        missing = [i for i, r in enumerate(results) if r is None]
        if not missing:
            break
        retried += len(missing)
        print("oracle dig: no reply in batch to %d queries (asking again): %s%s"
              % (len(missing), ", ".join("%s %s" % queries[i] for i in missing[:8]),
                 " ..." if len(missing) > 8 else ""))
        for i, res in zip(missing, run_dig_batch(args.dig, args.port, [queries[i] for i in missing], args.timeout)):
            results[i] = res
    counts = collections.Counter()
    with open(args.out, "w") as f:
        for (n, t), res in zip(queries, results):
            if res is None:
                obj = {"name": n, "type": t, "result": "no-reply", "addresses": [],
                       "rcode": None, "dig": "(no reply from 127.0.0.1:%d)" % args.port}
            else:
                status, secs, text = res
                result, addrs = classify(t, status, secs)
                obj = {"name": n, "type": t, "result": result, "addresses": addrs,
                       "rcode": status, "dig": text}
            counts[obj["result"]] += 1
            f.write(json.dumps(obj, sort_keys=True) + "\n")
    print("oracle dig: %d queries to 127.0.0.1:%d in %.1fs (%d dig processes, %d asked again): %s"
          % (len(queries), args.port, time.time() - t0, jobs, retried,
             ", ".join("%s=%d" % (k, counts[k]) for k in sorted(counts))))
    return 1 if counts["no-reply"] else 0


# --------------------------------------------------------------------------- compare --

def canon_name(n):
    n = n.lower()
    return n if n.endswith(".") else n + "."


def check_model_obj(obj, qname, qtype):
    """Problems with the shape of one `mxguard resolve --json` object."""
    probs = []
    if not isinstance(obj, dict):
        return ["not a JSON object"]
    if obj.get("name") != canon_name(qname):
        probs.append("name %r, expected %r" % (obj.get("name"), canon_name(qname)))
    if obj.get("type") != qtype:
        probs.append("type %r, expected %r" % (obj.get("type"), qtype))
    if obj.get("result") not in KINDS:
        probs.append("result %r is not one of %s" % (obj.get("result"), "/".join(KINDS)))
    addrs = obj.get("addresses")
    if not isinstance(addrs, list) or not all(isinstance(a, str) for a in addrs):
        probs.append("addresses is not a list of strings")
    else:
        if addrs != sorted(addrs):
            probs.append("addresses not sorted")
        if len(set(addrs)) != len(addrs):
            probs.append("addresses has duplicates")
        if obj.get("result") == "addresses" and not addrs:
            probs.append("result addresses with an empty list")
        if obj.get("result") != "addresses" and addrs:
            probs.append("addresses listed for result %r" % obj.get("result"))
    if not isinstance(obj.get("unknown"), list):
        probs.append("unknown is not a list")
    if not isinstance(obj.get("path"), list):
        probs.append("path is not a list")
    if not isinstance(obj.get("shared"), bool):
        probs.append("shared is not a boolean")
    return probs


def read_jsonl(path):
    out = []
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except ValueError as e:
                out.append({"__bad__": "line %d: %s: %s" % (i, e, line.strip()[:200])})
    return out


def cmd_compare(args):
    queries = read_queries(args.queries)
    model = read_jsonl(args.model)
    pdns = read_jsonl(args.pdns)
    label = args.label
    diffs = []
    if len(model) != len(queries):
        diffs.append("model: %d objects for %d queries" % (len(model), len(queries)))
    if len(pdns) != len(queries):
        diffs.append("pdns: %d objects for %d queries" % (len(pdns), len(queries)))
    counts = collections.Counter()
    ndiff = 0
    for i, (qn, qt) in enumerate(queries):
        p = pdns[i] if i < len(pdns) else {}
        m = model[i] if i < len(model) else {"__bad__": "missing"}
        pres = p.get("result")
        counts[pres] += 1
        probs = [m["__bad__"]] if "__bad__" in m else check_model_obj(m, qn, qt)
        mres = m.get("result") if isinstance(m, dict) else None
        same = (not probs and mres == pres
                and (pres != "addresses" or sorted(m.get("addresses", [])) == p.get("addresses")))
        if same:
            continue
        ndiff += 1
        lines = ["DIFFERENCE %s %s: model %s, pdns %s" % (qn, qt, describe(m), describe(p))]
        if ndiff > args.max_report:
            # past --max-report: one line each, without the dig output
            diffs.append(lines[0] + (" (%s)" % "; ".join(probs) if probs else ""))
            continue
        for pr in probs:
            lines.append("  model object: " + pr)
        if isinstance(m, dict) and m.get("path"):
            lines.append("  model path: " + json.dumps(m.get("path")))
        if isinstance(m, dict) and m.get("unknown"):
            lines.append("  model unknown: " + json.dumps(m.get("unknown")))
        lines.append("  --- dig +norec %s %s (pdns, %s) ---" % (qn, qt, label))
        lines.extend("  " + l for l in (p.get("dig") or "(none)").splitlines())
        diffs.append("\n".join(lines))
    for d in diffs:
        print(d)
    if ndiff > args.max_report:
        print("(the dig output of the %d differences after the first %d is not shown)"
              % (ndiff - args.max_report, args.max_report))
    short = []
    mins = {}
    for spec in args.min:
        k, v = spec.split("=", 1)
        mins[k] = int(v)
    for k, v in mins.items():
        if counts[k] < v:
            short.append("%s=%d < %d" % (k, counts[k], v))
    print("oracle compare [%s]: %d queries, %d differences; pdns answers: %s%s"
          % (label, len(queries), ndiff,
             ", ".join("%s=%d" % (k, counts[k]) for k in KINDS + sorted(set(counts) - set(KINDS))),
             ("; TOO FEW: " + ", ".join(short)) if short else ""))
    return 1 if (ndiff or short or len(model) != len(queries) or len(pdns) != len(queries)) else 0


def describe(o):
    if not isinstance(o, dict) or not o:
        return "(missing)"
    if "__bad__" in o:
        return "(missing)" if o["__bad__"] == "missing" else "(bad JSON)"
    r = o.get("result")
    if r == "addresses":
        return "addresses %s" % " ".join(o.get("addresses") or [])
    return str(r)


def cmd_summary(args):
    pdns = read_jsonl(args.pdns)
    c = collections.Counter(o.get("result") for o in pdns)
    print("pdns answers: " + ", ".join("%s=%d" % (k, c[k]) for k in KINDS + sorted(set(c) - set(KINDS))))
    by = collections.defaultdict(collections.Counter)
    for o in pdns:
        by[shape(o["name"])][o["result"]] += 1
    for s in sorted(by):
        print("  %-12s %s" % (s, ", ".join("%s=%d" % kv for kv in sorted(by[s].items()))))
    return 0


def shape(name):
    first = labels(name)[0] if labels(name) else "."
    m = re.match(r"^([a-z]+)", first)
    return m.group(1) if m else first


# ---------------------------------------------------------- reference model (self-check) --

def parse_zone_file(path):
    """The generator's own files: one record per line, $ORIGIN, $TTL, relative names."""
    origin = None
    recs = []
    with open(path) as f:
        for line in f:
            line = line.split(";", 1)[0].rstrip("\n")
            if not line.strip():
                continue
            parts = line.split()
            if parts[0] == "$ORIGIN":
                origin = parts[1].lower()
                continue
            if parts[0] == "$TTL":
                continue
            owner = parts[0].lower()
            owner = origin if owner == "@" else (owner if owner.endswith(".") else owner + "." + origin)
            rtype = parts[1].upper()
            rdata = " ".join(parts[2:])
            if rtype == "TYPE%d" % ALIAS_TYPE:
                rtype, rdata = "ALIAS", "(alias)"
            recs.append((owner, rtype, rdata))
    return origin, recs


class Model:
    def __init__(self, zone_files, dname):
        self.dname = dname
        self.zones = {}
        for zname, path in zone_files:
            origin, recs = parse_zone_file(path)
            rr = collections.defaultdict(lambda: collections.defaultdict(list))
            for owner, t, d in recs:
                rr[owner][t].append(d)
            exists = set(rr)
            for owner in list(rr):
                exists.update(ancestors(owner, zname))
            self.zones[zname] = (dict(rr), exists)

    def best_zone(self, name):
        n = name
        while True:
            if n in self.zones:
                return n
            if n == ".":
                return None
            n = parent(n)

    def resolve(self, qname, qtype):
        target = qname.lower()
        rc = 0
        while True:
            if rc > 10:
                return "servfail", []
            zn = self.best_zone(target)
            if zn is None:
                return "unknown", []
            rr, exists = self.zones[zn]
            n = target
            while n != zn:
                if "NS" in rr.get(n, {}):
                    return "unknown", []
                n = parent(n)
            if target in exists:
                recs = rr.get(target, {})
                if "CNAME" in recs:
                    target = recs["CNAME"][0].lower()
                    rc += 1
                    continue
                if qtype in recs:
                    return "addresses", sorted(set(recs[qtype]))
                return "none", []
            w = self.wildcard(zn, target)
            if w is not None:
                recs = rr.get(w, {})
                if "CNAME" in recs:
                    target = recs["CNAME"][0].lower()
                    rc += 1
                    continue
                if qtype in recs:
                    return "addresses", sorted(set(recs[qtype]))
                return "none", []
            if self.dname:
                s = target
                synth = None
                while True:
                    if "DNAME" in rr.get(s, {}):
                        prefix = target[: len(target) - len(s)]
                        synth = prefix + rr[s]["DNAME"][0].lower()
                        break
                    if s == zn:
                        break
                    s = parent(s)
                if synth is not None:
                    target = synth
                    rc += 1
                    continue
            return "none", []

    def wildcard(self, zn, target):
        rr, exists = self.zones[zn]
        s = target
        while s != ".":
            s = parent(s)
            w = "*." + s if s != "." else "*."
            if w in exists:  # records, or an ENT (a name below the wildcard's owner)
                return w
            if s == zn or s in exists:
                return None
        return None


def cmd_model(args):
    zfiles = []
    with open(os.path.join(args.dir, "zones.txt")) as f:
        for line in f:
            z, p = line.split()
            zfiles.append((z, p))
    m = Model(zfiles, args.dname_processing == "yes")
    with open(args.out, "w") as f:
        for n, t in read_queries(args.queries):
            res, addrs = m.resolve(n, t)
            f.write(json.dumps({"name": canon_name(n), "type": t, "result": res, "addresses": addrs,
                                "unknown": [], "path": [], "shared": False}) + "\n")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--seed", type=int, required=True)
    g.add_argument("--out", required=True)
    d = sub.add_parser("dig")
    d.add_argument("--port", type=int, required=True)
    d.add_argument("--queries", required=True)
    d.add_argument("--out", required=True)
    d.add_argument("--jobs", type=int, default=4)
    d.add_argument("--timeout", type=int, default=2)
    d.add_argument("--dig", default=os.environ.get("DIG", "dig"))
    c = sub.add_parser("compare")
    c.add_argument("--queries", required=True)
    c.add_argument("--model", required=True)
    c.add_argument("--pdns", required=True)
    c.add_argument("--label", default="")
    c.add_argument("--min", action="append", default=[], metavar="KIND=N")
    c.add_argument("--max-report", type=int, default=100)
    m = sub.add_parser("model")
    m.add_argument("--dir", required=True)
    m.add_argument("--queries", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--dname-processing", choices=["yes", "no"], default="no")
    s = sub.add_parser("summary")
    s.add_argument("--pdns", required=True)
    args = ap.parse_args()
    return {"gen": cmd_gen, "dig": cmd_dig, "compare": cmd_compare, "model": cmd_model,
            "summary": cmd_summary}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
