#!/usr/bin/env python3
"""Commit latency and cross-node staleness for bench/fleet.sh (standard library only).

    fleet_probe.py commits --api NAME=PORT [--api NAME=PORT]... [--rounds R] [--per-round N]
    fleet_probe.py staleness --api PORT --watch NAME=DNSPORT [--watch NAME=DNSPORT]... [--n N]

commits: PATCHes through each pdns HTTP API in turn (one keep-alive connection each; the APIs
take turns every round of N PATCHes so that drift on the machine hits all alike). Each PATCH
replaces the TXT RRset of one name with a new value. Prints per API: count, p50, p90, p99 and
max of the time from sending the PATCH to its 204, in milliseconds.

staleness: N times, PATCHes a new TXT value through --api and then asks every --watch server
for that TXT over UDP, round-robin and as fast as each answers, until each has answered with
the new value. The time from the PATCH's 204 to a server's first answer holding the value is
that server's staleness for the change; it includes the round trip of the query that saw it.
Prints per server: p50, p90, p99 and max in milliseconds, and how many changes the server
answered at the first query asked after the 204.
"""
import argparse
import http.client
import json
import random
import socket
import struct
import sys
import time

ZONE = "example.com."


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def summary(v):
    return "n=%d p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f" % (
        len(v), pct(v, 0.5) * 1e3, pct(v, 0.9) * 1e3, pct(v, 0.99) * 1e3, max(v) * 1e3)


class Api:
    def __init__(self, port):
        self.port = port
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def patch_txt(self, name, value):
        body = json.dumps({"rrsets": [{
            "name": name, "type": "TXT", "ttl": 60, "changetype": "REPLACE",
            "records": [{"content": '"%s"' % value, "disabled": False}]}]})
        t0 = time.perf_counter()
        self.c.request("PATCH", "/api/v1/servers/localhost/zones/" + ZONE, body=body,
                       headers={"X-API-Key": "secret", "Content-Type": "application/json"})
        r = self.c.getresponse()
        r.read()
        t1 = time.perf_counter()
        if r.status != 204:
            sys.exit("PATCH on port %d: HTTP %d" % (self.port, r.status))
        return t0, t1


def named(specs):
    out = []
    for s in specs:
        name, _, port = s.partition("=")
        out.append((name, int(port)))
    return out


def cmd_commits(args):
    apis = [(name, Api(port)) for name, port in named(args.api)]
    times = {name: [] for name, _ in apis}
    token = "%x" % random.getrandbits(32)
    for r in range(args.rounds):
        order = apis if r % 2 == 0 else list(reversed(apis))
        for name, api in order:
            for i in range(args.per_round):
                t0, t1 = api.patch_txt("commit-%d.%s" % (i % 8, ZONE), "%s-%d-%d" % (token, r, i))
                times[name].append(t1 - t0)
    for name, _ in apis:
        print("commits %s %s" % (name, summary(times[name])))


def dns_query(qid, name):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", 16, 1)


def cmd_staleness(args):
    api = Api(args.api)
    watch = named(args.watch)
    socks = []
    for _, port in watch:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("127.0.0.1", port))
        s.settimeout(2)
        socks.append(s)
    stale = {name: [] for name, _ in watch}
    first = {name: 0 for name, _ in watch}
    polls = 0
    token = "%x" % random.getrandbits(32)
    for i in range(args.n):
        name = "stale-%d.%s" % (i % 8, ZONE)
        value = ("%s-%06d" % (token, i)).encode()
        _, acked = api.patch_txt(name, value.decode())
        pending = set(range(len(watch)))
        asked = [0] * len(watch)
        qid = 0
        deadline = time.perf_counter() + 10
        while pending:
            for k in sorted(pending):
                qid = (qid + 1) & 0xFFFF
                socks[k].send(dns_query(qid, name))
                while True:
                    reply = socks[k].recv(4096)
                    if reply[:2] == struct.pack(">H", qid):
                        break
                polls += 1
                asked[k] += 1
                if value in reply:
                    stale[watch[k][0]].append(time.perf_counter() - acked)
                    first[watch[k][0]] += asked[k] == 1
                    pending.discard(k)
            if time.perf_counter() > deadline:
                sys.exit("change %d not answered within 10 s by %s"
                         % (i, ", ".join(watch[k][0] for k in pending)))
    for name, _ in watch:
        print("staleness %s %s fresh_at_first_query=%d" % (name, summary(stale[name]), first[name]))
    print("staleness polls=%d" % polls)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("commits")
    c.add_argument("--api", action="append", required=True, metavar="NAME=PORT")
    c.add_argument("--rounds", type=int, default=6)
    c.add_argument("--per-round", type=int, default=50)
    s = sub.add_parser("staleness")
    s.add_argument("--api", type=int, required=True)
    s.add_argument("--watch", action="append", required=True, metavar="NAME=DNSPORT")
    s.add_argument("--n", type=int, default=300)
    args = ap.parse_args()
    return {"commits": cmd_commits, "staleness": cmd_staleness}[args.cmd](args) or 0


if __name__ == "__main__":
    sys.exit(main())
