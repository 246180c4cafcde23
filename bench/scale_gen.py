#!/usr/bin/env python3
"""A hosting-scale dataset for bench/run.sh (BENCH_DATASET=scale), reproducible from a seed.

    python3 bench/scale_gen.py --out DIR [--seed 1] [--zones 2001] [--queries 1000000]

Writes into DIR:
  zones/NAME.zone   one RFC 1035 file per zone (pdns's bind backend reads them)
  named.conf        the zones for pdns's bind backend
  gsqlite3.sql      the same zones as rows of pdns's gsqlite3 schema (domains, records, the MX
                    and SRV priority in its column), one transaction
  records.tsv       the same records for bench/floor_backend (name, type, ttl, content; each
                    zone's SOA first)
  queries.txt       the query stream for dnsperf: "name type" a line
  summary.txt       zones, records, names, the type mix and the stream's shares

The zones are customers of a web host: c00000.hosting.test ... Sizes are long-tailed (most
zones hold a site and its mail, a few hold thousands of hosts), the record mix is web
hosting's: SOA, NS (the provider's name servers, outside the zones), apex A/AAAA, www as CNAME
or A, mail host and MX, SPF/DKIM/verification TXT, CNAMEs to a CDN, SRV for SIP and XMPP, and
numbered hosts. The stream is Zipf-like: zone popularity follows rank^-1, and within a zone the
apex, www and mail are asked most; A most, then AAAA, MX, TXT, CNAME and SRV names; a share of
names that do not exist (NXDOMAIN) and every name in random mixed case.
"""
import argparse
import bisect
import os
import random


def zipf_cdf(n, s):
    acc, out = 0.0, []
    for k in range(1, n + 1):
        acc += 1.0 / k**s
        out.append(acc)
    return [x / acc for x in out]


def pick(cdf, r):
    return min(bisect.bisect_left(cdf, r.random()), len(cdf) - 1)


def mixed_case(name, r):
    return "".join(c.upper() if c.isalpha() and r.random() < 0.5 else c for c in name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--zones", type=int, default=2001)
    ap.add_argument("--queries", type=int, default=1000000)
    ap.add_argument("--nxdomain", type=float, default=0.05, help="share of NXDOMAIN queries")
    a = ap.parse_args()
    r = random.Random(a.seed)
    os.makedirs(os.path.join(a.out, "zones"), exist_ok=True)

    zones = []  # (name, [(owner, type, ttl, content, prio)])
    for i in range(a.zones):
        z = "c%05d.hosting.test" % i
        recs = []

        def add(owner, typ, content, ttl=3600, prio=0):
            recs.append((owner, typ, ttl, content, prio))

        add(z, "SOA", "ns1.provider.test. hostmaster.provider.test. %d 10800 3600 604800 3600"
            % (2024010100 + r.randrange(100)))
        add(z, "NS", "ns1.provider.test.")
        add(z, "NS", "ns2.provider.test.")
        net = "10.%d.%d" % (i >> 8 & 255, i & 255)
        add(z, "A", "%s.1" % net, 300)
        if r.random() < 0.4:
            add(z, "AAAA", "2001:db8:%x::1" % i, 300)
        if r.random() < 0.5:
            add("www." + z, "CNAME", z + ".")
        else:
            add("www." + z, "A", "%s.1" % net, 300)
        add("mail." + z, "A", "%s.25" % net)
        add(z, "MX", "mail.%s." % z, prio=10)
        if r.random() < 0.3:
            add(z, "MX", "mx2.provider.test.", prio=20)
        add(z, "TXT", '"v=spf1 a mx ip4:%s.0/24 -all"' % net)
        if r.random() < 0.5:
            add("default._domainkey." + z, "TXT",
                '"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC%08x"' % r.getrandbits(32))
        if r.random() < 0.3:
            add(z, "TXT", '"google-site-verification=%016x"' % r.getrandbits(64))
        if r.random() < 0.3:
            add("cdn." + z, "CNAME", "c%d.cdn-provider.test." % r.randrange(1000))
        if r.random() < 0.15:
            add("_sip._tcp." + z, "SRV", "0 5060 sip.%s." % z, prio=10)
            add("sip." + z, "A", "%s.50" % net)
        if r.random() < 0.1:
            add("_xmpp-server._tcp." + z, "SRV", "5 5269 xmpp.%s." % z, prio=5)
            add("xmpp." + z, "A", "%s.52" % net)
        # The long tail: a few zones hold thousands of hosts.
        extra = min(9000, int(r.paretovariate(1.1) * 8) - 8)
        for h in range(max(0, extra)):
            t = r.random()
            o = "h%d.%s" % (h, z)
            if t < 0.55 or (t < 0.85 and h == 0):
                add(o, "A", "%s.%d" % ("10.%d.%d" % (128 + (i >> 8 & 127), h >> 8 & 255), h & 255))
            elif t < 0.7:
                add(o, "AAAA", "2001:db8:%x::%x" % (i, h))
            elif t < 0.85 and h > 0:
                add(o, "CNAME", "h%d.%s." % (r.randrange(h), z))  # an earlier host: no loop
            else:
                add(o, "TXT", '"host %d of %s"' % (h, z))
        zones.append((z, recs))

    nrec = sum(len(rs) for _, rs in zones)
    names = sorted({o for _, rs in zones for o, *_ in rs})

    # zone files and named.conf
    with open(os.path.join(a.out, "named.conf"), "w") as nc:
        nc.write('options { directory "%s"; };\n' % os.path.abspath(os.path.join(a.out, "zones")))
        for z, recs in zones:
            with open(os.path.join(a.out, "zones", z + ".zone"), "w") as f:
                for o, t, ttl, c, prio in recs:
                    content = ("%d %s" % (prio, c)) if t in ("MX", "SRV") else c
                    f.write("%s. %d IN %s %s\n" % (o, ttl, t, content))
            nc.write('zone "%s" { type master; file "%s.zone"; };\n' % (z, z))

    # gsqlite3 rows: content without the final dots, the priority in its column
    def q(s):
        return "'" + s.replace("'", "''") + "'"

    with open(os.path.join(a.out, "gsqlite3.sql"), "w") as f:
        f.write("BEGIN;\n")
        for d, (z, recs) in enumerate(zones, 1):
            f.write("INSERT INTO domains (id, name, type) VALUES (%d, %s, 'NATIVE');\n" % (d, q(z)))
            for o, t, ttl, c, prio in recs:
                if t in ("SOA", "NS", "CNAME", "MX", "SRV"):
                    c = " ".join(w[:-1] if w.endswith(".") and not w.startswith('"') else w
                                 for w in c.split(" "))
                f.write("INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled,"
                        " auth) VALUES (%d, %s, %s, %s, %d, %d, 0, 1);\n"
                        % (d, q(o), q(t), q(c), ttl, prio))
        f.write("COMMIT;\n")

    # the floor's records, in pdns's text form (priority first, absolute names)
    with open(os.path.join(a.out, "records.tsv"), "w") as f:
        for z, recs in zones:
            for o, t, ttl, c, prio in recs:
                content = ("%d %s" % (prio, c)) if t in ("MX", "SRV") else c
                f.write("%s.\t%s\t%d\t%s\n" % (o, t, ttl, content))

    # the query stream
    zcdf = zipf_cdf(len(zones), 1.0)
    order = list(range(len(zones)))
    r.shuffle(order)  # popularity does not follow the zone numbers
    by_zone = []
    for z, recs in zones:
        owners = {}
        for o, t, *_ in recs:
            owners.setdefault(o, set()).add(t)
        # the apex, www and mail first, then the rest: rank^-1.2 within the zone
        keys = sorted(owners, key=lambda o: (0 if o == z else 1 if o.startswith(("www.", "mail."))
                                             else 2, o))
        by_zone.append((z, keys, owners, zipf_cdf(len(keys), 1.2)))
    qtypes = ["A"] * 60 + ["AAAA"] * 20 + ["MX"] * 7 + ["TXT"] * 6 + ["CNAME"] * 3 + ["SRV"] * 2 \
        + ["NS"] * 1 + ["SOA"] * 1
    nx = 0
    with open(os.path.join(a.out, "queries.txt"), "w") as f:
        for _ in range(a.queries):
            z, keys, owners, cdf = by_zone[order[pick(zcdf, r)]]
            if r.random() < a.nxdomain:
                name, t = "nx%d.%s" % (r.getrandbits(24), z), r.choice(["A", "AAAA", "MX"])
                nx += 1
            else:
                name = keys[pick(cdf, r)]
                t = r.choice(qtypes)
                if "CNAME" in owners[name] and t not in ("CNAME",):
                    t = r.choice(["A", "AAAA"])
            f.write("%s %s\n" % (mixed_case(name, r), t))

    mix = {}
    for _, rs in zones:
        for _, t, *_ in rs:
            mix[t] = mix.get(t, 0) + 1
    sizes = sorted(len(rs) for _, rs in zones)
    with open(os.path.join(a.out, "summary.txt"), "w") as f:
        f.write("seed %d: %d zones, %d records, %d names\n" % (a.seed, len(zones), nrec, len(names)))
        f.write("zone sizes: median %d, p99 %d, max %d\n"
                % (sizes[len(sizes) // 2], sizes[int(len(sizes) * 0.99)], sizes[-1]))
        f.write("types: %s\n" % ", ".join("%s %d" % kv for kv in sorted(mix.items(),
                                                                          key=lambda kv: -kv[1])))
        f.write("queries: %d, NXDOMAIN %.1f%%, mixed case\n" % (a.queries, 100.0 * nx / a.queries))
    print(open(os.path.join(a.out, "summary.txt")).read(), end="")


if __name__ == "__main__":
    main()
