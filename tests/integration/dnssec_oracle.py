#!/usr/bin/env python3
"""dnssec_oracle.py -- signed zones and queries for test_dnssec_oracle.sh.

gen --seed N --out DIR
    Writes DIR/zones.txt ("zone file chain" per line: chain is nsec, nsec3 or nsec3-optout),
    one master file per zone, and DIR/queries.txt ("name type" per line): every owner name with
    its own types and types it lacks (NODATA), names that do not exist (NXDOMAIN), wildcard
    matches, names at and below delegations (referrals, DS at the cut), empty non-terminals.

compare --queries FILE --port-a P --port-b P [--dig dig]
    Asks both servers every query (dig +dnssec +norec) and compares rcode, flags and the
    answer/authority/additional sections, RRSIG signature bytes aside (RRSIG fields up to the
    signer name are compared). Prints the differences; exit 1 when there is one.
"""
import argparse
import concurrent.futures
import os
import random
import subprocess
import sys

WORDS = ["www", "mail", "shop", "api", "dev", "blog", "cdn", "img", "vpn", "git", "ftp", "docs",
         "test", "app", "m", "static", "beta", "web1", "web2", "db", "_sip._tcp", "_dmarc"]


def gen_zone(rng, zone, chain, mx_at_apex=False):
    """Lines of one zone and the names worth asking about."""
    lines = [f"$ORIGIN {zone}", "$TTL 3600",
             "@ IN SOA ns1.example.net. hostmaster.example.net. 2024010101 7200 3600 1209600 300",
             "@ IN NS ns1.example.net.", "@ IN NS ns2.example.net.",
             "@ IN MX 10 @" if mx_at_apex else "@ IN MX 10 mail",
             "@ IN A 192.0.2.1", '@ IN TXT "v=spf1 mx -all"', "mail IN A 192.0.2.25",
             "mail IN AAAA 2001:db8::25"]
    names = {zone: {"SOA", "NS", "MX", "A", "TXT"}, f"mail.{zone}": {"A", "AAAA"}}
    for w in rng.sample(WORDS, rng.randint(6, 12)):
        t = rng.choice(["A", "AAAA", "TXT", "MX", "CNAME", "SRV"])
        if w.startswith("_") and t != "TXT":
            t = "SRV"
        content = {"A": f"192.0.2.{rng.randint(2, 250)}",
                   "AAAA": f"2001:db8::{rng.randint(1, 9999):x}",
                   "TXT": f'"w {rng.randint(1, 1000)}"', "MX": f"{rng.randint(1, 50)} mail",
                   "CNAME": "mail", "SRV": f"10 5 {rng.randint(1, 9999)} mail"}[t]
        lines.append(f"{w} IN {t} {content}")
        names.setdefault(f"{w}.{zone}", set()).add(t)
    # empty non-terminals: deep names
    for _ in range(rng.randint(1, 3)):
        deep = ".".join(rng.sample(["a", "b", "c", "d", "x", "y"], 3))
        lines.append(f"{deep} IN TXT \"deep\"")
        names.setdefault(f"{deep}.{zone}", set()).add("TXT")
    # a wildcard with an address and a TXT, one deeper
    lines += ["*.wild IN A 192.0.2.99", '*.wild IN TXT "wild"', "*.deep.wild IN MX 10 mail"]
    names[f"*.wild.{zone}"] = {"A", "TXT"}
    # a signed delegation (DS and glue), an insecure one, one with occluded data
    ds = f"{rng.randint(1, 65535)} 13 2 " + "".join(rng.choice("0123456789abcdef")
                                                     for _ in range(64))
    lines += ["secure IN NS ns.secure", "ns.secure IN A 192.0.2.53", f"secure IN DS {ds}",
              "insecure IN NS ns.other.example.net.", "glued IN NS ns.glued",
              "ns.glued IN A 192.0.2.54", "ns.glued IN AAAA 2001:db8::54",
              'hidden.glued IN TXT "occluded"']
    names[f"secure.{zone}"] = {"NS", "DS"}
    names[f"insecure.{zone}"] = {"NS"}
    names[f"glued.{zone}"] = {"NS"}
    return lines, names


def queries_for(rng, zone, names):
    qs = []
    for n, types in sorted(names.items()):
        if n.startswith("*."):
            base = n[2:]
            qs += [(f"match.{base}", "A"), (f"match.{base}", "TXT"), (f"match.{base}", "MX"),
                   (f"two.levels.{base}", "A"), (n, "A")]
            continue
        for t in sorted(types):
            qs.append((n, t))
        for t in rng.sample(["A", "AAAA", "MX", "TXT", "NS", "SRV", "CAA", "DS"], 2):
            if t not in types:
                qs.append((n, t))
        # a name next to it that does not exist, and one below it
        label = n.split(".")[0]
        qs.append((f"{label}x.{zone}" if n != zone else f"nonexistent.{zone}", "A"))
        if n != zone:
            qs.append((f"below.{n}", "A"))
    # empty non-terminals and names below the delegations
    for n in list(names):
        parts = n[: -len(zone)].rstrip(".").split(".")
        for i in range(1, len(parts)):
            qs.append((".".join(parts[i:]) + "." + zone, "A"))
    qs += [(f"ns.secure.{zone}", "A"), (f"x.insecure.{zone}", "A"), (f"hidden.glued.{zone}", "TXT"),
           (f"secure.{zone}", "A"), (f"insecure.{zone}", "DS"), (f"glued.{zone}", "DS"),
           (zone, "DNSKEY"), (zone, "NSEC3PARAM"), (f"deep.wild.{zone}", "MX"),
           (f"a.deep.wild.{zone}", "MX")]
    return qs


def cmd_gen(args):
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    chains = ["nsec", "nsec3", "nsec3-optout"]
    all_q = []
    with open(os.path.join(args.out, "zones.txt"), "w") as zl:
        for i in range(args.zones):
            zone = f"z{i:02d}.sig.test."
            chain = chains[i % 3]
            lines, names = gen_zone(rng, zone, chain, mx_at_apex=i % 4 == 3)
            path = os.path.join(args.out, f"{zone}zone")
            with open(path, "w") as f:
                f.write("\n".join(lines) + "\n")
            zl.write(f"{zone} {path} {chain}\n")
            all_q += queries_for(rng, zone, names)
    seen, out = set(), []
    for q in all_q:
        if q not in seen:
            seen.add(q)
            out.append(q)
    with open(os.path.join(args.out, "queries.txt"), "w") as f:
        for n, t in out:
            f.write(f"{n} {t}\n")
    print(f"{args.zones} zones, {len(out)} queries")


DIG_OPTS = ["+dnssec", "+norec", "+noall", "+cmd", "+comments", "+answer", "+authority",
            "+additional", "+nocookie", "+time=5", "+tries=2"]


def parse(text):
    status, flags, sections, cur = "?", "", {}, None
    for line in text.splitlines():
        if "->>HEADER<<-" in line:
            status = line.split("status:")[1].split(",")[0].strip()
        elif line.startswith(";; flags:"):
            flags = " ".join(sorted(line.split(";")[2].split(":")[1].split()))
        elif line.startswith(";; ") and "SECTION:" in line:
            cur = line.split()[1]
            sections[cur] = []
        elif line and not line.startswith(";") and cur:
            f = line.split()
            if len(f) >= 4 and f[3] == "RRSIG":
                f = f[:12]  # owner ttl class RRSIG covered alg labels ttl exp inc tag signer
            elif len(f) >= 4 and f[3] == "OPT":
                continue
            sections[cur].append(" ".join(f).lower())
    return status, flags, {k: sorted(v) for k, v in sections.items() if k != "OPT"}


def dig(digcmd, port, name, qtype):
    r = subprocess.run([digcmd, "@127.0.0.1", "-p", str(port)] + DIG_OPTS + [name, qtype],
                       capture_output=True, text=True, timeout=30)
    return parse(r.stdout)


def dig_batch(digcmd, port, qs):
    """The answers to many queries through one `dig -f`; a query whose block is missing or
    has no header is asked again alone."""
    # The options on the command line hold for every line (a batch line takes a few words only).
    lines = ["%s %s" % q for q in qs]
    r = subprocess.run([digcmd, "@127.0.0.1", "-p", str(port)] + DIG_OPTS + ["-f", "-"],
                       input="\n".join(lines) + "\n",
                       capture_output=True, text=True, timeout=30 * len(qs))
    blocks = []
    for line in r.stdout.splitlines(keepends=True):
        if line.startswith("; <<>> DiG "):
            blocks.append([])
        if blocks:
            blocks[-1].append(line)
    out = []
    for i, (n, t) in enumerate(qs):
        res = parse("".join(blocks[i])) if len(blocks) == len(qs) else None
        out.append(res if res and res[0] != "?" else dig(digcmd, port, n, t))
    return out


def cmd_compare(args):
    qs = [line.split() for line in open(args.queries) if line.strip()]
    diffs, kinds = [], {}

    def some(chunk):
        a = dig_batch(args.dig, args.port_a, chunk)
        b = dig_batch(args.dig, args.port_b, chunk)
        return zip(chunk, a, b)

    size = max(1, min(60, -(-len(qs) // 8)))
    chunks = [[tuple(q[:2]) for q in qs[i:i + size]] for i in range(0, len(qs), size)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as ex:
        for q, a, b in (t for part in ex.map(some, chunks) for t in part):
            kinds[a[0]] = kinds.get(a[0], 0) + 1
            if a != b:
                diffs.append((q, a, b))
    print(f"{len(qs)} queries; rcodes: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    for q, a, b in diffs[:20]:
        print(f"DIFF {q[0]} {q[1]}")
        print(f"  a: {a}")
        print(f"  b: {b}")
    print(f"{len(diffs)} differences")
    return 1 if diffs else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--zones", type=int, default=12)
    g.add_argument("--out", required=True)
    c = sub.add_parser("compare")
    c.add_argument("--queries", required=True)
    c.add_argument("--port-a", type=int, required=True)
    c.add_argument("--port-b", type=int, required=True)
    c.add_argument("--dig", default="dig")
    args = ap.parse_args()
    if args.cmd == "gen":
        cmd_gen(args)
        return 0
    return cmd_compare(args)


if __name__ == "__main__":
    sys.exit(main())
