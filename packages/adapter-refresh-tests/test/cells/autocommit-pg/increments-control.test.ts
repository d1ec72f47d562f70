/**
 * Control for the kit's "(b4)" increments (conformance.ts): the same 50 read-then-write increments under
 * `withAccountLock` from 2 OS processes, on the autocommit store with no exclusion (fault "no-lock"), lose
 * updates; the real store loses none (its conformance.test.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { directHelpers, newPool } from "../../../src/fixtures/databases.js"
import { prepareDatabase } from "../../../src/fixtures/conformance-autocommit-pg.js"
import { testDatabase, type TestDatabase } from "../../../src/harness/postgres.js"
import { runInWorkerProcesses } from "../../../src/kit/run-workers.js"
import type { WorkerOperation } from "../../../src/kit/worker-protocol.js"

const noLock = new URL("../../../src/fixtures/conformance-autocommit-pg-no-lock.ts", import.meta.url)

describe("control: increments under withAccountLock on the autocommit store without exclusion", () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await testDatabase("autocommit_no_lock")
    await prepareDatabase(db.url)
  }, 60_000)
  afterAll(async () => {
    await db?.drop()
  })

  test("50 increments from 2 processes lose updates", async () => {
    const pool = newPool(db.url)
    try {
      const helpers = directHelpers("pg", pool)
      const userId = await helpers.insertUser("no-lock@example.test")
      const key = { provider: "kit-oidc", providerAccountId: `sub-${globalThis.crypto.randomUUID()}` }
      await pool.query(
        `INSERT INTO accounts ("userId", type, provider, "providerAccountId", access_token) ` +
          `VALUES ($1, 'oidc', $2, $3, 'n.0')`,
        [userId, key.provider, key.providerAccountId],
      )
      const result = await runInWorkerProcesses(
        { fixtureModule: noLock.href, databaseUrl: db.url, mode: "wrapped" },
        Array.from({ length: 2 }, () =>
          Array.from({ length: 25 }, (): WorkerOperation => ({ kind: "increment", account: key })),
        ),
        120_000,
      )
      expect(result.flatMap((process) => process.outcomes).filter((outcome) => !outcome.ok)).toEqual([])
      const [row] = await helpers.accountRows(key)
      const counter = Number(String(row?.access_token).slice(2))
      expect(counter).toBeGreaterThan(0)
      expect(counter).toBeLessThan(50)
    } finally {
      await pool.end()
    }
  }, 150_000)
})
