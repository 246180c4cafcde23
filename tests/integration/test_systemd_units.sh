#!/usr/bin/env bash
# tests/integration/test_systemd_units.sh -- the systemd units in pdns-config/ pass
# `systemd-analyze verify` together with Debian's pdns.service and the drop-in that orders pdns
# after mxguard; a deliberately broken copy fails, so the check has teeth.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mxg_require
it_init
if ! command -v systemd-analyze >/dev/null || [ ! -f /lib/systemd/system/pdns.service ]; then
    echo "SKIP: needs systemd-analyze and Debian's pdns.service"
    it_finish
fi
units="$IT_REPO_ROOT/pdns-config/systemd"
d="$IT_WORK/units"
mkdir -p "$d/pdns.service.d"
# The unit's template (CMake fills in the install paths), here with the built binary.
sed -e "s#@MXG_BINDIR@/mxguard#$MXGUARD#g" -e "s#@MXG_SYSCONFDIR@#/etc#g" "$units/mxguard.service.in" >"$d/mxguard.service"
cp /lib/systemd/system/pdns.service "$d/"
cp "$units/pdns.service.d/mxguard.conf" "$d/pdns.service.d/"

# (Its man pages are not installed here; tests/package/test_package.sh verifies the installed
# unit with them.)
verify() { SYSTEMD_UNIT_PATH="$d:" systemd-analyze verify --man=no "$@" 2>&1; }
out=$(verify "$d/mxguard.service" "$d/pdns.service") && rc=0 || rc=$?
printf '%s\n' "$out" | sed 's/^/    /'
assert_eq 0 "$rc" "systemd-analyze verify passes for mxguard.service and pdns.service"
assert_eq "" "$out" "and prints no warning about them"
assert_contains "$(cat "$d/mxguard.service")" "Type=notify" "mxguard.service waits for READY=1"
dropin=$(cat "$units/pdns.service.d/mxguard.conf")
assert_contains "$dropin" "After=mxguard.service" "pdns starts after mxguard is ready"
assert_contains "$dropin" "Requires=mxguard.service" "pdns requires mxguard"

sed 's#^ExecStart=.*#ExecStart=/nonexistent/mxguard serve#' "$d/mxguard.service" >"$d/broken.service"
verify "$d/broken.service" >/dev/null && rc=0 || rc=$?
assert_ne 0 "$rc" "a broken unit (missing binary) fails the same check"
sed 's/^Type=notify/Type=bogus/' "$d/mxguard.service" >"$d/warned.service"
assert_contains "$(verify "$d/warned.service")" "bogus" "a bad setting shows up as a warning"
it_finish
