/**
 * What a Next.js example's `scripts/build.mjs` runs: builds what `next start` serves, once per content.
 * The library's dist (the app imports the built package, as users do; skipped when it is newer than its
 * sources), the example's Prisma client (its scripts/prisma-generate.mjs), then `next build`.
 *
 * The key is a SHA-256 of the example's own inputs, the library's sources and the lockfile. When .next
 * holds a build made from the same key (.next/example-build-key), nothing runs: the README's command,
 * the browser tests and CI share one `next build`. `--force` rebuilds anyway. Prints what it did and how
 * long each step took.
 */
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import path from "node:path"
import { fileURLToPath } from "node:url"

const repoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const libraryDir = path.join(repoDir, "packages/adapter-refresh")
const LIBRARY_INPUTS = ["src", "package.json", "tsconfig.json", "tsconfig.build.json"]

function filesUnder(root, entry) {
  const full = path.join(root, entry)
  if (!existsSync(full)) return []
  if (!statSync(full).isDirectory()) return [full]
  return readdirSync(full, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((child) => filesUnder(full, child.name))
}

/** Files whose content decides the build (sorted; relative paths hashed too). */
function buildKey(inputs) {
  const hash = createHash("sha256").update(`node ${process.versions.node}\n`)
  for (const [root, entries] of inputs) {
    for (const file of entries.flatMap((entry) => filesUnder(root, entry))) {
      hash.update(`${path.relative(repoDir, file)}\n`).update(readFileSync(file))
    }
  }
  return hash.digest("hex")
}

function run(label, command, args, cwd) {
  const started = performance.now()
  const result = spawnSync(command, args, {
    cwd,
    stdio: "inherit",
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
  })
  if (result.error) throw result.error
  if (result.status !== 0) {
    console.error(`[example build] ${label} failed (exit ${result.status ?? result.signal})`)
    process.exit(result.status ?? 1)
  }
  console.log(`[example build] ${label}: ${((performance.now() - started) / 1000).toFixed(1)} s`)
}

/**
 * @param {string} buildScriptUrl the calling example's `import.meta.url` (its scripts/build.mjs)
 * @param {string[]} appInputs the example's files and folders that decide its build, relative to it
 */
export function buildNextExample(buildScriptUrl, appInputs) {
  const appDir = path.resolve(path.dirname(fileURLToPath(buildScriptUrl)), "..")
  const keyFile = path.join(appDir, ".next", "example-build-key")
  const started = performance.now()
  const key = buildKey([
    [appDir, appInputs],
    [libraryDir, LIBRARY_INPUTS],
    [repoDir, ["pnpm-lock.yaml", "tsconfig.base.json"]],
  ])
  const built =
    existsSync(path.join(appDir, ".next", "BUILD_ID")) &&
    existsSync(keyFile) &&
    readFileSync(keyFile, "utf8").trim() === key
  if (built && !process.argv.includes("--force")) {
    console.log(`[example build] .next is up to date (key ${key.slice(0, 12)}); nothing to build.`)
    return
  }

  const require = createRequire(path.join(appDir, "package.json"))
  const tsc = path.join(path.dirname(require.resolve("typescript/package.json")), "bin", "tsc")
  const nextBin = path.join(path.dirname(require.resolve("next/package.json")), "dist", "bin", "next")
  // The library's dist, unless it is newer than every file it is built from (CI's build stage and
  // `pnpm test:browser` build it first).
  const distEntry = path.join(libraryDir, "dist", "index.js")
  const newestSource = Math.max(
    ...LIBRARY_INPUTS.flatMap((entry) => filesUnder(libraryDir, entry)).map((file) => statSync(file).mtimeMs),
  )
  if (existsSync(distEntry) && statSync(distEntry).mtimeMs >= newestSource) {
    console.log("[example build] library dist is up to date")
  } else {
    rmSync(path.join(libraryDir, "dist"), { recursive: true, force: true }) // as the library's own `build` script does
    run("library dist (tsc)", process.execPath, [tsc, "-p", "tsconfig.build.json"], libraryDir)
  }
  run("prisma generate", process.execPath, [path.join(appDir, "scripts/prisma-generate.mjs")], appDir)
  run("next build", process.execPath, [nextBin, "build"], appDir)
  writeFileSync(keyFile, `${key}\n`)
  console.log(
    `[example build] done in ${((performance.now() - started) / 1000).toFixed(1)} s (key ${key.slice(0, 12)}).`,
  )
}
