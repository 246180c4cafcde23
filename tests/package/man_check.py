#!/usr/bin/python3
"""man_check.py -- the man pages against the program, so they cannot drift.

    man_check.py conf MXGUARD_CONF_5 SHOW_OUTPUT   every key `config check --show` prints is an
                                                   entry of mxguard.conf(5), in the same order,
                                                   with the same default, and no entry more
    man_check.py cmds MXGUARD_8 HELP_OUTPUT        every command of `mxguard --help` is named in
                                                   mxguard(8)

Prints what differs and exits 1, or exits 0. SHOW_OUTPUT is `mxguard config check --show` of
an empty configuration (the defaults).
"""
import re
import sys


def plain(roff):
    """Roff text without font escapes and with \\- as -."""
    return re.sub(r"\\f[BIRP]", "", roff).replace("\\-", "-").replace("\\(dq", '"')


def conf_entries(page):
    """[(key, default)] from the KEYS section: a '.TP' then '.B key', and its 'Default:' line."""
    lines = plain(page).splitlines()
    out, key, in_keys = [], None, False
    for i, line in enumerate(lines):
        if line.startswith(".SH"):
            in_keys = line.strip() == ".SH KEYS"
            continue
        if not in_keys:
            continue
        if line == ".TP" and i + 1 < len(lines) and lines[i + 1].startswith(".B "):
            key = lines[i + 1][3:].strip()
        elif key and line.startswith("Default:"):
            value = line[len("Default:"):].strip().rstrip(".")
            out.append((key, "" if value in ("unset", "empty") else value))
            key = None
    return out


def conf(page_path, show_path):
    page = open(page_path, encoding="utf-8").read()
    show = []
    for line in open(show_path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line and not line.startswith("#"):
            k, _, v = line.partition("=")
            show.append((k, v))
    entries = conf_entries(page)
    bad = []
    if [k for k, _ in entries] != [k for k, _ in show]:
        missing = [k for k, _ in show if k not in dict(entries)]
        extra = [k for k, _ in entries if k not in dict(show)]
        bad.append("keys differ: missing %s, not a key %s, or out of order" % (missing, extra))
    for (k, d), (k2, v) in zip(entries, show):
        if k == k2 and d != v:
            bad.append("%s: the page says default %r, the program %r" % (k, d, v))
    return bad


def cmds(page_path, help_path):
    page = plain(open(page_path, encoding="utf-8").read())
    bad, seen = [], 0
    for line in open(help_path, encoding="utf-8"):
        m = re.match(r"^  ([a-z][a-z-]*)( (add|delete|list|show|export|verify|copy|check))?\b", line)
        if not m:
            continue
        seen += 1
        words = m.group(1) + (m.group(2) or "")
        if not re.search(r"^\.(B|BR|BI) .*\b" + re.escape(words) + r"\b", page, re.M) and \
                not re.search(r"^\.(B|BR|BI) \"?" + re.escape(words), page, re.M):
            bad.append("command not in the page: " + words)
    if seen < 10:
        bad.append("only %d commands found in the help text" % seen)
    return bad


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("conf", "cmds"):
        sys.exit(__doc__)
    bad = (conf if sys.argv[1] == "conf" else cmds)(sys.argv[2], sys.argv[3])
    for b in bad:
        print(b)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
