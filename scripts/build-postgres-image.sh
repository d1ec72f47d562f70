#!/usr/bin/env bash
# Build a local PostgreSQL 15 Docker image from this machine's own PostgreSQL binaries, with no registry.
#
#   scripts/build-postgres-image.sh [--force]
#
# Tag: $AUTHJS_REFRESH_PG_IMAGE, default authjs-refresh/postgres:15-local. Skipped when the tag already
# exists (unless --force). Installs Debian's postgresql-15 first when /usr/lib/postgresql/15 is missing.
#
# What the image must satisfy (read from @testcontainers/postgresql 12.0.1 and testcontainers 12.0.1):
# - env POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB create the role and database; port 5432 on all
#   interfaces with password (scram-sha-256) auth; default command `postgres` (PostgreSqlContainer may
#   append `-c key=value` arguments);
# - healthcheck ["CMD-SHELL", "PGPASSWORD=... pg_isready --host localhost --username U --dbname D"]: needs
#   /bin/sh, pg_isready on PATH and `localhost` resolvable (/etc/hosts + nsswitch). It must fail until the
#   role and database exist, so both are created before the server first listens (initdb + single-user
#   mode, never a temporary TCP server);
# - Wait.forListeningPorts() also runs, inside the container, `/bin/sh -c "cat /proc/net/tcp* | awk ... |
#   grep"`, `/bin/sh -c "nc -vz ..."` and `/bin/bash -c "</dev/tcp/localhost/5432"`; any one passing is
#   enough: bash's /dev/tcp (and cat/awk/grep) are included;
# - StartedPostgreSqlContainer.snapshot() runs `psql -U user -d postgres` over the unix socket (trusted).
set -euo pipefail

image="${AUTHJS_REFRESH_PG_IMAGE:-authjs-refresh/postgres:15-local}"
force=0
[ "${1:-}" = "--force" ] && force=1
say() { echo "build-postgres-image: $*"; }
started=$SECONDS

command -v docker >/dev/null 2>&1 || { say "no docker client on PATH" >&2; exit 1; }
old_id="$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
if [ "$force" = 0 ] && [ -n "$old_id" ]; then
  say "image $image already exists ($(docker image inspect --format '{{.Id}} created {{.Created}}' "$image")); skipping the build (use --force to rebuild)"
  exit 0
fi

pg_lib=/usr/lib/postgresql/15
pg_share=/usr/share/postgresql/15
if [ ! -x "$pg_lib/bin/postgres" ] || [ ! -x "$pg_lib/bin/pg_isready" ]; then
  say "PostgreSQL 15 binaries missing: installing Debian's postgresql-15"
  [ "$(id -u)" = 0 ] || { say "installing postgresql-15 needs root" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  # Debian's postinst would start a system cluster on port 5432; only the binaries are wanted here.
  added_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    added_policy=1
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends postgresql-15
  if [ "$added_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi
say "using $("$pg_lib/bin/postgres" --version)"

rootfs="$(mktemp -d "${TMPDIR:-/tmp}/authjs-refresh-pg-rootfs.XXXXXX")"
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
mkdir -p "$rootfs/usr/bin" "$rootfs/usr/lib" "$rootfs/usr/local/bin" "$rootfs/etc" "$rootfs/dev" \
  "$rootfs/proc" "$rootfs/sys" "$rootfs/root"

# copy_to_rootfs PATH: copy PATH (recursively, symlinks kept as symlinks) to the same place in the image.
# (Not `cp --parents`: coreutils 9.1 exits 1 with "No such file or directory" on it here,
# although it copies.)
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
      # Follow the chain one link at a time (e.g. /usr/bin/awk -> /etc/alternatives/awk -> mawk).
      target="$(readlink "$p")"
      case "$target" in /*) ;; *) target="$(dirname "$p")/$target" ;; esac
      add "$(realpath -s -m "$target")"
    fi
  done
}

# The ELF files whose shared libraries must come along.
elves=()
# PostgreSQL itself, without LLVM JIT (libLLVM alone is >100 MB; JIT stays off when llvmjit.so is absent).
copy_to_rootfs "$pg_lib"
rm -rf "$rootfs$pg_lib/lib/llvmjit.so" "$rootfs$pg_lib/lib/llvmjit_types.bc" "$rootfs$pg_lib/lib/bitcode"
copy_to_rootfs "$pg_share"
rm -rf "$rootfs$pg_share/man"
while IFS= read -r f; do elves+=("$f"); done < <(find "$pg_lib/bin" "$pg_lib/lib" -maxdepth 1 -type f \
  \( -name '*.so' -o -perm -u+x \) ! -name 'llvmjit*')
# Debian builds PostgreSQL --with-system-tzdata.
add /usr/share/zoneinfo
# initdb imports the collations `locale -a` lists; C.UTF-8 is the one every Debian has.
if [ -d /usr/lib/locale/C.utf8 ]; then add /usr/lib/locale/C.utf8; fi

# A shell and the few tools the entrypoint and testcontainers' port check use.
tools=()
for t in bash cat rm mkdir ls id env sleep chmod grep awk locale; do
  p="$(command -v "$t")" || { say "tool $t not found on this machine" >&2; exit 1; }
  tools+=("$p")
done
add "${tools[@]}"
for t in "${tools[@]}"; do elves+=("$(readlink -f "$t")"); done
ln -sf bash "$rootfs/usr/bin/sh"

# Shared libraries (and the dynamic loader) of every ELF file above.
libs="$(for f in "${elves[@]}"; do
  ldd "$f" 2>/dev/null | awk '/=> \// { print $3 } /^[[:space:]]*\/[^ ]+ \(/ { print $1 }'
done | sort -u)"
n_libs=0
for l in $libs; do add "$l"; n_libs=$((n_libs + 1)); done

# Users, name resolution, runtime directories. The server runs as uid/gid 999 ("postgres").
cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/bash
postgres:x:999:999:PostgreSQL administrator:/var/lib/postgresql:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
postgres:x:999:
nogroup:x:65534:
EOF
cat >"$rootfs/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
shadow: files
hosts: files dns
EOF
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$rootfs/etc/hosts"
mkdir -p "$rootfs/tmp" "$rootfs/var/run/postgresql" "$rootfs/var/lib/postgresql/data" \
  "$rootfs/docker-entrypoint-initdb.d"
chmod 1777 "$rootfs/tmp"
chown -R 999:999 "$rootfs/var/run/postgresql" "$rootfs/var/lib/postgresql"
chmod 2775 "$rootfs/var/run/postgresql"
chmod 700 "$rootfs/var/lib/postgresql/data"

cat >"$rootfs/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/bash
# Minimal stand-in for the official postgres image's entrypoint: POSTGRES_USER (default postgres),
# POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_DB (default: the user),
# POSTGRES_INITDB_ARGS, *.sql files in /docker-entrypoint-initdb.d. Runs as the image's user (postgres).
set -euo pipefail

if [ "${1:0:1}" = "-" ]; then set -- postgres "$@"; fi
if [ "$1" != "postgres" ]; then exec "$@"; fi

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA
user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"
host_auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$host_auth" != "trust" ]; then
    echo "docker-entrypoint: POSTGRES_PASSWORD is required (or POSTGRES_HOST_AUTH_METHOD=trust)" >&2
    exit 1
  fi
  pwfile="$(mktemp 2>/dev/null || echo "/tmp/pwfile.$$")"
  (umask 077; printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile")
  # A throwaway test server: --no-sync, like the -c fsync=off the harness passes.
  # shellcheck disable=SC2086
  initdb --pgdata="$PGDATA" --username="$user" --pwfile="$pwfile" --encoding=UTF8 --locale=C \
    --auth-local=trust --auth-host="$host_auth" --no-instructions --no-sync ${POSTGRES_INITDB_ARGS:-} >/dev/null
  rm -f "$pwfile"
  printf '\nhost all all all %s\n' "$host_auth" >>"$PGDATA/pg_hba.conf"
  printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"

  # Single-user mode: the database exists before the server ever listens, so the healthcheck
  # (pg_isready over TCP) cannot pass early.
  single() { postgres --single -D "$PGDATA" -c exit_on_error=on "$@"; }
  quoted_db="\"${db//\"/\"\"}\""
  if [ "$db" != "postgres" ]; then
    echo "CREATE DATABASE $quoted_db;" | single postgres >/dev/null
  fi
  shopt -s nullglob
  for f in /docker-entrypoint-initdb.d/*.sql; do
    echo "docker-entrypoint: running $f"
    single -j "$db" <"$f" >/dev/null
  done
  echo "docker-entrypoint: initialised $PGDATA (user \"$user\", database \"$db\")"
fi

exec "$@"
EOF
chmod 755 "$rootfs/usr/local/bin/docker-entrypoint.sh"

size="$(du -sh "$rootfs" | cut -f1)"
say "root filesystem assembled in $((SECONDS - started)) s: $size, $n_libs shared libraries; importing as $image"
tar -C "$rootfs" --numeric-owner -cf - . | docker import \
  --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/bin:/bin' \
  --change 'ENV PGDATA=/var/lib/postgresql/data' \
  --change 'ENV TZ=UTC' \
  --change 'USER postgres' \
  --change 'WORKDIR /var/lib/postgresql' \
  --change 'EXPOSE 5432' \
  --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
  --change 'CMD ["postgres"]' \
  --message "PostgreSQL 15 assembled from this machine's binaries by scripts/build-postgres-image.sh" \
  - "$image" >/dev/null
# A rebuild leaves the previous image untagged: remove it (ignored when a container still uses it).
if [ -n "$old_id" ] && [ "$old_id" != "$(docker image inspect --format '{{.Id}}' "$image")" ]; then
  docker rmi "$old_id" >/dev/null 2>&1 || true
fi
say "built $image in $((SECONDS - started)) s ($(docker image inspect --format '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"

# Smoke test: the entrypoint initialises, the server answers pg_isready over TCP with the healthcheck's
# exact command, then the container is removed.
cid="$(docker run -d --rm -e POSTGRES_USER=smoke -e POSTGRES_PASSWORD=smoke -e POSTGRES_DB=smoke "$image")"
ok=0
for _ in $(seq 1 60); do
  if docker exec "$cid" /bin/sh -c 'PGPASSWORD=smoke pg_isready --host localhost --username smoke --dbname smoke' >/dev/null 2>&1 \
    && docker exec "$cid" /bin/sh -c "PGPASSWORD=smoke psql -h localhost -U smoke -d smoke -Atc 'select 1'" 2>/dev/null | grep -qx 1; then
    ok=1
    break
  fi
  sleep 0.25
done
if [ "$ok" != 1 ]; then
  docker logs "$cid" >&2 || true
  docker rm -f "$cid" >/dev/null 2>&1 || true
  say "smoke test FAILED: the image does not serve PostgreSQL (container log above)" >&2
  exit 1
fi
docker rm -f "$cid" >/dev/null
say "smoke test passed; total $((SECONDS - started)) s"
