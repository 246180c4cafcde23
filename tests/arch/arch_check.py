#!/usr/bin/python3
"""arch_check.py -- docs/architecture.md's module table against the code.

    arch_check.py [REPO]          check (exit 1 and say what differs)
    arch_check.py --show [REPO]   print what each row's files use, in the table's words
    arch_check.py --doc FILE REPO check FILE in place of REPO/docs/architecture.md

Each row of the table under "## Modules" names its files in the first column (backticked paths,
`src/...` or `include/mxg/...`) and, in the last column ("may use"), what they may use: other
modules by their header's name (`store`, `proto`, `engine`, ...) and libraries (`libuv`,
`jansson`, `SQLite`, `libpq`, `libknot`, `libzscanner`, `OpenSSL`, `libmicrohttpd`, `libcurl`,
`libsystemd`), comma-separated, or `—` for nothing. What a row's files use is what they and
their own headers (include/mxg/<name>.h) include directly, less what every module may use
(err, limits, log, hash, array, hashset) and their own headers. The check fails when a row's
files use something its list does not name, when the list names something they do not use, when
a source file is in no row, or when a row names a file that does not exist.
"""
import os
import re
import sys

ANYONE = {"err", "limits", "log", "hash", "array", "hashset"}
LIBS = [
    (r"^uv\.h$", "libuv"),
    (r"^jansson\.h$", "jansson"),
    (r"^sqlite3\.h$", "SQLite"),
    (r"^libpq-fe\.h$", "libpq"),
    (r"^libknot/", "libknot"),
    (r"^libzscanner/", "libzscanner"),
    (r"^openssl/", "OpenSSL"),
    (r"^microhttpd\.h$", "libmicrohttpd"),
    (r"^curl/", "libcurl"),
    (r"^systemd/", "libsystemd"),
]
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def rows(doc):
    """[(files, allowed-set)] from the Modules table."""
    part = doc.split("## Modules", 1)[1].split("\n## ", 1)[0]
    out = []
    for line in part.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        files = re.findall(r"`([^`]+)`", cells[0])
        allowed = cells[-1]
        names = set() if allowed in ("—", "-", "") else {w.strip() for w in allowed.split(",")}
        out.append((files, names))
    return out


def own_headers(path, repo):
    """The headers a file counts as its own: include/mxg/<stem>.h, else <stem before _>.h."""
    stem = os.path.splitext(os.path.basename(path))[0]
    if path.startswith("include/mxg/"):
        return {stem}
    if os.path.exists(os.path.join(repo, "include/mxg", stem + ".h")):
        return {stem}
    return {stem.split("_")[0]}


def uses(path, repo):
    """What one file (and its own header) includes, in the table's words."""
    found = set()
    own = own_headers(path, repo)
    paths = [path] + [os.path.join("include/mxg", h + ".h") for h in own]
    for p in paths:
        full = os.path.join(repo, p)
        if not os.path.exists(full):
            continue
        for kind, name in INCLUDE.findall(open(full, encoding="utf-8").read()):
            if kind == '"':
                found.add(os.path.splitext(os.path.basename(name))[0])
            else:
                for pat, lib in LIBS:
                    if re.search(pat, name):
                        found.add(lib)
    return found - ANYONE - own


def check(repo, show, doc_path=None):
    doc = open(doc_path or os.path.join(repo, "docs/architecture.md"), encoding="utf-8").read()
    bad, listed = [], set()
    for files, allowed in rows(doc):
        used = set()
        for f in files:
            listed.add(f)
            if not os.path.exists(os.path.join(repo, f)):
                bad.append("%s: named in the table, no such file" % f)
                continue
            used |= uses(f, repo)
        label = ", ".join(files)
        if show:
            print("%s: %s" % (label, ", ".join(sorted(used, key=str.lower)) or "—"))
            continue
        for u in sorted(used - allowed):
            bad.append("%s: uses %s, which its row does not name" % (label, u))
        for a in sorted(allowed - used):
            bad.append("%s: its row names %s, which it does not use" % (label, a))
    for top in ("src", "src/store"):
        for f in sorted(os.listdir(os.path.join(repo, top))):
            p = top + "/" + f
            if f.endswith(".c") and p not in listed:
                bad.append("%s: in no row of the table" % p)
    return bad


def main():
    args = sys.argv[1:]
    show = bool(args) and args[0] == "--show"
    if show:
        args = args[1:]
    doc = None
    if len(args) >= 2 and args[0] == "--doc":
        doc, args = args[1], args[2:]
    repo = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "../..")
    bad = check(repo, show, doc)
    for b in bad:
        print("architecture.md:", b)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
