/**
 * A connection the pg store holds, ended by the server while a transaction is open (pg_terminate_backend, as
 * a restart or a failover does): the call rejects, the process does not crash on node-postgres'
 * unhandled `error` event, and the pool keeps working. Real PostgreSQL; the fault is real (the server ends the
 * backend).
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { pgAccountStore } from "authjs-adapter-refresh/stores/pg"
import type pg from "pg"
import { applySchema, newPool } from "../../src/fixtures/databases.js"
import { testDatabase, type TestDatabase } from "../../src/harness/postgres.js"

let database: TestDatabase
let pool: pg.Pool
let admin: pg.Pool

beforeAll(async () => {
  database = await testDatabase("pg_connection_ended")
  await applySchema("pg", database.url)
  pool = newPool(database.url, 2)
  admin = newPool(database.url, 1)
}, 60_000)

afterAll(async () => {
  await pool?.end()
  await admin?.end()
  await database?.drop()
}, 60_000)

describe("pg store: a held connection the server ends", () => {
  test("withAccountLock rejects with the driver's error (the core types it); no uncaught 'error' event; the next call works", async () => {
    const store = pgAccountStore(pool)
    const uncaught: unknown[] = []
    const onUncaught = (error: unknown): void => {
      uncaught.push(error)
    }
    // Jest would also fail the test on an uncaught exception; counting it makes the assertion explicit.
    process.on("uncaughtException", onUncaught)
    try {
      const key = { provider: "ended", providerAccountId: "sub-1" }
      const outcome = await store
        .withAccountLock(key, async (account) => {
          await account.readAll()
          const [{ pid }] = (
            await admin.query<{ pid: number }>(
              "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'",
            )
          ).rows as [{ pid: number }]
          await admin.query("SELECT pg_terminate_backend($1)", [pid])
          // Give the socket's close time to arrive while the transaction is still held.
          await new Promise((resolve) => setTimeout(resolve, 300))
          await account.readAll()
          return "finished"
        })
        .catch((error: unknown) => error)
      // The store hands the driver's error up; the core (account-sync, the engine) turns it into a typed one.
      expect(outcome).toBeInstanceOf(Error)
      expect(outcome).not.toBe("finished")
      expect(uncaught).toEqual([])
      // The ended connection was destroyed, not handed out again.
      await expect(store.withAccountLock(key, async (account) => account.readAll())).resolves.toEqual([])
    } finally {
      process.off("uncaughtException", onUncaught)
    }
  }, 60_000)
})
