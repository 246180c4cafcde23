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
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
# The Debian package enables and (on a booted system) starts pdns with its bind backend on
# port 53; mxguard's demo and tests run their own pdns instances and need none of that.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now pdns.service >/dev/null 2>&1 || true
fi
