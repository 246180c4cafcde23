#!/usr/bin/env python3
"""Commit cost against zone size, and lookups during commits (run by hand).

    python3 bench/commit_cost.py [--mxguard build/mxguard] [--sizes 10,100000] [--commits 200]
                                 [--shaped] [--change txt|mail|new]

For each zone size it imports a zone of N A records into a fresh store, starts `mxguard serve`,
and over the backend socket (as pdns's API would, minus its rectify `list`) runs COMMITS
transactions: startTransaction, replaceRRSet of one TXT record, commitTransaction. It reports
the median and p99 commit time (start to commit reply). Meanwhile a second connection sends
lookups in a loop; their median, p99 and max latency show whether lookups keep flowing while
commits run. Everything on unix sockets in a temporary directory; the daemon is stopped by PID.

--shaped fills the zone the way the guard's resolution model finds hardest: a wildcard
(`* A`), a wildcard CNAME subtree (`*.w CNAME @`), 100 CNAME chains of 10 links ending at the
apex, and 1,000 referrers of the apex (`rN CNAME @`) -- in the large zone; the small zone gets one
of each. --change picks the one-record change each commit makes: `txt` (a TXT RRset at k), `mail`
(the dedicated mail host's A, alternating between two addresses: judged, mail-host-changed) or
`new` (an A at a new name each time: it can block the wildcard below it, so the guard looks for
mail targets under it).
"""
import argparse, json, os, shutil, socket, statistics, subprocess, sys, tempfile, threading, time


def conn(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    f = s.makefile("rwb")
    def call(method, params):
        f.write((json.dumps({"method": method, "parameters": params}) + "\n").encode())
        f.flush()
        return json.loads(f.readline())
    call("initialize", {})
    return s, call


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def shaped_lines(n):
    """The shaped zone's extra records and how many they are."""
    big = n >= 1000
    chains, links, refs = (100, 10, 1000) if big else (1, 2, 1)
    out = ["* A 192.0.2.99", "*.w CNAME @"]
    for c in range(chains):
        for l in range(links):
            out.append("c%d-%d CNAME %s" % (c, l, "c%d-%d" % (c, l + 1) if l + 1 < links else "@"))
    for r in range(refs):
        out.append("r%d CNAME @" % r)
    return out


def run(mxguard, n, commits, work, shaped=False, change="txt"):
    d = os.path.join(work, str(n))
    os.makedirs(d)
    zone = os.path.join(d, "zone")
    with open(zone, "w") as f:
        f.write("$ORIGIN big.example.\n$TTL 3600\n")
        f.write("@ SOA ns1 hostmaster 1 3600 600 604800 300\n@ NS ns1\n@ A 192.0.2.1\n")
        f.write("@ MX 10 mail\nmail A 192.0.2.25\n")
        extra = shaped_lines(n) if shaped else []
        for line in extra:
            f.write(line + "\n")
        for i in range(max(0, n - len(extra))):
            f.write("h%d A 10.%d.%d.%d\n" % (i, i // 65536 % 256, i // 256 % 256, i % 256))
    conf = os.path.join(d, "mxguard.conf")
    with open(conf, "w") as f:
        f.write("backend-socket=%s/b.sock\ncontrol-socket=%s/c.sock\n" % (d, d))
        f.write("store=sqlite:%s/s.sqlite3\nlog-level=warning\nmode=reject\n" % d)
    subprocess.run([mxguard, "import", "--zone", "big.example", zone, "--config", conf],
                   check=True, stdout=subprocess.DEVNULL)
    p = subprocess.Popen([mxguard, "serve", "--config", conf], stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(d + "/b.sock"):
                break
            time.sleep(0.05)
        _, w = conn(d + "/b.sock")
        _, r = conn(d + "/b.sock")
        zid = w("getDomainInfo", {"name": "big.example."})["result"]["id"]
        stop = threading.Event()
        lat = []
        def reader():
            i = 0
            while not stop.is_set():
                t = time.perf_counter()
                r("lookup", {"qtype": "ANY", "qname": "h%d.big.example." % (i % max(n, 1)),
                             "zone-id": zid, "remote": "127.0.0.1", "local": "127.0.0.1",
                             "real-remote": "127.0.0.1/32"})
                lat.append(time.perf_counter() - t)
                i += 1
        th = threading.Thread(target=reader)
        th.start()
        times = []
        for i in range(commits):
            t = time.perf_counter()
            w("startTransaction", {"domain": "big.example.", "domain_id": -1, "trxid": i})
            if change == "mail":
                name, qtype, content = "mail.big.example.", "A", "192.0.2.%d" % (25 + i % 2)
            elif change == "new":
                name, qtype, content = "n%d.big.example." % i, "A", "198.51.100.7"
            else:
                name, qtype, content = "k.big.example.", "TXT", "\"v%d\"" % i
            w("replaceRRSet", {"domain_id": zid, "qname": name, "qtype": qtype,
                               "trxid": i, "rrset": [{"qtype": qtype, "qname": name,
                                                      "qclass": 1, "content": content,
                                                      "ttl": 60, "auth": True}]})
            rep = w("commitTransaction", {"trxid": i})
            times.append(time.perf_counter() - t)
            if rep.get("result") is not True:
                sys.exit("commit %d failed: %s" % (i, rep))
        stop.set()
        th.join()
        return times, lat
    finally:
        p.terminate()
        p.wait(10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mxguard", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                      "mxguard"))
    ap.add_argument("--sizes", default="10,100000")
    ap.add_argument("--commits", type=int, default=200)
    ap.add_argument("--shaped", action="store_true")
    ap.add_argument("--change", choices=("txt", "mail", "new"), default="txt")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="mxg-commit.")
    try:
        print("%-9s %-12s %-12s %-14s %-14s %-14s" % ("records", "commit p50", "commit p99",
                                                      "lookup p50", "lookup p99", "lookup max"))
        base = None
        for n in [int(x) for x in a.sizes.split(",")]:
            times, lat = run(a.mxguard, n, a.commits, work, a.shaped, a.change)
            c50 = statistics.median(times) * 1e3
            base = base or c50
            print("%-9d %-12s %-12s %-14s %-14s %-14s" % (
                n, "%.2f ms" % c50, "%.2f ms" % (pct(times, 0.99) * 1e3),
                "%.0f us" % (statistics.median(lat) * 1e6), "%.0f us" % (pct(lat, 0.99) * 1e6),
                "%.1f ms" % (max(lat) * 1e3)))
        print("commit p50 ratio, largest/smallest zone: %.2f" % (c50 / base))
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
