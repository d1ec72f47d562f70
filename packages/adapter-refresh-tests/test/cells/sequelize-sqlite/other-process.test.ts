/**
 * Sequelize on SQLite (sqlite3, WAL): a row another process rewrites is what the store reads next, also after
 * the store's own refreshes (its shared connection and its own one keep no old snapshot). The other process is
 * a real one: a second copy of SQLite inside this process would not share its locks (POSIX locks are per
 * process), and its close would take the WAL file away from sqlite3's connections.
 */
import { execFile } from "node:child_process"
import { createRequire } from "node:module"
import { promisify } from "node:util"
import { afterAll, beforeAll, expect, it } from "@jest/globals"
import { testSqliteFile, type TestSqliteFile } from "../../../src/harness/sqlite.js"
import { PROVIDER_ID, startRefreshScenario, type RefreshScenario } from "../../../src/refresh-bench/scenario.js"

const betterSqlite3 = createRequire(import.meta.url).resolve("better-sqlite3")
/** Another process sets the account's expires_at (one UPDATE through better-sqlite3) and prints the rows changed. */
async function expireFromAnotherProcess(path: string, key: RefreshScenario["key"], expiresAt: number): Promise<string> {
  const script =
    "const [, file, at, provider, id] = process.argv; const Database = require(process.env.BETTER_SQLITE3);" +
    "const db = new Database(file, { timeout: 5000 });" +
    'const sql = "UPDATE accounts SET expires_at = ? WHERE provider = ? AND provider_account_id = ?";' +
    "process.stdout.write(String(db.prepare(sql).run(Number(at), provider, id).changes)); db.close()"
  const args = ["-e", script, path, String(expiresAt), key.provider, key.providerAccountId]
  const env = { ...process.env, BETTER_SQLITE3: betterSqlite3 }
  return (await promisify(execFile)(process.execPath, args, { env, timeout: 20_000 })).stdout
}

let file: TestSqliteFile
let s: RefreshScenario
beforeAll(async () => {
  file = await testSqliteFile("sequelize_other_process")
  s = await startRefreshScenario({
    fixtureModule: new URL("../../../src/fixtures/conformance-sequelize-sqlite.ts", import.meta.url),
    databaseUrl: file.url,
    login: "other-process",
    provider: { accessTokenTtl: 600 },
  })
}, 60_000)
afterAll(async () => {
  await s?.stop()
  await file?.drop()
})

it("refreshes each time another process expires the stored token, after its own refreshes too", async () => {
  const ask = { userId: s.userId, provider: PROVIDER_ID }
  const seen = [(await s.adapter.getAccessToken(ask)).accessToken]
  for (let i = 0; i < 3; i++) {
    expect(await expireFromAnotherProcess(file.path, s.key, Math.floor(Date.now() / 1000) - 10)).toBe("1")
    const result = await s.adapter.getAccessToken(ask)
    expect({ call: i, refreshed: result.refreshed }).toEqual({ call: i, refreshed: true })
    expect(seen).not.toContain(result.accessToken)
    seen.push(result.accessToken)
  }
}, 60_000)
