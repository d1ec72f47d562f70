#!/usr/bin/env bash
# Make sure Debian's redis-server binary (package redis-server) is here.
#
#   scripts/ensure-redis-server.sh
#
# The test harness runs it itself on a throwaway folder (packages/adapter-refresh-tests/src/harness/redis.ts);
# no system service is wanted, so the package's postinst is kept from starting one (policy-rc.d).
set -euo pipefail

say() { echo "ensure-redis-server: $*"; }
if [ -x /usr/bin/redis-server ]; then
  say "present: $(/usr/bin/redis-server --version)"
  exit 0
fi
[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || { say "redis-server is missing and cannot be installed here (needs root and apt-get)" >&2; exit 1; }
say "redis-server missing: installing Debian's redis-server"
started=$SECONDS
export DEBIAN_FRONTEND=noninteractive
added_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  added_policy=1
fi
trap 'if [ "$added_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
if ! apt-get install -y -q --no-install-recommends redis-server; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends redis-server
fi
say "installed in $((SECONDS - started)) s: $(/usr/bin/redis-server --version)"
