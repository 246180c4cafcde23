#!/usr/bin/env bash
# Installs every Debian 12 package mxguard needs to build, run its demo and run its tests.
# Idempotent; skips apt entirely when everything is already installed.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang clang-format clang-tidy cppcheck
  libuv1-dev libjansson-dev libcmocka-dev libsqlite3-dev libknot-dev libssl-dev libsystemd-dev
  pdns-server pdns-backend-remote pdns-backend-bind pdns-backend-sqlite3
  bind9-dnsutils sqlite3 curl python3 procps iproute2 systemd valgrind
  libmicrohttpd-dev libcurl4-openssl-dev lexicon
  chromium fonts-dejavu-core python3-prometheus-client ldnsutils
  libpq-dev postgresql postgresql-client pdns-backend-pgsql
  dpkg-dev man-db groff-base adduser init-system-helpers
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "install-deps: installing ${missing[*]}"
# Debian's postgresql package makes and starts a "main" cluster on install; the tests start
# their own servers (tests/pg.sh) and need none running, so none is made.
if [ ! -e /etc/postgresql-common/createcluster.d/mxguard-tests.conf ] &&
  ! dpkg-query -W -f='${Status}' postgresql-common 2>/dev/null | grep -q "install ok installed"; then
  $SUDO mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.d/mxguard-tests.conf >/dev/null
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
# The Debian package enables and (on a booted system) starts pdns with its bind backend on
# port 53; mxguard's demo and tests run their own pdns instances and need none of that.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now pdns.service >/dev/null 2>&1 || true
  $SUDO systemctl disable --now postgresql.service >/dev/null 2>&1 || true
fi
# A cluster made anyway (a machine where postgresql-common came first) is stopped: nothing of
# it may be left running.
if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters -h 2>/dev/null | while read -r ver name _ status _; do
    [ "$status" = online ] && $SUDO pg_ctlcluster "$ver" "$name" stop >/dev/null 2>&1 || true
  done
fi
