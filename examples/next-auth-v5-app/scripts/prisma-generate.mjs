#!/usr/bin/env node
/**
 * `prisma generate` for prisma/schema.prisma into generated/prisma, offline.
 *
 * Every Prisma CLI command first checks that its schema engine binary is on disk and otherwise downloads
 * it, even `generate`, which never runs it. Pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing file
 * satisfies the check (the same trick as packages/adapter-refresh-tests/scripts/prisma-generate.mjs).
 * With Prisma's downloads reachable, plain `prisma generate` does the same.
 */
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import path from "node:path"
import { fileURLToPath } from "node:url"

const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const require = createRequire(path.join(appDir, "package.json"))
const prismaCli = path.join(path.dirname(require.resolve("prisma/package.json")), "build", "index.js")

const env = { ...process.env, CHECKPOINT_DISABLE: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1" }
if (!env.PRISMA_SCHEMA_ENGINE_BINARY || !existsSync(env.PRISMA_SCHEMA_ENGINE_BINARY))
  env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath

const result = spawnSync(process.execPath, [prismaCli, "generate", "--schema", "prisma/schema.prisma", "--no-hints"], {
  cwd: appDir,
  env,
  stdio: "inherit",
})
if (result.error) throw result.error
process.exit(result.status ?? 1)
