#!/usr/bin/env bash
# tests/package/test_package.sh -- mxguard as an operator installs it.
#
# Builds mxguard for the prefix /usr (its own build directory, no tests), then:
#   - a staged install (DESTDIR) holds the binary, both man pages, the configuration, the
#     systemd unit with the install paths, the pdns drop-in and the docs;
#   - both man pages render without warnings (man --warnings); mxguard.conf(5) has every key
#     `config check --show` prints, in order, with its default, and mxguard(8) every command
#     of `mxguard --help` (tests/package/man_check.py; a page with a key or a command taken
#     out, or a default changed, must fail it);
#   - systemd-analyze verify accepts the staged unit (its man pages found in the stage);
#   - cpack makes the Debian package: its dependencies computed from the libraries, its files,
#     the configuration a conffile;
#   - as root with no mxguard package installed: dpkg -i, `mxguard version` and `mxguard
#     config check` work, the system user and the unit's enable link exist; dpkg -r leaves
#     nothing but the configuration; dpkg -P leaves nothing.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
it_init
repo=$IT_REPO_ROOT
# The build and the stage hold the docs, whose words the sanitizer-report scan of IT_WORK
# would take for reports: they live beside it.
out_dir=$(mktemp -d "${MXG_TEST_TMP:-/tmp}/mxg-pkg.XXXX")
IT_ON_EXIT+=("rm -rf '$out_dir'")
b=$out_dir/build
stage=$out_dir/stage
it_log "build for the prefix /usr"
cmake -S "$repo" -B "$b" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DMXG_TESTS=OFF \
    -DMXG_WERROR=ON >"$IT_WORK/cmake.log" 2>&1 || { cat "$IT_WORK/cmake.log"; it_die "cmake failed"; }
cmake --build "$b" -j"${JOBS:-2}" >"$IT_WORK/build.log" 2>&1 || { tail -30 "$IT_WORK/build.log"; it_die "build failed"; }
version=$(sed -n 's/^project(mxguard VERSION \([0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")

# ================================================================ staged install ==
DESTDIR=$stage cmake --install "$b" >"$IT_WORK/install.log" 2>&1 || { cat "$IT_WORK/install.log"; it_die "install failed"; }
for f in usr/bin/mxguard usr/share/man/man8/mxguard.8.gz usr/share/man/man5/mxguard.conf.5.gz \
    etc/mxguard/mxguard.conf usr/lib/systemd/system/mxguard.service \
    usr/lib/systemd/system/pdns.service.d/mxguard.conf usr/share/doc/mxguard/README.md \
    usr/share/doc/mxguard/operator-guide.md usr/share/doc/mxguard/examples/mxguard.conf.example \
    usr/share/doc/mxguard/examples/pdns.d-mxguard.conf; do
    if [ -f "$stage/$f" ]; then it_pass "staged: /$f"; else it_fail "staged: /$f missing"; fi
done
assert_eq "mxguard $version" "$("$stage/usr/bin/mxguard" version)" "the staged binary runs"
unit=$(cat "$stage/usr/lib/systemd/system/mxguard.service")
assert_contains "$unit" "ExecStart=/usr/bin/mxguard serve --config /etc/mxguard/mxguard.conf" "the unit names the install paths"
assert_contains "$unit" "Documentation=man:mxguard(8)" "the unit's documentation is mxguard(8)"
assert_contains "$unit" "ProtectSystem=strict" "the unit keeps its hardening"
assert_not_contains "$unit" "@MXG_" "no placeholder left in the unit"
# A second install keeps an operator's configuration.
echo "# edited" >>"$stage/etc/mxguard/mxguard.conf"
DESTDIR=$stage cmake --install "$b" >/dev/null 2>&1
assert_contains "$(cat "$stage/etc/mxguard/mxguard.conf")" "# edited" "a second install keeps the edited configuration"

# ===================================================================== man pages ==
for page in man8/mxguard.8.gz man5/mxguard.conf.5.gz; do
    warn=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$stage/usr/share/man/$page" 2>&1 >/dev/null)
    assert_eq "" "$warn" "man --warnings: $page renders without warnings"
    assert_not_contains "$(zcat "$stage/usr/share/man/$page")" "@MXG_" "$page: no placeholder left"
done
zcat "$stage/usr/share/man/man5/mxguard.conf.5.gz" >"$IT_WORK/mxguard.conf.5"
zcat "$stage/usr/share/man/man8/mxguard.8.gz" >"$IT_WORK/mxguard.8"
"$stage/usr/bin/mxguard" config check --show --config /dev/null >"$IT_WORK/show.txt" 2>/dev/null
"$stage/usr/bin/mxguard" --help >"$IT_WORK/help.txt" 2>&1 || true
check=$repo/tests/package/man_check.py
assert_ok "mxguard.conf(5) names every key of config check --show, in order, with its default" \
    /usr/bin/python3 "$check" conf "$IT_WORK/mxguard.conf.5" "$IT_WORK/show.txt"
assert_ok "mxguard(8) names every command of mxguard --help" \
    /usr/bin/python3 "$check" cmds "$IT_WORK/mxguard.8" "$IT_WORK/help.txt"
grep -v '^\.B api\\-timeout$' "$IT_WORK/mxguard.conf.5" >"$IT_WORK/nokey.5"
assert_fails "a page without a key fails the check" /usr/bin/python3 "$check" conf "$IT_WORK/nokey.5" "$IT_WORK/show.txt"
sed 's/^Default: \\fB256\\fP/Default: \\fB255\\fP/' "$IT_WORK/mxguard.conf.5" >"$IT_WORK/default.5"
assert_fails "a page with a wrong default fails the check" /usr/bin/python3 "$check" conf "$IT_WORK/default.5" "$IT_WORK/show.txt"
grep -v '^\.BR stats' "$IT_WORK/mxguard.8" >"$IT_WORK/nocmd.8"
assert_fails "a page without a command fails the check" /usr/bin/python3 "$check" cmds "$IT_WORK/nocmd.8" "$IT_WORK/help.txt"

# ======================================================================= the unit ==
if command -v systemd-analyze >/dev/null && [ -f /lib/systemd/system/pdns.service ]; then
    d=$IT_WORK/units
    mkdir -p "$d/pdns.service.d"
    # The unit as installed, its binary where the stage has it (verify runs it).
    sed "s#/usr/bin/mxguard#$stage/usr/bin/mxguard#g" "$stage/usr/lib/systemd/system/mxguard.service" >"$d/mxguard.service"
    cp /lib/systemd/system/pdns.service "$d/"
    cp "$stage/usr/lib/systemd/system/pdns.service.d/mxguard.conf" "$d/pdns.service.d/"
    out=$(MANPATH=$stage/usr/share/man: SYSTEMD_UNIT_PATH="$d:" systemd-analyze verify "$d/mxguard.service" "$d/pdns.service" 2>&1) && rc=0 || rc=$?
    printf '%s\n' "$out" | sed 's/^/    /'
    assert_eq "0 " "$rc $out" "systemd-analyze verify accepts the staged unit (its man pages found)"
    out=$(MANPATH=/nonexistent SYSTEMD_UNIT_PATH="$d:" systemd-analyze verify "$d/mxguard.service" 2>&1) || true
    assert_contains "$out" "man mxguard(8)" "and notices when its man page is missing"
else
    it_fail "systemd-analyze or Debian's pdns.service missing"
fi

# ===================================================================== the package ==
(cd "$b" && cpack >"$IT_WORK/cpack.log" 2>&1) || { cat "$IT_WORK/cpack.log"; it_die "cpack failed"; }
deb=$(ls "$b"/mxguard_"$version"_*.deb)
it_pass "package built: $(basename "$deb")"
depends=$(dpkg-deb -f "$deb" Depends)
it_log "Depends: $depends"
for lib in libuv1 libjansson4 libsqlite3-0 libpq5 libknot libzscanner libmicrohttpd12 libcurl4 libssl3 adduser pdns-backend-remote; do
    assert_contains "$depends" "$lib" "the package depends on $lib"
done
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/mxguard ./usr/share/man/man8/mxguard.8.gz ./usr/share/man/man5/mxguard.conf.5.gz \
    ./etc/mxguard/mxguard.conf ./usr/lib/systemd/system/mxguard.service \
    ./usr/lib/systemd/system/pdns.service.d/mxguard.conf; do
    assert_contains "$contents" " $f" "the package holds $f"
done
dpkg-deb -e "$deb" "$IT_WORK/control"
assert_eq "/etc/mxguard/mxguard.conf" "$(cat "$IT_WORK/control/conffiles")" "the configuration is a conffile"

if [ "$(id -u)" -ne 0 ] || dpkg-query -W -f='${Status}' mxguard 2>/dev/null | grep -q installed; then
    it_log "SKIP: installing the package needs root and no mxguard package installed"
    it_finish
fi
had_user=0
getent passwd mxguard >/dev/null && had_user=1
cleanup_pkg() {
    dpkg -P mxguard >/dev/null 2>&1 || true
    [ "$had_user" -eq 1 ] || deluser --system --quiet mxguard >/dev/null 2>&1 || true
    getent group mxguard >/dev/null && [ "$had_user" -eq 0 ] && delgroup --system --quiet mxguard >/dev/null 2>&1 || true
}
IT_ON_EXIT+=(cleanup_pkg)
# Everything of mxguard outside the dpkg database, sorted.
leftovers() {
    find /etc /usr /lib /var/lib/systemd /var/lib/mxguard -name '*mxguard*' 2>/dev/null |
        grep -v "^/usr/local/\|^$repo\|^$IT_WORK\|^$out_dir" | sort || true
}
before=$(leftovers)
assert_ok "dpkg -i installs the package" dpkg -i "$deb"
assert_eq "mxguard $version" "$(mxguard version 2>&1)" "mxguard version"
assert_ok "mxguard config check (the installed configuration)" mxguard config check
assert_ne "" "$(getent passwd mxguard)" "the system user exists"
assert_eq "/lib/systemd/system/mxguard.service" "$(readlink /etc/systemd/system/multi-user.target.wants/mxguard.service || true)" \
    "the unit is enabled the Debian way"
assert_eq "/usr/share/man/man8/mxguard.8.gz" "$(man -w mxguard 2>/dev/null)" "man finds mxguard(8)"
assert_ok "dpkg -r removes it" dpkg -r mxguard
assert_eq "" "$(ls /usr/bin/mxguard /usr/share/man/man8/mxguard.8.gz /usr/lib/systemd/system/mxguard.service 2>/dev/null || true)" \
    "removed: binary, man page, unit"
assert_eq "/etc/mxguard/mxguard.conf" "$(leftovers | grep -v '^/etc/systemd/\|^/var/lib/systemd/' | grep -vxF -f <(printf '%s\n' "$before" /etc/mxguard) || true)" \
    "removed: only the configuration (and the unit's enable state) stay"
assert_ok "dpkg -P purges it" dpkg -P mxguard
assert_eq "$before" "$(leftovers)" "purged: nothing of mxguard is left"
it_finish
