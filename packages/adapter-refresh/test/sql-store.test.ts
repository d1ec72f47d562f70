/**
 * The order of the shared SQL store's transaction (sql-store.ts), which every SQL client runs through its
 * driver: what is sent when the caller left while the client was busy, when `work` throws, when BEGIN fails,
 * and when a first insert loses to a concurrent one. The driver here is a FAKE that records statements in
 * order: the order is the logic under test, and what the statements do on real servers is the cells' suites.
 */
import { describe, expect, test } from "@jest/globals"
import { AbandonedWait } from "../src/bounded-wait.js"
import { mysql } from "../src/databases/mysql.js"
import { postgres } from "../src/databases/postgres.js"
import type { SqlDatabase } from "../src/databases/sql-database.js"
import { sqlAccountStore, type SqlDriver } from "../src/sql-store.js"
import { sqlTables, type SqlRunner } from "../src/statements.js"

const key = { provider: "p", providerAccountId: "a" }

/** A fake driver recording every statement, acquire and release; `fail` decides which statement throws. */
function recordingDriver(database: SqlDatabase, fail: (text: string) => unknown = () => undefined) {
  const log: string[] = []
  const run: SqlRunner = async (text) => {
    log.push(text.split(/[ (]/).slice(0, 2).join(" "))
    const error = fail(text)
    if (error !== undefined) throw error
    return []
  }
  const driver: SqlDriver = {
    database,
    run,
    hold: async () => ({ run, release: () => log.push("release") }),
    async acquire() {
      log.push("acquire")
      return { run, release: (failure?: unknown) => void log.push(failure === undefined ? "release" : "destroy") }
    },
  }
  const store = sqlAccountStore(driver, {
    name: "fake",
    factory: "fakeAccountStore",
    tables: sqlTables(database, {
      accounts: "accounts",
      users: "users",
      store: "fake",
      origin: { accounts: { name: "accounts", option: "a" }, users: { name: "users", option: "u" } },
    }),
    lockTimeoutMs: undefined,
    linkAccountResult: "nothing",
    leaseTable: undefined,
    leaseOption: "l",
  })
  return { log, store }
}

describe("sqlAccountStore's transaction, on a recording fake driver", () => {
  test("a caller that left while the client lent the connection gets nothing sent, and the connection back", async () => {
    const { log, store } = recordingDriver(postgres)
    const controller = new AbortController()
    controller.abort()
    let called = false
    const result = store.withAccountLock(key, async () => void (called = true), { signal: controller.signal })
    await expect(result).rejects.toBeInstanceOf(AbandonedWait)
    expect(log).toEqual(["acquire", "release"])
    expect(called).toBe(false)
  })

  test("work that throws is rolled back, not committed, and its own error rethrown", async () => {
    const { log, store } = recordingDriver(postgres)
    const failure = new Error("work failed")
    await expect(
      store.withAccountLock(key, async () => {
        throw failure
      }),
    ).rejects.toBe(failure)
    expect(log).toEqual(["acquire", "BEGIN ISOLATION", "SELECT pg_advisory_xact_lock", "ROLLBACK", "release"])
  })

  test("a BEGIN that fails hands its error to release (the connection's state is unknown)", async () => {
    const { log, store } = recordingDriver(postgres, (text) =>
      text.startsWith("BEGIN") ? new Error("gone") : undefined,
    )
    await expect(store.withAccountLock(key, async () => 1)).rejects.toThrow("gone")
    expect(log).toEqual(["acquire", "BEGIN ISOLATION", "destroy"])
  })

  test("a row-lock database runs the transaction once more after a first insert's duplicate key, once only", async () => {
    const duplicate = Object.assign(new Error("Duplicate entry"), { code: "ER_DUP_ENTRY", errno: 1062 })
    const { log, store } = recordingDriver(mysql)
    let attempts = 0
    const result = await store.withAccountLock(key, async () => {
      attempts++
      if (attempts === 1) throw duplicate
      return "inserted"
    })
    expect(result).toBe("inserted")
    expect(log.filter((entry) => entry === "acquire" || entry === "COMMIT" || entry === "ROLLBACK")).toEqual([
      "acquire",
      "ROLLBACK",
      "acquire",
      "COMMIT",
    ])
    // Control, by the database's lock kind: an advisory lock excludes a key with no row, so no second run.
    const advisory = recordingDriver(postgres)
    const pgDuplicate = Object.assign(new Error("duplicate key"), { code: "23505" })
    await expect(
      advisory.store.withAccountLock(key, async () => {
        throw pgDuplicate
      }),
    ).rejects.toBe(pgDuplicate)
    expect(advisory.log.filter((entry) => entry === "acquire")).toHaveLength(1)
  })
})
