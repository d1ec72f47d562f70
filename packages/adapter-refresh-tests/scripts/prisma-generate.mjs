#!/usr/bin/env node
/**
 * Generates the Prisma 7 clients of the test schemas, offline: prisma/schema.prisma (PostgreSQL) into
 * generated/prisma, prisma/schema.mysql.prisma into generated/prisma-mysql, prisma/schema.sqlite.prisma
 * into generated/prisma-sqlite, prisma/schema.mapped.prisma (@map / @@map names) into generated/prisma-mapped
 * and prisma/schema.better-auth.prisma / .mysql.prisma (Better Auth's tables) into generated/prisma-better-auth
 * and generated/prisma-better-auth-mysql.
 *
 * Every Prisma CLI command first makes sure its schema engine binary is on disk and otherwise downloads
 * it from binaries.prisma.sh, even `generate`, which never runs it (the `prisma-client` generator and the
 * query compiler are JS/WASM shipped on npm). Pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing file
 * satisfies that check, so nothing is fetched; the update check is switched off too. So this works with
 * the network unreachable.
 *
 * Idempotent and fast: when the schema, this script and the installed Prisma version are unchanged since
 * the last successful run (recorded in each output folder's .generate-stamp), it skips that schema.
 * `--force` regenerates anyway.
 *
 * Usage: node scripts/prisma-generate.mjs [--force]
 *        (wired as `pnpm --filter authjs-adapter-refresh-tests run generate`)
 */
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import path from "node:path"
import { fileURLToPath } from "node:url"

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
/** Each test schema and the folder its generator writes to (the schema's `output`). */
const schemas = [
  { schema: "schema.prisma", output: "prisma" },
  { schema: "schema.mysql.prisma", output: "prisma-mysql" },
  { schema: "schema.sqlite.prisma", output: "prisma-sqlite" },
  { schema: "schema.mapped.prisma", output: "prisma-mapped" },
  { schema: "schema.better-auth.prisma", output: "prisma-better-auth" },
  { schema: "schema.better-auth.mysql.prisma", output: "prisma-better-auth-mysql" },
]

const require = createRequire(path.join(packageDir, "package.json"))
const prismaPackageJson = require.resolve("prisma/package.json")
const prismaVersion = JSON.parse(readFileSync(prismaPackageJson, "utf8")).version
const prismaCli = path.join(path.dirname(prismaPackageJson), "build", "index.js")

const force = process.argv.includes("--force")
const env = { ...process.env }
// Any existing file will do: `generate` only checks that the schema engine is present, it never runs it.
if (!env.PRISMA_SCHEMA_ENGINE_BINARY || !existsSync(env.PRISMA_SCHEMA_ENGINE_BINARY)) {
  env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath
}
env.CHECKPOINT_DISABLE = "1" // no update check / telemetry request
env.PRISMA_HIDE_UPDATE_MESSAGE = "1"

for (const { schema, output } of schemas) {
  const schemaPath = path.join(packageDir, "prisma", schema)
  const outputDir = path.join(packageDir, "generated", output)
  const stampPath = path.join(outputDir, ".generate-stamp")
  const stamp = createHash("sha256")
    .update(`prisma ${prismaVersion}\n`)
    .update(readFileSync(schemaPath))
    .update(readFileSync(fileURLToPath(import.meta.url)))
    .digest("hex")
  const upToDate =
    !force &&
    existsSync(path.join(outputDir, "client.ts")) &&
    existsSync(stampPath) &&
    readFileSync(stampPath, "utf8").trim() === stamp
  if (upToDate) {
    console.log(`[prisma-generate] generated/${output} is up to date (Prisma ${prismaVersion}); nothing to do.`)
    continue
  }
  const started = performance.now()
  const result = spawnSync(process.execPath, [prismaCli, "generate", "--schema", schemaPath, "--no-hints"], {
    cwd: packageDir,
    env,
    stdio: "inherit",
  })
  if (result.error) throw result.error
  if (result.status !== 0) {
    console.error(
      `[prisma-generate] prisma generate --schema prisma/${schema} failed (exit ${result.status ?? result.signal}).`,
    )
    process.exit(result.status ?? 1)
  }
  writeFileSync(stampPath, `${stamp}\n`)
  console.log(
    `[prisma-generate] generated/${output} in ` +
      `${((performance.now() - started) / 1000).toFixed(2)} s (Prisma ${prismaVersion}).`,
  )
}
