#!/usr/bin/env bash
# tests/integration/test_front_ui.sh -- the read-only operator page /ui/ (PRODUCT.md §6) of the
# HTTP API front, before a real pdns on mxguard, loaded in headless Chromium.
#   access: 401 with `WWW-Authenticate: Basic realm="mxguard"` without credentials or with a
#     wrong password, 403 for the panel key (X-API-Key or Basic), 200 for the operator key (X-API-Key
#     or the Basic password, any user name); /ui as /ui/; 405 for POST;
#   headers: text/html; charset=utf-8, Cache-Control: no-store, Content-Security-Policy;
#   content: after one allowed and one refused PATCH through the front, the page (as Chromium
#     renders it, --dump-dom) shows the zones by class (broken, at-risk, safe, no-mail), the
#     refusal marked with its rule and remedy, the allowed change, the counters and a valid chain;
#     a screenshot (1280x1600) of the page is kept in the work dir (printed; MXG_KEEP_TMP=1
#     keeps the dir, MXG_UI_SCREENSHOT=PATH also copies it there);
#   Chromium runs under `timeout` and leaves no process behind.
#
# Ports: DNS 5387 (pdns on mxguard), pdns API 8100, the front 8101.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guard_lib.sh"
mxg_require
it_init

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || it_die "Chromium not found at $CHROMIUM (Debian package chromium; or set CHROMIUM)"

PORT=5387
G_API=8100
FRONT=8101
OLD=192.0.2.10
NEW=203.0.113.80
PANEL=panel-key-ui
OPER=operator-key-ui
URL="http://127.0.0.1:$FRONT"
Z="$URL/api/v1/servers/localhost/zones"

# at-risk: mail follows the apex; safe: a dedicated mail host; no-mail: null MX; broken: the mail
# host already lies in proxy-ranges.
printf '@ IN A %s\n@ IN MX 10 @\nwww IN A 192.0.2.20\n' "$OLD" | g_zone ui.example
printf '@ IN A 192.0.2.31\n@ IN MX 10 mx\nmx IN A 192.0.2.30\n' | g_zone safe.example
printf '@ IN A 192.0.2.41\n@ IN MX 0 .\n' | g_zone nomail.example
printf '@ IN A 192.0.2.51\n@ IN MX 10 mx\nmx IN A 203.0.113.5\n' | g_zone broken.example

mxg_write_config "$IT_WORK/mxguard" "$PDNS_CONTROL --config-dir=$IT_WORK/pdns-ui"
{
    echo "mode=reject"
    echo "proxy-ranges=203.0.113.0/24"
    echo "api-listen=127.0.0.1:$FRONT"
    echo "api-key=$PANEL"
    echo "operator-key=$OPER"
    echo "pdns-api-url=http://127.0.0.1:$G_API"
    echo "pdns-api-key=secret"
} >>"$MXG_CONF"
mapfile -t zones < <(g_zone_list)
mxg_import_zones "${zones[@]}"
mxg_start
pdns_start --kind remote --port "$PORT" --api-port "$G_API" --name pdns-ui
front_wait "$URL"
# hdr NAME [CURL ARGS...] -- the value of one response header of GET /ui/ (no body).
hdr() {
    local name=$1
    shift
    curl -sS -m 20 -o /dev/null -D - "$@" "$URL/ui/" | tr -d '\r' |
        awk -v n="$(tr '[:upper:]' '[:lower:]' <<<"$name")" 'BEGIN{FS=": "} tolower($1)==n {sub(/^[^:]*: /, ""); print; exit}'
}
P=(-H "X-API-Key: $PANEL")

# --- one allowed and one refused PATCH through the front -----------------------------------------
r=$(fc "${P[@]}" -X PATCH -H 'Content-Type: application/json' \
    --data "$(body "$(rr www.ui.example. A 3600 198.51.100.7)")" "$Z/ui.example.")
assert_eq 204 "$(status "$r")" "allowed PATCH (www moved): 204"
assert_answer "$PORT" www.ui.example A 198.51.100.7
r=$(fc "${P[@]}" -X PATCH -H 'Content-Type: application/json' \
    --data "$(body "$(rr ui.example. A 3600 $NEW)")" "$Z/ui.example.")
assert_eq 422 "$(status "$r")" "apex A moved while MX points at the apex: 422"
assert_answer "$PORT" ui.example A "$OLD"
remedy=$(bodyof "$r" | python3 -c 'import json, sys; print(json.load(sys.stdin)["mxguard"]["remedies"][0])')
it_log "the refusal's remedy: $remedy"

# --- access ------------------------------------------------------------------------------------------
r=$(fc "$URL/ui/")
assert_eq 401 "$(status "$r")" "/ui/ without credentials: 401"
assert_eq 'Basic realm="mxguard"' "$(hdr WWW-Authenticate)" "401 asks for Basic credentials"
assert_eq 401 "$(status "$(fc -u "op:wrong" "$URL/ui/")")" "/ui/ with a wrong password: 401"
assert_eq 'Basic realm="mxguard"' "$(hdr WWW-Authenticate -u op:wrong)" "... asking again"
assert_eq 401 "$(status "$(fc -H "Authorization: Bearer $OPER" "$URL/ui/")")" "/ui/ with a Bearer token: 401"
assert_eq 403 "$(status "$(fc -u "op:$PANEL" "$URL/ui/")")" "/ui/ with the panel key as password: 403"
assert_eq 403 "$(status "$(fc "${P[@]}" "$URL/ui/")")" "/ui/ with the panel key in X-API-Key: 403"
assert_eq 401 "$(status "$(fc -u "op:$OPER" "$Z")")" "Basic is for the page only: 401 on the pdns API"
r=$(fc -u "op:$OPER" "$URL/ui/")
assert_eq 200 "$(status "$r")" "/ui/ with the operator key as password: 200"
assert_contains "$(bodyof "$r")" "<!DOCTYPE html>" "... an HTML page"
assert_eq 200 "$(status "$(fc -u "anyone:$OPER" "$URL/ui")")" "/ui, any user name: 200"
assert_eq 200 "$(status "$(fc -H "X-API-Key: $OPER" "$URL/ui/")")" "/ui/ with the operator key in X-API-Key: 200"
assert_eq 405 "$(status "$(fc -u "op:$OPER" -X POST "$URL/ui/")")" "POST /ui/: 405"
assert_eq "text/html; charset=utf-8" "$(hdr Content-Type -u "op:$OPER")" "Content-Type"
assert_eq "no-store" "$(hdr Cache-Control -u "op:$OPER")" "Cache-Control: no-store"
csp=$(hdr Content-Security-Policy -u "op:$OPER")
assert_contains "$csp" "default-src 'none'; style-src 'unsafe-inline'" "Content-Security-Policy: $csp"

# --- the page in Chromium -------------------------------------------------------------------------------
# chrome_run ARGS... -- headless Chromium on the page, Basic credentials in the URL, under
# timeout (which signals Chromium's whole process group).
chrome_run() {
    timeout -k 5 60 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu \
        --user-data-dir="$IT_WORK/chrome" --no-first-run --no-default-browser-check \
        --disable-extensions --disable-sync --disable-background-networking \
        --disable-component-update --disable-default-apps --hide-scrollbars \
        "$@" "http://op:$OPER@127.0.0.1:$FRONT/ui/" 2>>"$IT_WORK/chromium.log"
}
chrome_left() { pgrep -f -- "--user-data-dir=$IT_WORK/chrome" || true; }

if chrome_run --dump-dom >"$IT_WORK/ui.dom"; then
    it_pass "Chromium loaded the page ($(wc -c <"$IT_WORK/ui.dom") bytes of DOM)"
else
    it_fail "Chromium --dump-dom failed"
    it_tail "$IT_WORK/chromium.log"
fi
dom=$(cat "$IT_WORK/ui.dom")
assert_contains "$dom" "<h1>mxguard</h1>" "the page rendered (not a 401)"
# The DOM by section, through Python's HTML parser: what a reader of the page sees.
python3 - "$IT_WORK/ui.dom" >"$IT_WORK/ui.txt" <<'PY'
import html.parser, sys
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.path = []; self.out = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("section", "article") or (tag == "div" and ("id" in a or a.get("class") == "remedy")):
            self.out.append("\n[%s %s]" % (tag, a.get("id") or a.get("class")))
    def handle_data(self, d):
        if d.strip(): self.out.append(" " + " ".join(d.split()))
p = P(); p.feed(open(sys.argv[1]).read())
for line in "".join(p.out).split("\n"):
    if line.strip(): print(line.strip())
PY
sed 's/^/    /' "$IT_WORK/ui.txt" | head -n 60
line() { grep -F -- "$1" "$IT_WORK/ui.txt" | head -n 1; }
assert_contains "$(line '[div class-broken]')" "broken.example." "broken: broken.example."
assert_contains "$(line '[div class-at-risk]')" "ui.example." "at-risk: ui.example."
assert_contains "$(line '[div class-safe]')" "safe.example." "safe: safe.example."
assert_contains "$(line '[div class-no-mail]')" "nomail.example." "no-mail: nomail.example."
assert_contains "$(line '[section zones]')" "4 zones: 1 broken, 1 at-risk, 1 safe, 1 no-mail." "the class counts"
refusal=$(line '[article decision refused]')
assert_contains "$refusal" "reject ui.example." "a refusal is marked: $refusal"
assert_contains "$refusal" "source http" "... from the front (source http)"
assert_contains "$refusal" "mail-moved at ui.example." "... with its rule and name"
assert_contains "$refusal" "$OLD → $NEW" "... and the move"
assert_contains "$(line '[div remedy]')" "Remedy $remedy" "... and its remedy, as the 422 named it"
assert_eq 1 "$(grep -c -F '[article decision refused]' "$IT_WORK/ui.txt" || true)" "one refusal on the page"
allowed=$(line '[article decision]')
assert_contains "$allowed" "allow ui.example." "the allowed PATCH is there"
assert_contains "$allowed" "198.51.100.7" "... with its change"
chain=$(line '[div chain]')
assert_contains "$chain" "Chain valid" "the chain's state: $chain"
assert_contains "$(line '[section summary]')" "Refused by the API front 1" "the summary counts the 422"

# The screenshot: kept in the work dir.
rm -f "$IT_WORK/ui.png"
if chrome_run --screenshot="$IT_WORK/ui.png" --window-size=1280,1600 >>"$IT_WORK/chromium.log"; then
    it_pass "Chromium took the screenshot"
else
    it_fail "Chromium --screenshot failed"
    it_tail "$IT_WORK/chromium.log"
fi
if [ -s "$IT_WORK/ui.png" ] && [ "$(head -c 8 "$IT_WORK/ui.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
    it_pass "screenshot is a PNG of $(wc -c <"$IT_WORK/ui.png") bytes"
    size=$(python3 -c 'import struct, sys; d = open(sys.argv[1], "rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]))' "$IT_WORK/ui.png")
    assert_eq 1280x1600 "$size" "screenshot size"
else
    it_fail "no PNG screenshot at $IT_WORK/ui.png"
fi
it_log "screenshot: $IT_WORK/ui.png (the work dir is kept with MXG_KEEP_TMP=1)"
if [ -n "${MXG_UI_SCREENSHOT:-}" ] && [ -s "$IT_WORK/ui.png" ]; then
    cp "$IT_WORK/ui.png" "$MXG_UI_SCREENSHOT"
    it_log "screenshot copied to $MXG_UI_SCREENSHOT"
fi

# Nothing of Chromium left running.
left=$(chrome_left)
for ((i = 0; i < 50 && ${#left} > 0; i++)); do
    sleep 0.1
    left=$(chrome_left)
done
if [ -z "$left" ]; then
    it_pass "no Chromium process left"
else
    it_fail "Chromium processes left: $left"
    for pid in $left; do kill -KILL "$pid" 2>/dev/null || true; done
fi

it_alive "$MXG_PID" && it_pass "mxguard still running" || it_fail "mxguard died"
it_finish
