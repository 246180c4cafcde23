#!/usr/bin/env python3
"""What the HTTP API front costs: PATCH latency through it, and lookups while it is busy.

    python3 bench/front_latency.py                   # both parts, about 2 minutes
    python3 bench/front_latency.py --skip-lookups    # part 1 only, about 30 s
    options (defaults): --mxguard build/mxguard (or $MXGUARD), --rounds 20, --batch 20,
    --lc-rounds 6, --lc-duration 4, --load-threads 8, --load-rate 200, --keepalive, --keep

One mxguard (mode=reject, the front on 127.0.0.1:8106) and one pdns_server on it (DNS
127.0.0.1:5390, its API on 127.0.0.1:8105, caches off, default-api-rectify=no), both on
bench/zones/example.com.zone, both started here and stopped by PID on exit. The mxguard binary
is copied into a temporary work dir first, so a rebuild during the run changes nothing.

Part 1, PATCH latency. In each of ROUNDS rounds, BATCH PATCHes through the front and BATCH
straight to pdns's API, the side that goes first alternating from round to round. Each PATCH
REPLACEs blog.example.com's A, alternating between two addresses: a non-apex name that no mail
domain reaches, so the guard allows it (204). One HTTP connection per request, as a panel that
does not keep connections open (--keepalive: one connection per side, kept). Also per round:
BATCH GETs of the zone on each side (the forwarding alone), BATCH `check` ops on mxguard's
control socket with the body the front sends (the guard's own time, as the front pays it) and
BATCH POST /api/v1/mxguard/check through the front. Reported: p50, p99 and mean of each, the
ratio front/direct, the CPU time mxguard and pdns spent per PATCH on each side
(/proc/PID/stat), and whether front p50 <= 1.1 x direct p50 + check p50 (over all PATCHes,
and round by round with that round's p50s).

Part 2, lookups while the front is busy. bench/lookup_client (built here with gcc) sends
lookups on mxguard's backend socket (4 connections, one request in flight each, as pdns's
backend threads do; the mix is bench/queries.txt as qtype ANY lookups with the zone's id) for
LC_DURATION seconds after 1 s of warm-up, under three conditions, the order rotating over
LC_ROUNDS rounds:
  idle    nothing else runs;
  front   LOAD_THREADS threads send GET of the zone and PATCH of a record of their own
          (load<N>.example.com A, allowed), alternately, through the front;
  direct  the same stream straight to pdns's API: what the same work costs without the front.
--load-rate paces the stream at that many requests/s in total (0: as fast as the threads go);
a side that cannot keep up sends fewer, and the table says how many it reached. Reported per
condition: medians of lookups/s, lookup p50/p99, the reply cache's hit share (the `stats` op),
mxguard's CPU (share of one core, /proc/PID/stat), the stream's requests/s and p50; and the
ratios front/idle, front/direct and direct/idle, as ratios of the medians and as medians of
the per-round ratios. Every PATCH commits through mxguard and empties its reply cache, and the
stream's client, pdns and mxguard share the machine's CPUs with lookup_client, so any write
stream costs lookups something whatever path it takes: front/direct is the front's own share.

Ports: DNS 5390, pdns API 8105, front 8106 (--dns-port, --api-port, --front-port); everything
on 127.0.0.1 or on unix sockets in the work dir. Results are printed and written to --out
(default /tmp/mxguard-front-<timestamp>.txt). docs/performance.md ("The HTTP API front") has
the latest results. Needs pdns_server with the remote backend, gcc, python3 (stdlib only).
"""
import argparse
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
ZONE = "example.com"
ZONEFILE = os.path.join(BENCH, "zones", "example.com.zone")
QUERIES = os.path.join(BENCH, "queries.txt")
PANEL_KEY = "bench-panel-key"
PDNS_KEY = "bench-pdns-key"
ZPATH = "/api/v1/servers/localhost/zones/example.com."
CLK_TCK = os.sysconf("SC_CLK_TCK")

PROCS = []  # (name, Popen), stopped in reverse order on exit


def log(msg):
    print("[front-bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def die(msg):
    log("FATAL: " + msg)
    sys.exit(1)


def spawn(name, argv, logpath):
    f = open(logpath, "ab")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
    f.close()
    PROCS.append((name, p))
    log("started %s pid %d" % (name, p.pid))
    return p


def stop(p):
    if p.poll() is None:
        os.kill(p.pid, signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            log("pid %d ignored TERM, sending KILL" % p.pid)
            os.kill(p.pid, signal.SIGKILL)
            p.wait()


def stop_all():
    while PROCS:
        _, p = PROCS.pop()
        stop(p)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")


def rr_body(name, content):
    return json.dumps({"rrsets": [{"name": name, "type": "A", "ttl": 3600, "changetype": "REPLACE",
                                   "records": [{"content": content, "disabled": False}]}]})


# ---- HTTP ----------------------------------------------------------------------------------

class Http:
    """Requests to one port; a new connection per request unless keepalive."""

    def __init__(self, port, key, keepalive=False):
        self.port, self.key, self.keepalive, self.conn = port, key, keepalive, None

    def request(self, method, path, body=None):
        """(status, body bytes, seconds from before connecting to the last byte read)."""
        hdr = {"X-API-Key": self.key, "Accept": "application/json"}
        if body is not None:
            hdr["Content-Type"] = "application/json"
        for attempt in (0, 1):
            t = time.perf_counter()
            c = self.conn if self.keepalive and self.conn else \
                http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                c.request(method, path, body=body, headers=hdr)
                r = c.getresponse()
                data = r.read()
            except (ConnectionError, http.client.HTTPException):
                c.close()
                self.conn = None
                if attempt or not self.keepalive:
                    raise
                continue  # a kept connection the server had closed: once more, anew
            dt = time.perf_counter() - t
            if self.keepalive and not r.will_close:
                self.conn = c
            else:
                c.close()
                self.conn = None
            return r.status, data, dt

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None


def control_call(path, req):
    """One op on the control socket, a new connection as the front opens: (reply, seconds)."""
    line = (json.dumps(req) + "\n").encode()
    t = time.perf_counter()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        s.sendall(line)
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
    return json.loads(buf), time.perf_counter() - t


def backend_call(path, method, params):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    f = s.makefile("rwb")
    out = None
    for m, p in (("initialize", {}), (method, params)):
        f.write((json.dumps({"method": m, "parameters": p}) + "\n").encode())
        f.flush()
        out = json.loads(f.readline())
    s.close()
    return out


# ---- setup ---------------------------------------------------------------------------------

def setup(a, work):
    os.makedirs(work + "/bin")
    mxg = work + "/bin/mxguard"
    shutil.copy2(a.mxguard, mxg)
    lc = work + "/bin/lookup_client"
    subprocess.run(["gcc", "-std=c11", "-O2", "-Wall", "-o", lc,
                    os.path.join(BENCH, "lookup_client.c")], check=True)
    m = work + "/mxguard"
    os.makedirs(m)
    conf = m + "/mxguard.conf"
    with open(conf, "w") as f:
        f.write("backend-socket=%s/backend.sock\ncontrol-socket=%s/control.sock\n" % (m, m))
        f.write("store=sqlite:%s/store.sqlite3\nlog-level=warning\nmode=reject\n" % m)
        f.write("api-listen=127.0.0.1:%d\napi-key=%s\n" % (a.front_port, PANEL_KEY))
        f.write("pdns-api-url=http://127.0.0.1:%d\npdns-api-key=%s\n" % (a.api_port, PDNS_KEY))
    subprocess.run([mxg, "import", "--zone", ZONE, ZONEFILE, "--config", conf], check=True,
                   stdout=subprocess.DEVNULL)
    mp = spawn("mxguard", [mxg, "serve", "--config", conf], m + "/mxguard.log")
    for _ in range(200):
        if os.path.exists(m + "/backend.sock") and os.path.exists(m + "/control.sock"):
            break
        if mp.poll() is not None:
            die("mxguard exited (%s/mxguard.log)" % m)
        time.sleep(0.05)
    else:
        die("mxguard's sockets did not appear")
    d = work + "/pdns"
    os.makedirs(d)
    with open(d + "/pdns.conf", "w") as f:
        f.write("\n".join([
            "local-address=127.0.0.1", "local-port=%d" % a.dns_port, "socket-dir=" + d,
            "guardian=no", "daemon=no", "disable-syslog=yes", "loglevel=4",
            "cache-ttl=0", "query-cache-ttl=0", "negquery-cache-ttl=0", "security-poll-suffix=",
            "api=yes", "api-key=" + PDNS_KEY, "webserver=yes", "webserver-address=127.0.0.1",
            "webserver-port=%d" % a.api_port, "webserver-allow-from=127.0.0.1",
            "webserver-loglevel=none", "launch=remote",
            "remote-connection-string=unix:path=%s/backend.sock,timeout=2000" % m,
            "default-api-rectify=no", ""]))
    pp = spawn("pdns_server", [a.pdns_server, "--config-dir=" + d], d + "/pdns.log")
    direct = Http(a.api_port, PDNS_KEY)
    front = Http(a.front_port, PANEL_KEY)
    for _ in range(200):
        if pp.poll() is not None:
            die("pdns_server exited (%s/pdns.log)" % d)
        try:
            if direct.request("GET", ZPATH)[0] == 200 and front.request("GET", ZPATH)[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.1)
    else:
        die("pdns's API or the front did not answer")
    zid = backend_call(m + "/backend.sock", "getDomainInfo", {"name": ZONE + "."})["result"]["id"]
    mix = work + "/mix.txt"
    with open(QUERIES) as qf, open(mix, "w") as f:
        for line in qf:
            if line.split():
                f.write("%s ANY %d\n" % (line.split()[0], zid))
    return {"mxguard": mp, "pdns": pp, "conf": conf, "ctl": m + "/control.sock",
            "backend": m + "/backend.sock", "lc": lc, "mix": mix, "mxg_bin": mxg}


# ---- part 1 --------------------------------------------------------------------------------

def part1(a, env):
    sides = {"front": Http(a.front_port, PANEL_KEY, a.keepalive),
             "direct": Http(a.api_port, PDNS_KEY, a.keepalive)}
    lat = {k: [] for k in ("patch front", "patch direct", "get front", "get direct",
                           "check control", "check http")}
    ratios = []  # per round: (p50 front / p50 direct, target met in that round)
    cpu = {s: {"mxguard": 0, "pdns": 0, "n": 0} for s in sides}
    addrs = ("192.0.2.12", "192.0.2.112")
    n = 0
    for r in range(a.rounds):
        order = ("front", "direct") if r % 2 == 0 else ("direct", "front")
        rp = {}
        for side in order:
            h = sides[side]
            m0, p0 = cpu_ticks(env["mxguard"].pid), cpu_ticks(env["pdns"].pid)
            got = []
            for _ in range(a.batch):
                n += 1
                st, body, dt = h.request("PATCH", ZPATH, rr_body("blog.example.com.",
                                                                  addrs[n % 2]))
                if st != 204:
                    die("PATCH (%s) answered %d: %s" % (side, st, body[:300]))
                got.append(dt)
            cpu[side]["mxguard"] += cpu_ticks(env["mxguard"].pid) - m0
            cpu[side]["pdns"] += cpu_ticks(env["pdns"].pid) - p0
            cpu[side]["n"] += a.batch
            lat["patch " + side] += got
            rp[side] = statistics.median(got)
        for side in order:
            for _ in range(a.batch):
                st, body, dt = sides[side].request("GET", ZPATH)
                if st != 200:
                    die("GET (%s) answered %d" % (side, st))
                lat["get " + side].append(dt)
        nxt = rr_body("blog.example.com.", addrs[(n + 1) % 2])
        for _ in range(a.batch):
            rep, dt = control_call(env["ctl"], {"op": "check", "zone": ZONE,
                                                "patch": json.loads(nxt), "record": "http"})
            if not rep.get("ok") or rep.get("verdict") == "reject":
                die("control check: %s" % rep)
            lat["check control"].append(dt)
        ck = statistics.median(lat["check control"][-a.batch:])
        ratios.append((rp["front"] / rp["direct"], rp["front"] <= 1.1 * rp["direct"] + ck))
        for _ in range(a.batch):
            st, body, dt = sides["front"].request("POST", "/api/v1/mxguard/check?zone=" + ZONE, nxt)
            if st != 200:
                die("POST /api/v1/mxguard/check answered %d: %s" % (st, body[:300]))
            lat["check http"].append(dt)
        if (r + 1) % 5 == 0 or r + 1 == a.rounds:
            log("part 1: round %d/%d, PATCH p50 front %.2f ms, direct %.2f ms" % (
                r + 1, a.rounds, statistics.median(lat["patch front"]) * 1e3,
                statistics.median(lat["patch direct"]) * 1e3))
    for h in sides.values():
        h.close()
    return lat, ratios, cpu


# ---- part 2 --------------------------------------------------------------------------------

class Load:
    """LOAD_THREADS threads, each alternating GET of the zone and PATCH of its own record."""

    def __init__(self, a, side):
        port, key = (a.front_port, PANEL_KEY) if side == "front" else (a.api_port, PDNS_KEY)
        self.a, self.port, self.key = a, port, key
        self.stop = threading.Event()
        self.count, self.errors, self.lat = 0, 0, []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(a.load_threads)]

    def run(self, i):
        h = Http(self.port, self.key, self.a.keepalive)
        gap = self.a.load_threads / self.a.load_rate if self.a.load_rate > 0 else 0
        nxt = time.perf_counter()
        k = 0
        while not self.stop.is_set():
            if gap:
                nxt += gap
                wait = nxt - time.perf_counter()
                if wait > 0 and self.stop.wait(wait):
                    break
                if wait < -gap:  # behind: no burst to catch up
                    nxt = time.perf_counter()
            k += 1
            try:
                if k % 2:
                    st, _, dt = h.request("GET", ZPATH)
                    ok = st == 200
                else:
                    st, _, dt = h.request("PATCH", ZPATH, rr_body(
                        "load%d.example.com." % i, "192.0.2.%d" % (100 + (k // 2) % 2)))
                    ok = st == 204
            except OSError:
                ok, dt = False, 0
            with self.lock:
                self.count += 1
                self.errors += not ok
                self.lat.append(dt)
        h.close()

    def __enter__(self):
        self.t0 = time.perf_counter()
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()
        self.seconds = time.perf_counter() - self.t0


def lookup_run(a, env):
    out = subprocess.run([env["lc"], "-s", env["backend"], "-q", env["mix"], "-c", "4",
                          "-d", str(a.lc_duration), "-w", "1"], capture_output=True, text=True)
    if out.returncode != 0:
        die("lookup_client failed: %s %s" % (out.stdout, out.stderr))
    return dict(kv.split("=", 1) for kv in out.stdout.split())


def part2(a, env):
    conds = ("idle", "front", "direct")
    res = {c: [] for c in conds}
    for r in range(a.lc_rounds):
        for k in range(len(conds)):
            c = conds[(k + r) % len(conds)]
            s0 = control_call(env["ctl"], {"op": "stats"})[0]
            m0, t0 = cpu_ticks(env["mxguard"].pid), time.perf_counter()
            if c == "idle":
                v = lookup_run(a, env)
                v["load_rps"], v["load_errors"], v["load_p50_ms"] = 0.0, 0, float("nan")
            else:
                with Load(a, c) as ld:
                    v = lookup_run(a, env)
                v["load_rps"] = ld.count / ld.seconds
                v["load_errors"] = ld.errors
                v["load_p50_ms"] = statistics.median(ld.lat) * 1e3 if ld.lat else float("nan")
                if ld.errors:
                    log("load (%s): %d of %d requests failed" % (c, ld.errors, ld.count))
            secs = time.perf_counter() - t0
            v["mxg_cpu"] = (cpu_ticks(env["mxguard"].pid) - m0) / CLK_TCK / secs
            s1 = control_call(env["ctl"], {"op": "stats"})[0]
            v["cache_hits"] = ((s1["cache_hits"] - s0["cache_hits"]) /
                               max(1, s1["lookups"] - s0["lookups"]))
            res[c].append(v)
            log("part 2: round %d/%d %-6s %8.0f lookups/s, p50 %s us, p99 %s us, "
                "cache hits %.0f%%, load %.0f req/s" % (
                    r + 1, a.lc_rounds, c, float(v["lookups_per_s"]), v["p50_us"], v["p99_us"],
                    v["cache_hits"] * 100, v["load_rps"]))
    return res


# ---- report --------------------------------------------------------------------------------

def report(a, env, lat, ratios, cpu, res, t_start, load_start):
    ver = subprocess.run([a.pdns_server, "--version"], capture_output=True, text=True)
    ver = [w for w in (ver.stdout + ver.stderr).split() if w[:1].isdigit() and w.count(".") == 2]
    with open(env["mxg_bin"], "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()[:16]
    o = []
    o.append("mxguard HTTP API front benchmark %s" % time.strftime("%Y-%m-%d %H:%M"))
    o.append("")
    o.append("machine:   %d CPUs, load avg (1/5/15 min) at start %s, at end %s" % (
        os.cpu_count(), load_start, loadavg()))
    o.append("mxguard:   %s (sha256 %s...)" % (a.mxguard, sha))
    o.append("pdns:      %s, caches off" % (ver[0] if ver else "?"))
    o.append("settings:  rounds=%d batch=%d keepalive=%s; lookups: rounds=%d duration=%ds "
             "load-threads=%d load-rate=%s" % (a.rounds, a.batch, a.keepalive, a.lc_rounds,
                                               a.lc_duration, a.load_threads,
                                               a.load_rate or "unlimited"))
    o.append("wall time: %.0f s" % (time.time() - t_start))
    o.append("")
    if lat:
        part1_report(a, o, lat, ratios, cpu)
    if res:
        part2_report(a, o, res)
    text = "\n".join(o) + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    print(text, end="")
    log("results in %s" % a.out)


def part1_report(a, o, lat, ratios, cpu):
    ms = lambda v: "%.2f" % (v * 1e3)
    st = lambda k: (statistics.median(lat[k]), pct(lat[k], 0.99), statistics.mean(lat[k]))
    o.append("== part 1: latency, ms (%d of each, alternating in %d rounds) ==" % (
        len(lat["patch front"]), a.rounds))
    o.append("%-38s %8s %8s %8s" % ("", "p50", "p99", "mean"))
    names = [("patch front", "PATCH through the front"),
             ("patch direct", "PATCH straight to pdns"),
             ("get front", "GET zone through the front"),
             ("get direct", "GET zone straight to pdns"),
             ("check control", "check op on the control socket"),
             ("check http", "POST /api/v1/mxguard/check (front)")]
    for k, label in names:
        p50, p99, mean = st(k)
        o.append("%-38s %8s %8s %8s" % (label, ms(p50), ms(p99), ms(mean)))
    pf, pd, ck = st("patch front"), st("patch direct"), st("check control")
    o.append("")
    o.append("PATCH front/direct: p50 %.3f, p99 %.3f, mean %.3f; median of per-round p50 "
             "ratios %.3f" % (pf[0] / pd[0], pf[1] / pd[1], pf[2] / pd[2],
                              statistics.median(r for r, _ in ratios)))
    gf, gd = st("get front"), st("get direct")
    o.append("front's added time, p50: PATCH %s ms, GET (forwarding only) %s ms; check op %s ms"
             % (ms(pf[0] - pd[0]), ms(gf[0] - gd[0]), ms(ck[0])))
    for side in ("front", "direct"):
        c = cpu[side]
        o.append("CPU per PATCH (%s): mxguard %.0f us, pdns %.0f us" % (
            side, c["mxguard"] / CLK_TCK * 1e6 / c["n"], c["pdns"] / CLK_TCK * 1e6 / c["n"]))
    bound = 1.1 * pd[0] + ck[0]
    o.append("target front p50 <= 1.1 x direct p50 + check p50 = %s ms: %s (%s ms)" % (
        ms(bound), "MET" if pf[0] <= bound else "MISSED", ms(pf[0])))
    o.append("  ... and within each round (that round's p50s): met in %d of %d rounds" % (
        sum(m for _, m in ratios), len(ratios)))
    boundm = 1.1 * pd[2] + statistics.mean(lat["check control"])
    o.append("same on the means: bound %s ms: %s (%s ms)" % (
        ms(boundm), "MET" if pf[2] <= boundm else "MISSED", ms(pf[2])))
    o.append("")


def part2_report(a, o, res):
    o.append("== part 2: lookup_client on mxguard's backend socket, 4 connections "
             "(medians over %d runs of %d s) ==" % (a.lc_rounds, a.lc_duration))
    o.append("%-8s %10s %8s %8s %11s %9s %11s %12s %7s" % (
        "load", "lookups/s", "p50 us", "p99 us", "cache hits", "mxg CPU", "load req/s",
        "load p50 ms", "errors"))
    med = {}
    for c in ("idle", "front", "direct"):
        rows = res[c]
        g = lambda key: statistics.median(float(v[key]) for v in rows)
        med[c] = g("lookups_per_s")
        o.append("%-8s %10.0f %8.1f %8.1f %10.0f%% %8.0f%% %11.0f %12s %7d" % (
            c, med[c], g("p50_us"), g("p99_us"), g("cache_hits") * 100, g("mxg_cpu") * 100,
            g("load_rps"),
            "-" if c == "idle" else "%.2f" % g("load_p50_ms"), sum(v["load_errors"] for v in rows)))
    o.append("")
    rr = lambda x, y: statistics.median(float(p["lookups_per_s"]) / float(q["lookups_per_s"])
                                        for p, q in zip(res[x], res[y]))
    o.append("lookups/s, ratio of medians (median of the per-round ratios):")
    for x, y in (("front", "idle"), ("front", "direct"), ("direct", "idle")):
        o.append("  %s-loaded / %s%s: %.3f (%.3f)" % (x, y, "" if y == "idle" else "-loaded",
                                                     med[x] / med[y], rr(x, y)))
    o.append("")
    o.append("== raw, part 2 ==")
    for c in ("idle", "front", "direct"):
        for v in res[c]:
            o.append("%s lookups_per_s=%s p50_us=%s p99_us=%s cache_hits=%.3f mxg_cpu=%.2f "
                     "load_rps=%.1f load_errors=%d" % (c, v["lookups_per_s"], v["p50_us"],
                                                       v["p99_us"], v["cache_hits"], v["mxg_cpu"],
                                                       v["load_rps"], v["load_errors"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mxguard", default=os.environ.get("MXGUARD", os.path.join(REPO, "build",
                                                                                "mxguard")))
    ap.add_argument("--pdns-server", default=os.environ.get("PDNS_SERVER", "/usr/sbin/pdns_server"))
    ap.add_argument("--rounds", type=int, default=20, help="part 1 rounds [20]")
    ap.add_argument("--batch", type=int, default=20, help="requests of each kind per round [20]")
    ap.add_argument("--lc-rounds", type=int, default=6, help="part 2 rounds [6]")
    ap.add_argument("--lc-duration", type=int, default=4, help="seconds per lookup_client run [4]")
    ap.add_argument("--load-threads", type=int, default=8,
                    help="threads of the GET/PATCH stream [8]")
    ap.add_argument("--load-rate", type=float, default=200,
                    help="the stream's requests/s in total, 0 = as fast as it goes [200]")
    ap.add_argument("--keepalive", action="store_true", help="keep HTTP connections open")
    ap.add_argument("--skip-latency", action="store_true", help="part 2 only")
    ap.add_argument("--skip-lookups", action="store_true", help="part 1 only")
    ap.add_argument("--dns-port", type=int, default=5390)
    ap.add_argument("--api-port", type=int, default=8105)
    ap.add_argument("--front-port", type=int, default=8106)
    ap.add_argument("--out", default="/tmp/mxguard-front-%s.txt" % time.strftime("%Y%m%d-%H%M%S"))
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    a = ap.parse_args()
    if not os.access(a.mxguard, os.X_OK):
        die("mxguard binary %s missing (build it first)" % a.mxguard)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))
    work = tempfile.mkdtemp(prefix="mxguard-front.")
    log("work dir %s, results to %s" % (work, a.out))
    ok = False
    try:
        t_start = time.time()
        load_start = loadavg()
        env = setup(a, work)
        lat, ratios, cpu = part1(a, env) if not a.skip_latency else (None, None, None)
        res = part2(a, env) if not a.skip_lookups else None
        for name, p in PROCS:
            if p.poll() is not None:
                die("%s exited during the run (status %s)" % (name, p.returncode))
        report(a, env, lat, ratios, cpu, res, t_start, load_start)
        ok = True
    finally:
        stop_all()
        if ok and not a.keep:
            shutil.rmtree(work)
        else:
            log("kept work dir %s" % work)


if __name__ == "__main__":
    main()
