#!/usr/bin/env bash
# Installs the packed library with plain `npm i` into fresh apps outside the workspace, one next to
# next-auth 4.24 (+ @next-auth/prisma-adapter) and one next to next-auth 5 beta (+ @auth/prisma-adapter),
# fails on a non-zero exit or an ERESOLVE, then type-checks the README's lines in each app under strict
# with the resolution a Next.js app uses (scripts/npm-install-check/). Prints how long each step took.
#
#   bash scripts/check-npm-install.sh            (needs the npm registry; about a minute on a warm cache)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"
fixtures="$root/scripts/npm-install-check"
work="$(mktemp -d "${TMPDIR:-/tmp}/authjs-refresh-npm.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# The versions users install today (see FACTS.md): next-auth 4's `latest`, next-auth 5's newest beta.
NEXT="next@16.4.6 react@19.3.1 react-dom@19.3.1 @prisma/client@7.10.0"
V4_APP="next-auth@4.24.15 @next-auth/prisma-adapter@1.0.7 $NEXT"
V5_APP="next-auth@5.0.0-beta.32 @auth/prisma-adapter@2.11.3 $NEXT"
TYPES="typescript@5.9.3 @types/node@20.19.43"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
npm_i() { npm i --no-audit --no-fund --loglevel=error "$@"; }

t=$(now)
# The package's prepack builds dist, as a publish would.
(cd packages/adapter-refresh && pnpm pack --pack-destination "$work" >/dev/null)
tarball="$(ls "$work"/authjs-adapter-refresh-*.tgz)"
echo "==> packed $(basename "$tarball") in $(since "$t") s"

# scenario NAME README_FILE APP_PACKAGES...
scenario() {
  local name="$1" readme="$2" app log rc t
  app="$work/$name"
  shift 2
  mkdir -p "$app"
  printf '{ "name": "app-%s", "private": true, "type": "module" }\n' "$name" >"$app/package.json"
  cd "$app"

  t=$(now)
  # shellcheck disable=SC2068
  npm_i $@
  echo "==> [$name] the app's own packages ($*) installed in $(since "$t") s"

  # The step under test: plain `npm i` of the library next to them.
  t=$(now)
  log="$app/npm-i.log"
  rc=0
  npm i --no-audit --no-fund "$tarball" >"$log" 2>&1 || rc=$?
  cat "$log"
  if [ "$rc" != 0 ] || grep -q ERESOLVE "$log"; then
    echo "==> [$name] FAILED: npm i authjs-adapter-refresh exited $rc$(grep -q ERESOLVE "$log" && echo ', ERESOLVE')" >&2
    return 1
  fi
  echo "==> [$name] npm i authjs-adapter-refresh: exit 0, no ERESOLVE, in $(since "$t") s"
  echo "==> [$name] installed: $(node -p 'const l=require("./package-lock.json").packages;["next-auth","authjs-adapter-refresh","@auth/core"].map(n=>n+"@"+(l["node_modules/"+n]?.version??"-")).join(" ")')"

  t=$(now)
  npm_i -D $TYPES
  cp "$fixtures/tsconfig.json" "$fixtures/prisma.ts" .
  cp "$fixtures/$readme" readme.ts
  npx tsc -p tsconfig.json
  echo "==> [$name] README lines ($readme) type-check under strict in $(since "$t") s (incl. installing typescript)"
  cd "$root"
}

scenario next-auth-v4 next-auth-v4.ts $V4_APP
scenario next-auth-v5 next-auth-v5.ts $V5_APP
echo "==> npm install check passed"
