#!/usr/bin/env bash
# Build a local MariaDB 10.11 Docker image from this machine's own Debian mariadb-server, with no registry.
#
#   scripts/build-mariadb-image.sh [--force]
#
# Tag: $AUTHJS_REFRESH_MYSQL_IMAGE, default authjs-refresh/mariadb:10.11-local. Skipped when the tag already
# exists (unless --force). Installs Debian's mariadb-server first when mariadbd is missing
# (scripts/ensure-mariadb-server.sh).
#
# What the image provides (what src/harness/mariadb.ts runs with testcontainers' GenericContainer):
# - a data directory initialised at build time (mariadb-install-db on the host, so a container starts in
#   about a second), owned by uid/gid 999 ("mysql"), the user the server runs as;
# - entrypoint: writes an --init-file that gives root@'%' (and the loopback root accounts) the password in
#   $MARIADB_ROOT_PASSWORD (required), then execs mariadbd on 0.0.0.0:3306 with the container's arguments appended (the harness
#   passes its test settings); the server logs "ready for connections" to stderr, which the harness waits for;
# - the mariadb and mariadb-admin clients (smoke test below, `docker exec` by hand), bash, cat, grep, awk.
set -euo pipefail

image="${AUTHJS_REFRESH_MYSQL_IMAGE:-authjs-refresh/mariadb:10.11-local}"
force=0
[ "${1:-}" = "--force" ] && force=1
say() { echo "build-mariadb-image: $*"; }
started=$SECONDS

command -v docker >/dev/null 2>&1 || { say "no docker client on PATH" >&2; exit 1; }
old_id="$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
if [ "$force" = 0 ] && [ -n "$old_id" ]; then
  say "image $image already exists ($(docker image inspect --format '{{.Id}} created {{.Created}}' "$image")); skipping the build (use --force to rebuild)"
  exit 0
fi

bash "$(dirname "${BASH_SOURCE[0]}")/ensure-mariadb-server.sh"
server=/usr/sbin/mariadbd
say "using $("$server" --version)"

rootfs="$(mktemp -d "${TMPDIR:-/tmp}/authjs-refresh-mariadb-rootfs.XXXXXX")"
trap 'rm -rf "$rootfs"' EXIT
chmod 755 "$rootfs"

# Keep the host's merged-/usr layout (bin -> usr/bin, lib -> usr/lib, ...) so library paths printed by
# ldd land on the same files inside the image.
for d in bin sbin lib lib32 lib64 libx32; do
  if [ -L "/$d" ]; then
    link="$(readlink "/$d")"
    ln -s "$link" "$rootfs/$d"
    case "$link" in /*) mkdir -p "$rootfs$link" ;; *) mkdir -p "$rootfs/$link" ;; esac
  fi
done
mkdir -p "$rootfs/usr/bin" "$rootfs/usr/sbin" "$rootfs/usr/lib" "$rootfs/usr/local/bin" "$rootfs/etc" "$rootfs/dev" \
  "$rootfs/proc" "$rootfs/sys" "$rootfs/root"

copy_to_rootfs() {
  mkdir -p "$rootfs$(dirname "$1")"
  cp -a "$1" "$rootfs$(dirname "$1")/"
}

# add PATH...: copy each path into the image at the same place; a symlink brings its target along.
add() {
  local p target
  for p in "$@"; do
    [ -e "$p" ] || [ -L "$p" ] || { say "missing on this machine: $p" >&2; exit 1; }
    if [ -e "$rootfs$p" ] || [ -L "$rootfs$p" ]; then continue; fi
    copy_to_rootfs "$p"
    if [ -L "$p" ]; then
      target="$(readlink "$p")"
      case "$target" in /*) ;; *) target="$(dirname "$p")/$target" ;; esac
      add "$(realpath -s -m "$target")"
    fi
  done
}

elves=("$server" /usr/bin/mariadb /usr/bin/mariadb-admin)
add "${elves[@]}"
# Error messages (english) and character sets; other languages and the bootstrap SQL stay out.
mkdir -p "$rootfs/usr/share/mysql"
cp -a /usr/share/mysql/english /usr/share/mysql/charsets "$rootfs/usr/share/mysql/"

tools=()
for t in bash cat rm mkdir ls id env sleep grep awk; do
  p="$(command -v "$t")" || { say "tool $t not found on this machine" >&2; exit 1; }
  tools+=("$p")
done
add "${tools[@]}"
for t in "${tools[@]}"; do elves+=("$(readlink -f "$t")"); done
ln -sf bash "$rootfs/usr/bin/sh"

libs="$(for f in "${elves[@]}"; do
  ldd "$f" 2>/dev/null | awk '/=> \// { print $3 } /^[[:space:]]*\/[^ ]+ \(/ { print $1 }'
done | sort -u)"
n_libs=0
for l in $libs; do add "$l"; n_libs=$((n_libs + 1)); done

cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/bash
mysql:x:999:999:MariaDB Server:/var/lib/mysql:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
mysql:x:999:
nogroup:x:65534:
GROUP
cat >"$rootfs/etc/nsswitch.conf" <<'NSS'
passwd: files
group: files
shadow: files
hosts: files dns
NSS
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$rootfs/etc/hosts"
mkdir -p "$rootfs/tmp" "$rootfs/run/mysqld" "$rootfs/var/lib/mysql"
chmod 1777 "$rootfs/tmp"

# The system tables, made here with the host's own mariadb-install-db: it needs tools the image does not
# carry (my_print_defaults, the bootstrap SQL), and a container then starts without that step.
install_log="$rootfs.install.log"
if ! mariadb-install-db --no-defaults --datadir="$rootfs/var/lib/mysql" --user="$(id -un)" \
  --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
  --innodb-use-native-aio=0 --innodb-log-file-size=16M >"$install_log" 2>&1; then
  tail -n 30 "$install_log" >&2
  rm -f "$install_log"
  say "mariadb-install-db failed (log above)" >&2
  exit 1
fi
rm -f "$install_log"
chown -R 999:999 "$rootfs/var/lib/mysql" "$rootfs/run/mysqld"
chmod 700 "$rootfs/var/lib/mysql"

cat >"$rootfs/usr/local/bin/docker-entrypoint.sh" <<'ENTRY'
#!/bin/bash
# Minimal stand-in for the official mariadb image's entrypoint: MARIADB_ROOT_PASSWORD (required) is the
# password of root@'%'; arguments starting with "-" are appended to mariadbd's. Runs as "mysql" (999).
set -euo pipefail
if [ "$#" -gt 0 ] && [ "${1:0:1}" != "-" ]; then exec "$@"; fi
if [ -z "${MARIADB_ROOT_PASSWORD:-}" ]; then
  echo "docker-entrypoint: MARIADB_ROOT_PASSWORD is required" >&2
  exit 1
fi
pw="${MARIADB_ROOT_PASSWORD//\\/\\\\}"
pw="${pw//\'/\'\'}"
init=/tmp/init.sql
# root from anywhere (published ports arrive from the bridge), and the same password for the loopback
# root accounts mariadb-install-db made (they match before '%' does, for `docker exec` clients).
umask 077
: >"$init"
for host in % 127.0.0.1 ::1 localhost; do
  printf "CREATE USER IF NOT EXISTS 'root'@'%s' IDENTIFIED BY '%s';\nALTER USER 'root'@'%s' IDENTIFIED BY '%s';\nGRANT ALL PRIVILEGES ON *.* TO 'root'@'%s' WITH GRANT OPTION;\n" \
    "$host" "$pw" "$host" "$pw" "$host" >>"$init"
done
exec mariadbd --no-defaults --datadir=/var/lib/mysql --port=3306 --bind-address=0.0.0.0 \
  --socket=/run/mysqld/mysqld.sock --pid-file=/run/mysqld/mysqld.pid --init-file="$init" \
  --skip-name-resolve --innodb-log-file-size=16M "$@"
ENTRY
chmod 755 "$rootfs/usr/local/bin/docker-entrypoint.sh"

size="$(du -sh "$rootfs" | cut -f1)"
say "root filesystem assembled in $((SECONDS - started)) s: $size, $n_libs shared libraries; importing as $image"
tar -C "$rootfs" --numeric-owner -cf - . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV TZ=UTC' \
  --change 'USER 999:999' \
  --change 'WORKDIR /var/lib/mysql' \
  --change 'EXPOSE 3306' \
  --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
  --message "MariaDB 10.11 assembled from this machine's Debian mariadb-server by scripts/build-mariadb-image.sh" \
  - "$image" >/dev/null
if [ -n "$old_id" ] && [ "$old_id" != "$(docker image inspect --format '{{.Id}}' "$image")" ]; then
  docker rmi "$old_id" >/dev/null 2>&1 || true
fi
say "built $image in $((SECONDS - started)) s ($(docker image inspect --format '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"

# Smoke test: the server answers root@'%' over TCP with the given password, then the container is removed.
cid="$(docker run -d -e MARIADB_ROOT_PASSWORD="smoke'pw" "$image" --innodb-buffer-pool-size=32M)"
ok=0
for _ in $(seq 1 120); do
  if docker exec "$cid" mariadb --no-defaults -h 127.0.0.1 -P 3306 -u root "-psmoke'pw" -N -e 'SELECT VERSION()' 2>/dev/null | grep -q '^10\.11\.'; then
    ok=1
    break
  fi
  sleep 0.25
done
if [ "$ok" != 1 ]; then
  docker logs "$cid" >&2 || true
  docker rm -f "$cid" >/dev/null 2>&1 || true
  say "smoke test FAILED: the image does not serve MariaDB (container log above)" >&2
  exit 1
fi
docker rm -f "$cid" >/dev/null
say "smoke test passed; total $((SECONDS - started)) s"
