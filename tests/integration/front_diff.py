#!/usr/bin/env python3
"""Differential test of the HTTP API front: the same API requests to two servers.

    front_diff.py --front URL --front-key KEY [--front-operator-key KEY]
                  --ref URL --ref-key KEY [--seed N] [--random N] [--report FILE] [--log FILE]

The candidate is mxguard's API front (pdns on mxguard behind it); the reference is pdns's
own API on its native gsqlite3 backend. Both start empty. One fixed sequence of requests
(zone creation in every shape the front owns, invalid and malformed bodies, PATCHes of every
kind, metadata, zone settings, the zone list, deletion, wrong keys) plus --random PATCHes drawn
from --seed goes to both, request by request:

  * the status codes must be equal, and the content types of answers with a body;
  * a JSON body of a successful answer must be equal after normalisation (below); an error
    answer must be pdns's error shape, {"error": STRING}, on both sides (the texts are
    printed as notes when they differ, not compared); a 422 with an "mxguard" member is the
    guard refusing, which the inputs are meant to avoid: it fails as such;
  * after every request that can change a zone (any POST, PUT, PATCH or DELETE, whatever its
    status), that zone is fetched with GET on both sides: the status and the normalised zone
    must be equal, and the SOA serial must have moved on both sides or on neither.

Normalisation (each item is printed in the summary with the number of times it applied):
  * the members "serial", "edited_serial" and "notified_serial" are left out, and so is the
    serial field of the SOA content: both sides stamp serials from the date and the SOA-EDIT-API
    rules, a test that runs across midnight would see them differ. Whether a request moved the
    serial is compared instead.
  * RRsets are sorted by (name, type), records by content, metadata by kind and value, the zone
    list by name: neither pdns nor mxguard promises an order.
Nothing else is normalised: "id" and "url" are the zone's name on both sides and compare as
they are.

The front's panel key (api-key) sends everything but the PUTs that make a zone a secondary or
set its masters: those go with the operator key, to which the front may keep them (a secondary
zone is never blocked by the guard). pdns gets its one key throughout.

Every check is a line on --log (standard output without it). The summary lists each distinct
difference once -- its text with the zone's name replaced, so the same difference in later GETs
or in other zones is counted, not repeated -- with the request that showed it first; --report
writes the same as JSON, with the notes.

Exit status: 0 when no difference was found, 1 otherwise, 2 on a setup error (a server that
does not answer).
"""

import argparse
import collections
import http.client
import json
import random
import re
import sys
import time
import urllib.parse

API = "/api/v1/servers/localhost"
ZONES = API + "/zones"

NORMALISED = collections.Counter()


# ---- HTTP ---------------------------------------------------------------------------------


class Side:
    def __init__(self, label, url, key, operator_key=None):
        u = urllib.parse.urlsplit(url)
        self.label, self.host, self.port, self.key = label, u.hostname, u.port or 80, key
        self.operator_key = operator_key or key

    def request(self, method, path, body=None, key="good"):
        """(status, content type, body text). body: None, str (sent as it is) or JSON.
        key: "good" (the side's key), "operator" (the front's operator key; pdns's one key),
        None (no key) or a key to send as it is."""
        headers = {"Accept": "application/json"}
        if key == "good":
            headers["X-API-Key"] = self.key
        elif key == "operator":
            headers["X-API-Key"] = self.operator_key
        elif key is not None:
            headers["X-API-Key"] = key
        data = None
        if body is not None:
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            headers["Content-Type"] = "application/json"
        for attempt in range(3):
            conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                conn.request(method, path, body=data, headers=headers)
                r = conn.getresponse()
                text = r.read().decode("utf-8", "replace")
                return r.status, r.getheader("Content-Type") or "", text
            except (ConnectionError, http.client.HTTPException, OSError) as e:
                if attempt == 2:
                    raise SystemExit("%s (%s:%d) %s %s: %s" % (self.label, self.host, self.port,
                                                               method, path, e))
                time.sleep(0.2)
            finally:
                conn.close()


# ---- normalisation and comparison -----------------------------------------------------------

SERIALS = ("serial", "edited_serial", "notified_serial")


def soa_serial(zone):
    for rr in zone.get("rrsets") or []:
        if rr.get("type") == "SOA":
            for rec in rr.get("records") or []:
                f = rec.get("content", "").split()
                if len(f) == 7:
                    return f[2]
    return None


def norm_record(rtype, rec):
    rec = dict(rec)
    if rtype == "SOA" and isinstance(rec.get("content"), str):
        f = rec["content"].split()
        if len(f) == 7:
            f[2] = "<serial>"
            rec["content"] = " ".join(f)
            NORMALISED["SOA content: serial field left out"] += 1
    return rec


def sort_key(x):
    return json.dumps(x, sort_keys=True)


def norm_zone(z):
    if not isinstance(z, dict):
        return z
    z = dict(z)
    for k in SERIALS:
        if k in z:
            del z[k]
            NORMALISED['"%s" left out' % k] += 1
    if isinstance(z.get("rrsets"), list):
        out = []
        for rr in z["rrsets"]:
            rr = dict(rr)
            if isinstance(rr.get("records"), list):
                rr["records"] = sorted((norm_record(rr.get("type"), r) for r in rr["records"]),
                                       key=sort_key)
            if isinstance(rr.get("comments"), list):
                rr["comments"] = sorted(rr["comments"], key=sort_key)
            out.append(rr)
        z["rrsets"] = sorted(out, key=lambda r: (str(r.get("name")), str(r.get("type"))))
        NORMALISED["rrsets sorted by (name, type), records by content"] += 1
    return z


def norm_list(zs):
    if not isinstance(zs, list):
        return zs
    NORMALISED["zone list sorted by name"] += 1
    return sorted((norm_zone(z) for z in zs), key=lambda z: str(z.get("name")))


def norm_meta(m):
    if isinstance(m, dict) and isinstance(m.get("metadata"), list):
        m = dict(m)
        m["metadata"] = sorted(m["metadata"], key=str)
        return m
    if isinstance(m, list):
        NORMALISED["metadata sorted by kind and value"] += 1
        return sorted((norm_meta(x) for x in m), key=lambda x: sort_key(x))
    return m


def rrset_map(rrsets):
    return {"%s/%s" % (r.get("name"), r.get("type")): r for r in rrsets}


def diff(a, b, path=""):
    """Human-readable differences between a (front) and b (pdns)."""
    out = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            p = "%s.%s" % (path, k) if path else k
            if k not in a:
                out.append("%s: front has no such member, pdns %s" % (p, json.dumps(b[k])))
            elif k not in b:
                out.append("%s: front %s, pdns has no such member" % (p, json.dumps(a[k])))
            elif k == "rrsets" and isinstance(a[k], list) and isinstance(b[k], list):
                ma, mb = rrset_map(a[k]), rrset_map(b[k])
                for n in sorted(set(ma) | set(mb)):
                    q = "rrsets[%s]" % n
                    if n not in ma:
                        out.append("%s: only pdns has it: %s" % (q, json.dumps(mb[n])))
                    elif n not in mb:
                        out.append("%s: only the front has it: %s" % (q, json.dumps(ma[n])))
                    else:
                        out += diff(ma[n], mb[n], q)
            else:
                out += diff(a[k], b[k], p)
    elif isinstance(a, list) and isinstance(b, list) and all(
            isinstance(x, dict) and "name" in x for x in a + b) and (a or b):
        ma = {x["name"]: x for x in a}
        mb = {x["name"]: x for x in b}
        for n in sorted(set(ma) | set(mb)):
            q = "%s[%s]" % (path, n)
            if n not in ma:
                out.append("%s: only pdns has it" % q)
            elif n not in mb:
                out.append("%s: only the front has it" % q)
            else:
                out += diff(ma[n], mb[n], q)
    elif a != b:
        out.append("%s: front %s, pdns %s" % (path or "body", json.dumps(a), json.dumps(b)))
    return out


def parse(text):
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return ValueError


# ---- the run ------------------------------------------------------------------------------


class Run:
    """Sends, compares, and keeps every distinct difference once.

    A difference is identified by its text with the zone's name replaced by "<zone>": the same
    difference in a later GET of the same zone, or in another zone, counts as a failed check
    again but is listed once, with where it was seen."""

    def __init__(self, front, ref, log):
        self.front, self.ref, self.out = front, ref, log
        self.checks = self.failed = 0
        self.distinct = collections.OrderedDict()  # key -> {"first": step, "detail", "seen"}
        self.notes = []
        self.last_serial = {}  # zone -> (front serial, pdns serial)

    def log(self, line):
        print(line, file=self.out, flush=True)

    def ok(self, msg):
        self.checks += 1
        self.log("  ok   %s" % msg)

    def fail(self, step, what, details, zone=None, extra=()):
        """A failed check. details: the differences (identify it); extra: context lines."""
        self.checks += 1
        self.failed += 1
        details = details or [what]
        new = []
        for d in details:
            key = re.sub(r"\(\S* -> \S*\)", "(...)", d)
            if key.startswith("status:"):
                # The same status difference of one zone (GET after GET), else of one request.
                key = ("zone %s" % zone if zone else step) + " | " + key
            elif zone:
                z = zone.rstrip(".").lower()
                key = re.sub(r"(?<![\w-])" + re.escape(z) + r"(?![\w-])", "<zone>", key,
                             flags=re.I)
            e = self.distinct.get(key)
            if e is None:
                self.distinct[key] = {"first": step, "detail": d, "context": list(extra),
                                      "seen": [step]}
                new.append(d)
            else:
                e["seen"].append(step)
        if new:
            self.log("  FAIL %s: %s" % (step, what))
            for d in new + list(extra):
                self.log("       %s" % d)
            if len(new) < len(details):
                self.log("       (and %d differences listed before)" % (len(details) - len(new)))
        else:
            self.log("  FAIL %s: %s (%d differences listed before)" % (step, what, len(details)))

    def note(self, step, msg):
        self.notes.append((step, msg))
        self.log("  note %s: %s" % (step, msg))

    def send(self, label, method, path, body=None, key="good", zones=(), norm=None):
        """One request to both sides; compares; then GETs each zone in zones."""
        fs, fct, ft = self.front.request(method, path, body, key)
        rs, rct, rt = self.ref.request(method, path, body, key)
        step = "%s [%s %s]" % (label, method, path.replace(ZONES, "~"))
        bz = zones[0] if zones and norm is norm_zone else None
        fj, rj = parse(ft), parse(rt)
        if isinstance(fj, dict) and "mxguard" in fj:
            # The guard refused: the inputs are meant to stay clear of the guard.
            self.fail(step, "the guard refused the request (a test input to change)", None,
                      extra=["front body: %s" % ft[:400]])
        elif fs != rs:
            self.fail(step, "status: front %d, pdns %d" % (fs, rs), None,
                      extra=["front body: %s" % ft[:300], "pdns body:  %s" % rt[:300]])
        else:
            self.ok("%s: %d" % (step, fs))
            if ft.strip() and rt.strip() and fct.split(";")[0] != rct.split(";")[0]:
                self.fail(step, "content type: front %r, pdns %r" % (fct, rct), None)
            if 200 <= fs < 300:
                if (fj is None) != (rj is None) or (fj is ValueError) != (rj is ValueError):
                    self.fail(step, "body kind differs", None,
                              extra=["front: %s" % ft[:300], "pdns:  %s" % rt[:300]])
                elif fj not in (None, ValueError):
                    n = norm or (lambda x: x)
                    d = diff(n(fj), n(rj))
                    if d:
                        self.fail(step, "%d body: JSON differs" % fs, d, zone=bz)
            else:
                fe = isinstance(fj, dict) and isinstance(fj.get("error"), str)
                re_ = isinstance(rj, dict) and isinstance(rj.get("error"), str)
                if fe != re_:
                    self.fail(step, "error body shape differs", None,
                              extra=["front: %s" % ft[:300], "pdns:  %s" % rt[:300]])
                elif fe and fj["error"] != rj["error"]:
                    self.note(step, "error text: front %r, pdns %r" % (fj["error"][:200],
                                                                       rj["error"][:200]))
        for z in zones:
            self.get_zone(z, "after " + label)
        return fs, rs

    def get_zone(self, zone, why):
        path = "%s/%s" % (ZONES, zone)
        fs, _, ft = self.front.request("GET", path)
        rs, _, rt = self.ref.request("GET", path)
        step = "GET %s %s" % (zone, why)
        if fs != rs:
            self.last_serial.pop(zone, None)
            self.fail(step, "status: front %d, pdns %d" % (fs, rs), None, zone=zone,
                      extra=["front body: %s" % ft[:300], "pdns body:  %s" % rt[:300]])
            return
        if fs != 200:
            self.ok("%s: %d on both" % (step, fs))
            self.last_serial.pop(zone, None)
            return
        fj, rj = json.loads(ft), json.loads(rt)
        d = diff(norm_zone(fj), norm_zone(rj))
        serials = (soa_serial(fj), soa_serial(rj))
        prev = self.last_serial.get(zone)
        self.last_serial[zone] = serials
        if prev is not None:
            fm, rm = prev[0] != serials[0], prev[1] != serials[1]
            if fm != rm:
                d.append("SOA serial %s on the front (%s -> %s), %s on pdns (%s -> %s)" % (
                    "moved" if fm else "unchanged", prev[0], serials[0],
                    "moved" if rm else "unchanged", prev[1], serials[1]))
        if d:
            self.fail(step, "zone differs", d, zone=zone)
        else:
            self.ok("%s: same zone" % step)


# ---- the sequence -----------------------------------------------------------------------------

MAIL_A = "192.0.2.25"


def zone_body(name, kind="Native", ns=("ns1.example.net.", "ns2.example.net."), rrsets=None,
              **extra):
    b = {"name": name, "kind": kind}
    if ns is not None:
        b["nameservers"] = list(ns)
    if rrsets is not None:
        b["rrsets"] = rrsets
    b.update(extra)
    return b


def rrset(name, rtype, contents, ttl=3600, changetype=None):
    r = {"name": name, "type": rtype, "ttl": ttl,
         "records": [{"content": c, "disabled": False} for c in contents]}
    if changetype:
        r["changetype"] = changetype
    return r


def realistic(zone, apex_a="192.0.2.10"):
    """SOA-less realistic content: apex MX and A, a mail host, www."""
    return [rrset(zone, "MX", ["10 mail.%s" % zone]),
            rrset(zone, "A", [apex_a]),
            rrset("mail." + zone, "A", [MAIL_A]),
            rrset("www." + zone, "A", ["192.0.2.20"]),
            rrset(zone, "TXT", ['"v=spf1 mx -all"'])]


def patch(*rrsets):
    return {"rrsets": list(rrsets)}


def fixed_sequence(run):
    s = run.send
    zp = lambda z: "%s/%s" % (ZONES, z)  # noqa: E731

    # -- keys --
    s("no key", "GET", ZONES, key=None)
    s("wrong key", "GET", ZONES, key="wrong-key")
    s("wrong key on create", "POST", ZONES, zone_body("keys.example."), key="wrong-key",
      zones=["keys.example."])
    s("empty zone list", "GET", ZONES, norm=norm_list)

    # -- creation --
    s("create with nameservers only", "POST", ZONES, zone_body("alpha.example."),
      zones=["alpha.example."], norm=norm_zone)
    s("create with rrsets (apex MX and A)", "POST", ZONES,
      zone_body("bravo.example.", rrsets=realistic("bravo.example.")),
      zones=["bravo.example."], norm=norm_zone)
    soa = ("ns1.charlie.example. hostmaster.charlie.example. 2024050101 7200 3600 1209600 300")
    s("create with its own SOA and NS rrsets, no nameservers", "POST", ZONES,
      zone_body("charlie.example.", ns=None,
                rrsets=[rrset("charlie.example.", "SOA", [soa]),
                        rrset("charlie.example.", "NS", ["ns1.charlie.example.",
                                                         "ns2.example.net."]),
                        rrset("ns1.charlie.example.", "A", ["192.0.2.53"])]
                + realistic("charlie.example.")),
      zones=["charlie.example."], norm=norm_zone)
    s("create kind Master", "POST", ZONES,
      zone_body("delta.example.", kind="Master", rrsets=realistic("delta.example.")),
      zones=["delta.example."], norm=norm_zone)
    s("create kind Slave with masters", "POST", ZONES,
      zone_body("echo.example.", kind="Slave", ns=None, masters=["192.0.2.53"]),
      zones=["echo.example."], norm=norm_zone)
    s("create kind Slave, masters with a port", "POST", ZONES,
      zone_body("echo2.example.", kind="Slave", ns=[], masters=["192.0.2.53:5300",
                                                                 "2001:db8::53"]),
      zones=["echo2.example."], norm=norm_zone)
    s("create with soa_edit_api INCEPTION-INCREMENT", "POST", ZONES,
      zone_body("foxtrot.example.", rrsets=realistic("foxtrot.example."),
                soa_edit_api="INCEPTION-INCREMENT"),
      zones=["foxtrot.example."], norm=norm_zone)
    s("create with soa_edit_api empty (none)", "POST", ZONES,
      zone_body("golf.example.", rrsets=realistic("golf.example."), soa_edit_api=""),
      zones=["golf.example."], norm=norm_zone)
    s("create with soa_edit_api EPOCH and a custom SOA", "POST", ZONES,
      zone_body("golf2.example.", rrsets=[rrset("golf2.example.", "SOA", [soa.replace(
          "charlie", "golf2")])] + realistic("golf2.example."), soa_edit_api="EPOCH"),
      zones=["golf2.example."], norm=norm_zone)
    s("create kind Native spelled in lower case", "POST", ZONES,
      zone_body("hotel.example.", kind="native", rrsets=realistic("hotel.example.")),
      zones=["hotel.example."], norm=norm_zone)
    s("create without kind", "POST", ZONES,
      {"name": "india.example.", "nameservers": ["ns1.example.net."]},
      zones=["india.example."], norm=norm_zone)
    s("create with a name in mixed case", "POST", ZONES,
      zone_body("Juliet.Example.", rrsets=realistic("juliet.example.")),
      zones=["juliet.example."], norm=norm_zone)
    s("zone list after the creations", "GET", ZONES, norm=norm_list)

    # -- duplicates and invalid creations --
    s("duplicate create", "POST", ZONES, zone_body("bravo.example."), zones=["bravo.example."])
    s("duplicate create, other case", "POST", ZONES, zone_body("BRAVO.example."),
      zones=["bravo.example."])
    s("duplicate create without the trailing dot", "POST", ZONES,
      zone_body("bravo.example"), zones=["bravo.example."])
    bad = [
        ("name without the trailing dot", zone_body("kilo.example"), "kilo.example."),
        ("name with an empty label", zone_body("bad..example."), None),
        ("name missing", {"kind": "Native", "nameservers": ["ns1.example.net."]}, None),
        ("name empty", zone_body(""), None),
        ("name not a string", {"name": 5, "kind": "Native", "nameservers": []}, None),
        ("label longer than 63", zone_body("%s.example." % ("x" * 64)), None),
        ("kind unknown", zone_body("lima.example.", kind="Bogus"), "lima.example."),
        ("nameservers not a list", zone_body("mike.example.", ns=None,
                                             nameservers="ns1.example.net."),
         "mike.example."),
        ("nameserver without the trailing dot", zone_body("november.example.",
                                                          ns=["ns1.example.net"]),
         "november.example."),
        ("no nameservers and no NS rrset", zone_body("oscar.example.", ns=None),
         "oscar.example."),
        ("invalid A content in rrsets", zone_body("papa.example.", rrsets=[
            rrset("www.papa.example.", "A", ["not-an-address"])]), "papa.example."),
        ("rrset outside the zone", zone_body("quebec.example.", rrsets=[
            rrset("www.elsewhere.example.", "A", ["192.0.2.1"])]), "quebec.example."),
        ("CNAME beside other data in rrsets", zone_body("romeo.example.", rrsets=[
            rrset("www.romeo.example.", "A", ["192.0.2.1"]),
            rrset("www.romeo.example.", "CNAME", ["romeo.example."])]), "romeo.example."),
        ("Slave without masters", zone_body("sierra.example.", kind="Slave", ns=None),
         "sierra.example."),
        ("masters not addresses", zone_body("tango.example.", kind="Slave", ns=None,
                                            masters=["not-an-ip"]), "tango.example."),
        ("rrsets not a list", zone_body("uniform.example.", rrsets={"x": 1}),
         "uniform.example."),
        ("soa_edit_api an unknown value", zone_body("victor.example.", soa_edit_api="NONSENSE"),
         "victor.example."),
        ("body a JSON array", [], None),
        ("body a JSON string", "\"zone\"", None),
    ]
    for label, body, zone in bad:
        s("create: " + label, "POST", ZONES, body, zones=[zone] if zone else [],
          norm=norm_zone)
    for label, raw in [("truncated JSON", '{"name": "whiskey.example.", "kind": '),
                       ("not JSON", "name=whiskey.example."),
                       ("empty body", ""),
                       ("duplicate member", '{"name": "whiskey.example.", "name": "xray.example.",'
                                            ' "kind": "Native", "nameservers": []}')]:
        s("malformed create: " + label, "POST", ZONES, raw,
          zones=["whiskey.example.", "xray.example."],
          norm=norm_zone)

    # -- PATCH --
    Z = "bravo.example."
    s("PATCH REPLACE www A", "PATCH", zp(Z),
      patch(rrset("www." + Z, "A", ["192.0.2.21", "192.0.2.22"], ttl=300, changetype="REPLACE")),
      zones=[Z])
    s("PATCH add a TXT", "PATCH", zp(Z),
      patch(rrset("info." + Z, "TXT", ['"hello world"', '"second"'], changetype="REPLACE")),
      zones=[Z])
    s("PATCH DELETE the TXT", "PATCH", zp(Z),
      patch({"name": "info." + Z, "type": "TXT", "changetype": "DELETE"}), zones=[Z])
    s("PATCH DELETE an rrset that does not exist", "PATCH", zp(Z),
      patch({"name": "nothing." + Z, "type": "AAAA", "changetype": "DELETE"}), zones=[Z])
    s("PATCH several rrsets at once", "PATCH", zp(Z),
      patch(rrset("www." + Z, "AAAA", ["2001:db8::20"], changetype="REPLACE"),
            rrset("api." + Z, "CNAME", ["www." + Z], ttl=600, changetype="REPLACE"),
            rrset("_dmarc." + Z, "TXT", ['"v=DMARC1; p=none"'], changetype="REPLACE"),
            {"name": "www." + Z, "type": "A", "changetype": "DELETE"}),
      zones=[Z])
    s("PATCH a second MX at the apex", "PATCH", zp(Z),
      patch(rrset("mail2." + Z, "A", ["192.0.2.26"], changetype="REPLACE"),
            rrset(Z, "MX", ["10 mail." + Z, "20 mail2." + Z], changetype="REPLACE")),
      zones=[Z])
    s("PATCH REPLACE the apex NS", "PATCH", zp(Z),
      patch(rrset(Z, "NS", ["ns1.example.net.", "ns3.example.net."], changetype="REPLACE")),
      zones=[Z])
    s("PATCH REPLACE the SOA", "PATCH", zp(Z),
      patch(rrset(Z, "SOA", ["ns1.example.net. dns.bravo.example. 2024060101 3600 900 "
                             "1209600 600"], changetype="REPLACE")),
      zones=[Z])
    s("PATCH an empty rrsets list", "PATCH", zp(Z), {"rrsets": []}, zones=[Z])
    s("PATCH an SRV and a CAA", "PATCH", zp(Z),
      patch(rrset("_sip._tcp." + Z, "SRV", ["10 60 5060 sip." + Z], changetype="REPLACE"),
            rrset(Z, "CAA", ['0 issue "letsencrypt.org"'], changetype="REPLACE")),
      zones=[Z])
    invalid = [
        ("invalid A content", patch(rrset("www." + Z, "A", ["300.1.1.1"],
                                          changetype="REPLACE"))),
        ("invalid MX content", patch(rrset("mx." + Z, "MX", ["mail." + Z],
                                           changetype="REPLACE"))),
        ("invalid AAAA content", patch(rrset("www." + Z, "AAAA", ["192.0.2.1"],
                                             changetype="REPLACE"))),
        ("changetype missing", patch(rrset("new." + Z, "A", ["192.0.2.30"]))),
        ("changetype invalid", patch(rrset("new." + Z, "A", ["192.0.2.30"],
                                           changetype="UPSERT"))),
        ("changetype in lower case", patch(rrset("new." + Z, "A", ["192.0.2.30"],
                                                 changetype="replace"))),
        ("rrset outside the zone", patch(rrset("www.elsewhere.example.", "A", ["192.0.2.30"],
                                               changetype="REPLACE"))),
        ("rrset in another served zone", patch(rrset("www.alpha.example.", "A", ["192.0.2.30"],
                                                     changetype="REPLACE"))),
        ("name without the trailing dot", patch(rrset("new.bravo.example", "A", ["192.0.2.30"],
                                                      changetype="REPLACE"))),
        ("type missing", patch({"name": "new." + Z, "ttl": 300, "changetype": "REPLACE",
                                "records": [{"content": "192.0.2.30", "disabled": False}]})),
        ("type unknown", patch(rrset("new." + Z, "BOGUS", ["x"], changetype="REPLACE"))),
        ("ttl missing on REPLACE", patch({"name": "new." + Z, "type": "A",
                                          "changetype": "REPLACE",
                                          "records": [{"content": "192.0.2.30",
                                                       "disabled": False}]})),
        ("records missing on REPLACE", patch({"name": "new." + Z, "type": "A", "ttl": 300,
                                              "changetype": "REPLACE"})),
        ("CNAME beside other data", patch(rrset("www." + Z, "CNAME", ["mail." + Z],
                                                changetype="REPLACE"))),
        ("two CNAME records", patch(rrset("cn." + Z, "CNAME", ["a." + Z, "b." + Z],
                                          changetype="REPLACE"))),
        ("the same record twice", patch(rrset("dup." + Z, "A", ["192.0.2.31", "192.0.2.31"],
                                              changetype="REPLACE"))),
        ("the same rrset twice", patch(rrset("dup." + Z, "A", ["192.0.2.31"],
                                             changetype="REPLACE"),
                                       rrset("dup." + Z, "A", ["192.0.2.32"],
                                             changetype="REPLACE"))),
        ("SOA below the apex", patch(rrset("sub." + Z, "SOA", [
            "ns1.example.net. hostmaster.example.net. 1 3600 900 1209600 600"],
            changetype="REPLACE"))),
        ("a valid rrset then an invalid one", patch(
            rrset("ok." + Z, "A", ["192.0.2.33"], changetype="REPLACE"),
            rrset("bad." + Z, "A", ["not-an-address"], changetype="REPLACE"))),
        ("rrsets not a list", {"rrsets": {"name": "x"}}),
        ("rrsets missing", {"records": []}),
        ("body a JSON array", []),
    ]
    for label, body in invalid:
        s("PATCH: " + label, "PATCH", zp(Z), body, zones=[Z])
    for label, raw in [("truncated JSON", '{"rrsets": ['), ("not JSON", "rrsets=1"),
                       ("empty body", ""),
                       ("duplicate member", '{"rrsets": [], "rrsets": [%s]}' % json.dumps(
                           rrset("dupm." + Z, "A", ["192.0.2.34"], changetype="REPLACE")))]:
        s("malformed PATCH: " + label, "PATCH", zp(Z), raw, zones=[Z])
    s("PATCH of an unknown zone", "PATCH", zp("unknown.example."),
      patch(rrset("www.unknown.example.", "A", ["192.0.2.1"], changetype="REPLACE")),
      zones=["unknown.example."])
    s("PATCH with a wrong key", "PATCH", zp(Z),
      patch(rrset("wrong." + Z, "A", ["192.0.2.1"], changetype="REPLACE")), key="wrong-key",
      zones=[Z])
    s("PATCH of a zone created with soa_edit_api INCEPTION-INCREMENT", "PATCH",
      zp("foxtrot.example."),
      patch(rrset("www.foxtrot.example.", "A", ["192.0.2.40"], changetype="REPLACE")),
      zones=["foxtrot.example."])
    s("PATCH of a zone created without soa_edit_api", "PATCH", zp("golf.example."),
      patch(rrset("www.golf.example.", "A", ["192.0.2.41"], changetype="REPLACE")),
      zones=["golf.example."])
    s("PATCH of a zone created with soa_edit_api EPOCH", "PATCH", zp("golf2.example."),
      patch(rrset("www.golf2.example.", "A", ["192.0.2.43"], changetype="REPLACE")),
      zones=["golf2.example."])
    s("PATCH of a zone created with nameservers only", "PATCH", zp("alpha.example."),
      patch(rrset("alpha.example.", "MX", ["10 mail.alpha.example."], changetype="REPLACE"),
            rrset("mail.alpha.example.", "A", [MAIL_A], changetype="REPLACE"),
            rrset("alpha.example.", "A", ["192.0.2.11"], changetype="REPLACE")),
      zones=["alpha.example."])
    s("PATCH of a slave zone", "PATCH", zp("echo.example."),
      patch(rrset("www.echo.example.", "A", ["192.0.2.42"], changetype="REPLACE")),
      zones=["echo.example."])
    s("GET a zone", "GET", zp(Z), norm=norm_zone)
    s("GET a zone without the trailing dot", "GET", zp("bravo.example"), norm=norm_zone)
    s("GET an unknown zone", "GET", zp("unknown.example."))

    # -- metadata --
    M = zp(Z) + "/metadata"
    s("metadata list", "GET", M, norm=norm_meta)
    s("metadata PUT ALLOW-AXFR-FROM", "PUT", M + "/ALLOW-AXFR-FROM",
      {"kind": "ALLOW-AXFR-FROM", "metadata": ["127.0.0.1", "192.0.2.0/24"]}, zones=[Z],
      norm=norm_meta)
    s("metadata GET ALLOW-AXFR-FROM", "GET", M + "/ALLOW-AXFR-FROM", norm=norm_meta)
    s("metadata POST ALSO-NOTIFY", "POST", M, {"kind": "ALSO-NOTIFY",
                                               "metadata": ["192.0.2.54:5300"]},
      zones=[Z], norm=norm_meta)
    s("metadata POST ALSO-NOTIFY again (appends)", "POST", M,
      {"kind": "ALSO-NOTIFY", "metadata": ["192.0.2.55"]}, zones=[Z], norm=norm_meta)
    s("metadata GET ALSO-NOTIFY", "GET", M + "/ALSO-NOTIFY", norm=norm_meta)
    s("metadata PUT ALSO-NOTIFY (replaces)", "PUT", M + "/ALSO-NOTIFY",
      {"kind": "ALSO-NOTIFY", "metadata": ["192.0.2.56"]}, zones=[Z], norm=norm_meta)
    s("metadata list after the writes", "GET", M, norm=norm_meta)
    s("metadata DELETE ALSO-NOTIFY", "DELETE", M + "/ALSO-NOTIFY", zones=[Z], norm=norm_meta)
    s("metadata GET ALSO-NOTIFY after the delete", "GET", M + "/ALSO-NOTIFY", norm=norm_meta)
    s("metadata PUT of a kind the API may not set", "PUT", M + "/NSEC3PARAM",
      {"kind": "NSEC3PARAM", "metadata": ["1 0 1 ab"]}, zones=[Z], norm=norm_meta)
    s("metadata POST without kind", "POST", M, {"metadata": ["x"]}, zones=[Z], norm=norm_meta)
    s("metadata POST malformed JSON", "POST", M, '{"kind": "ALSO-NOTIFY", ', zones=[Z])
    s("metadata PUT malformed JSON", "PUT", M + "/ALSO-NOTIFY", '{"metadata": [', zones=[Z])
    s("metadata PUT, metadata not a list", "PUT", M + "/ALSO-NOTIFY",
      {"kind": "ALSO-NOTIFY", "metadata": "192.0.2.1"}, zones=[Z], norm=norm_meta)
    s("metadata of an unknown zone", "GET", zp("unknown.example.") + "/metadata")
    s("metadata with a wrong key", "PUT", M + "/ALLOW-AXFR-FROM",
      {"kind": "ALLOW-AXFR-FROM", "metadata": ["0.0.0.0/0"]}, key="wrong-key", zones=[Z])
    s("metadata list at the end", "GET", M, norm=norm_meta)

    # -- PUT /zones/{id}: settings --
    A = "alpha.example."
    s("PUT kind Master", "PUT", zp(A), {"kind": "Master"}, zones=[A])
    # Making a zone a secondary takes it out of the guard's blocking (PRODUCT.md §3): the front
    # may keep that, and setting masters, to the operator key. These go with it.
    s("PUT kind Slave with masters", "PUT", zp(A), {"kind": "Slave", "masters": ["192.0.2.53"]},
      key="operator", zones=[A])
    s("PUT masters only", "PUT", zp(A), {"masters": ["192.0.2.53", "192.0.2.54:5300"]},
      key="operator", zones=[A])
    s("PUT kind Native, masters emptied", "PUT", zp(A), {"kind": "Native", "masters": []},
      key="operator", zones=[A])
    s("PUT kind unknown", "PUT", zp(A), {"kind": "Bogus"}, zones=[A])
    s("PUT masters not addresses", "PUT", zp(A), {"masters": ["not-an-ip"]}, key="operator",
      zones=[A])
    s("PUT soa_edit_api EPOCH", "PUT", zp(A), {"soa_edit_api": "EPOCH"}, zones=[A])
    s("PUT soa_edit_api an unknown value", "PUT", zp(A), {"soa_edit_api": "NONSENSE"}, zones=[A])
    s("PUT soa_edit and api_rectify", "PUT", zp(A), {"soa_edit": "INCEPTION-EPOCH",
                                                     "api_rectify": False}, zones=[A])
    s("PUT an empty object", "PUT", zp(A), {}, zones=[A])
    s("PUT malformed JSON", "PUT", zp(A), '{"kind": ', zones=[A])
    s("PUT kind of the slave zone to Native", "PUT", zp("echo.example."), {"kind": "Native"},
      zones=["echo.example."])
    s("PUT of an unknown zone", "PUT", zp("unknown.example."), {"kind": "Master"},
      zones=["unknown.example."])
    s("PUT with a wrong key", "PUT", zp(A), {"kind": "Master"}, key="wrong-key", zones=[A])
    s("zone list after the settings", "GET", ZONES, norm=norm_list)


def random_patches(run, seed, count):
    rnd = random.Random(seed)
    zones = ["bravo.example.", "foxtrot.example.", "hotel.example."]
    labels = ["www", "w1", "w2", "api", "shop", "blog", "a.b", "deep.x.y", "cdn", "img", "news"]
    types = ["A", "AAAA", "TXT", "CNAME", "MX"]
    words = ["hello", "v=spf1 -all", "key=value", "a b c", "semi;colon", "x" * 40]

    def content(t, zone):
        if t == "A":
            return "%s.%d" % (rnd.choice(["192.0.2", "198.51.100", "203.0.113"]),
                              rnd.randint(1, 254))
        if t == "AAAA":
            return "2001:db8::%x" % rnd.randint(1, 0xffff)
        if t == "TXT":
            return '"%s"' % rnd.choice(words)
        if t == "CNAME":
            return rnd.choice(["www.", "cdn.", "shop.", ""]) + zone \
                if rnd.random() < 0.6 else rnd.choice(["target.example.net.", "cdn.example.org."])
        return "%d %s" % (rnd.choice([0, 10, 20]),
                          rnd.choice(["mail." + zone, "mx.example.net."]))

    for i in range(count):
        zone = rnd.choice(zones)
        rrsets = []
        for _ in range(rnd.choice([1, 1, 2, 3])):
            name = "%s.%s" % (rnd.choice(labels), zone)
            t = rnd.choice(types)
            if rnd.random() < 0.2:
                rrsets.append({"name": name, "type": t, "changetype": "DELETE"})
                continue
            n = 1 if t == "CNAME" else rnd.choice([1, 1, 2, 3])
            recs = sorted({content(t, zone) for _ in range(n)})
            rrsets.append(rrset(name, t, recs, ttl=rnd.choice([60, 300, 3600]),
                                changetype="REPLACE"))
        run.send("random PATCH %d/%d (seed %d)" % (i + 1, count, seed), "PATCH",
                 "%s/%s" % (ZONES, zone), {"rrsets": rrsets}, zones=[zone])


def deletion_sequence(run):
    s = run.send
    zp = lambda z: "%s/%s" % (ZONES, z)  # noqa: E731
    G = "golf.example."
    s("metadata on a zone about to go", "PUT", zp(G) + "/metadata/ALLOW-AXFR-FROM",
      {"kind": "ALLOW-AXFR-FROM", "metadata": ["127.0.0.1"]}, zones=[G])
    s("DELETE with a wrong key", "DELETE", zp(G), key="wrong-key", zones=[G])
    s("DELETE a zone", "DELETE", zp(G), zones=[G])
    s("GET the deleted zone", "GET", zp(G))
    s("DELETE the deleted zone again", "DELETE", zp(G), zones=[G])
    s("PATCH the deleted zone", "PATCH", zp(G),
      patch(rrset("www." + G, "A", ["192.0.2.1"], changetype="REPLACE")), zones=[G])
    s("metadata of the deleted zone", "GET", zp(G) + "/metadata")
    s("create the deleted zone again", "POST", ZONES, zone_body(G, rrsets=realistic(G)),
      zones=[G], norm=norm_zone)
    s("its metadata: nothing of the old zone", "GET", zp(G) + "/metadata", norm=norm_meta)
    s("DELETE the slave zone", "DELETE", zp("echo.example."), zones=["echo.example."])
    s("DELETE a zone without the trailing dot", "DELETE", zp("echo2.example"),
      zones=["echo2.example."])
    s("DELETE an unknown zone", "DELETE", zp("unknown.example."))
    s("zone list at the end", "GET", ZONES, norm=norm_list)
    for z in ("alpha.example.", "bravo.example.", "charlie.example.", "delta.example.",
              "foxtrot.example.", "golf.example.", "golf2.example.", "hotel.example.",
              "india.example.", "juliet.example."):
        run.get_zone(z, "at the end")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--front", required=True)
    ap.add_argument("--front-key", required=True, help="the panel key (api-key)")
    ap.add_argument("--front-operator-key", help="operator-key, for the requests that need it")
    ap.add_argument("--ref", required=True)
    ap.add_argument("--ref-key", required=True)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--random", type=int, default=30)
    ap.add_argument("--report", help="write the differences here as JSON")
    ap.add_argument("--log", help="write a line per check here (default: standard output)")
    a = ap.parse_args()
    log = open(a.log, "w") if a.log else sys.stdout
    run = Run(Side("front", a.front, a.front_key, a.front_operator_key), Side("pdns", a.ref, a.ref_key), log)
    for side in (run.front, run.ref):
        st, _, _ = side.request("GET", API)
        if st != 200:
            print("%s: GET %s answered %d" % (side.label, API, st))
            return 2
    fixed_sequence(run)
    random_patches(run, a.seed, a.random)
    deletion_sequence(run)

    if a.log:
        log.close()
        print("a line per check: %s" % a.log)
    print("normalised (front and pdns alike):")
    for what, n in sorted(NORMALISED.items()):
        print("  %-55s %d times" % (what, n))
    print("%d checks, %d failed, %d distinct differences, %d notes on error texts" % (
        run.checks, run.failed, len(run.distinct), len(run.notes)))
    if run.distinct:
        print("distinct differences (front vs pdns on gsqlite3), each with where it was seen first:")
        for i, e in enumerate(run.distinct.values(), 1):
            more = len(e["seen"]) - 1
            print("  %d. %s" % (i, e["first"]))
            print("     %s%s" % (e["detail"], " (seen %d more times)" % more if more else ""))
            for c in e["context"]:
                print("     %s" % c)
    if a.report:
        with open(a.report, "w") as f:
            json.dump({"checks": run.checks, "failed": run.failed,
                       "differences": list(run.distinct.values()),
                       "notes": [{"step": s, "note": n} for s, n in run.notes],
                       "normalised": dict(NORMALISED)}, f, indent=1)
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
