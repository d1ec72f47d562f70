#!/usr/bin/env bash
# Make sure a Docker engine answers, starting one if needed.
#
#   scripts/ensure-docker.sh [--pidfile FILE]
#
# - If `docker info` already answers (DOCKER_HOST is honoured), do nothing.
# - Otherwise install Debian's docker.io if `dockerd` is missing (needs root and apt), start `dockerd`
#   in the background (log: $DOCKERD_LOG, default /var/log/authjs-refresh-dockerd.log) and wait, bounded
#   ($DOCKER_WAIT_SECONDS, default 60), until `docker info` answers.
# - With --pidfile FILE, the pid of a dockerd that THIS script started is written to FILE (and FILE is
#   removed when the script started nothing), so a caller can stop exactly that daemon afterwards.
#
# Exit status: 0 when an engine answers at the end, non-zero (with the reason) otherwise.
set -euo pipefail

pidfile=""
while [ $# -gt 0 ]; do
  case "$1" in
    --pidfile) pidfile="${2:?--pidfile needs a path}"; shift 2 ;;
    *) echo "ensure-docker: unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ -n "$pidfile" ] && rm -f "$pidfile"

say() { echo "ensure-docker: $*"; }
# pid_alive PID: the process exists and is not a zombie waiting to be reaped.
pid_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
  stat="${stat##*) }"
  case "${stat%% *}" in Z | X) return 1 ;; *) return 0 ;; esac
}
log_file="${DOCKERD_LOG:-/var/log/authjs-refresh-dockerd.log}"
wait_seconds="${DOCKER_WAIT_SECONDS:-60}"
apt_log="$(dirname "$log_file")/authjs-refresh-apt-docker.log"

docker_answers() {
  command -v docker >/dev/null 2>&1 || return 1
  timeout 10 docker info --format '{{.ServerVersion}}' >/dev/null 2>&1
}

if docker_answers; then
  say "a Docker engine already answers (server $(timeout 10 docker info --format '{{.ServerVersion}} / {{.Driver}}' 2>/dev/null)${DOCKER_HOST:+ at $DOCKER_HOST}); nothing to do"
  exit 0
fi

# Only a local unix socket can be served by a dockerd we start here.
host="${DOCKER_HOST:-unix:///var/run/docker.sock}"
case "$host" in
  unix://*) socket="${host#unix://}" ;;
  *) say "DOCKER_HOST=$host does not answer and is not a local unix socket: cannot start an engine for it" >&2; exit 1 ;;
esac

if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "dockerd is missing and cannot be installed here (needs root and apt-get)" >&2
    exit 1
  fi
  say "dockerd is missing: installing Debian's docker.io"
  started=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends docker.io >"$apt_log" 2>&1; then
    say "first install attempt failed; running apt-get update and retrying"
    apt-get update -q >>"$apt_log" 2>&1 || true
    if ! apt-get install -y -q --no-install-recommends docker.io >>"$apt_log" 2>&1; then
      tail -n 30 "$apt_log" >&2
      say "apt-get install docker.io failed (log above)" >&2
      exit 1
    fi
  fi
  say "installed docker.io in $((SECONDS - started)) s ($(dockerd --version 2>/dev/null || echo '?'))"
fi

if [ "$(id -u)" != 0 ]; then
  say "no Docker engine answers and starting dockerd needs root" >&2
  exit 1
fi

# One dockerd per machine: a live one that does not answer at $host is not ours to replace.
if [ -s /var/run/docker.pid ] && pid_alive "$(cat /var/run/docker.pid)"; then
  say "a dockerd is already running (pid $(cat /var/run/docker.pid)) but does not answer at $host; not starting another" >&2
  exit 1
fi

# A socket file left by a dead daemon makes dockerd refuse to start on it.
if [ -S "$socket" ] && ! docker_answers; then
  say "removing stale socket $socket"
  rm -f "$socket"
fi
mkdir -p "$(dirname "$socket")" "$(dirname "$log_file")"

say "starting dockerd on unix://$socket (log: $log_file)"
started=$SECONDS
# setsid: its own session, so signals aimed at this script's process group do not reach it.
setsid dockerd --host "unix://$socket" >>"$log_file" 2>&1 </dev/null &
dockerd_pid=$!
[ -n "$pidfile" ] && echo "$dockerd_pid" >"$pidfile"

export DOCKER_HOST="unix://$socket"
while ! docker_answers; do
  if ! pid_alive "$dockerd_pid"; then
    tail -n 30 "$log_file" >&2 || true
    [ -n "$pidfile" ] && rm -f "$pidfile"
    say "dockerd exited during start-up (log above)" >&2
    exit 1
  fi
  if [ $((SECONDS - started)) -ge "$wait_seconds" ]; then
    tail -n 30 "$log_file" >&2 || true
    say "dockerd (pid $dockerd_pid) did not answer within ${wait_seconds} s; stopping it (log above)" >&2
    kill "$dockerd_pid" 2>/dev/null || true
    [ -n "$pidfile" ] && rm -f "$pidfile"
    exit 1
  fi
  sleep 0.5
done
say "dockerd pid $dockerd_pid answers after $((SECONDS - started)) s (server $(docker info --format '{{.ServerVersion}}, storage driver {{.Driver}}' 2>/dev/null))"
