#!/usr/bin/env bash
# Make sure Debian's MariaDB server binaries (mariadbd, mariadb-install-db: package mariadb-server) are here.
#
#   scripts/ensure-mariadb-server.sh
#
# The test harness runs them itself on a throwaway data directory (src/harness/mariadb.ts) and
# scripts/build-mariadb-image.sh copies them into the local image; no system service is wanted, so the
# package's postinst is kept from starting one (policy-rc.d), as scripts/build-postgres-image.sh does.
set -euo pipefail

say() { echo "ensure-mariadb-server: $*"; }
# Debian puts mariadbd in /usr/sbin, which a non-login root shell may not have on PATH.
if [ -x /usr/sbin/mariadbd ] && [ -x /usr/bin/mariadb-install-db ]; then
  say "present: $(/usr/sbin/mariadbd --version)"
  exit 0
fi
[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || { say "mariadb-server is missing and cannot be installed here (needs root and apt-get)" >&2; exit 1; }
say "mariadbd missing: installing Debian's mariadb-server"
started=$SECONDS
export DEBIAN_FRONTEND=noninteractive
added_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  added_policy=1
fi
trap 'if [ "$added_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
if ! apt-get install -y -q --no-install-recommends mariadb-server; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends mariadb-server
fi
say "installed in $((SECONDS - started)) s: $(/usr/sbin/mariadbd --version)"
