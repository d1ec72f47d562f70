/**
 * Lease operations on a real SQLite file whose write lock another connection or process holds: a take that
 * could not get the file's lock within the connection's busy timeout changed nothing, so it is busy (a
 * value, like a lease held by another holder), not a failure; a renew or release that could not is an
 * `AccountStoreError` with `lockTimeout` set, and changed nothing either.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import type { Database as KyselyDatabase } from "@auth/kysely-adapter"
import { AccountStoreError } from "authjs-adapter-refresh"
import { kyselyAccountStore } from "authjs-adapter-refresh/stores/kysely"
import type Database from "better-sqlite3"
import { Kysely, SqliteDialect } from "kysely"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { applySqliteSchema } from "../../src/fixtures/direct-sqlite.js"
import { openSqlite, testSqliteFile, type TestSqliteFile } from "../../src/harness/sqlite.js"
import { runBarrierWorkers } from "../../src/kit/barrier-workers.js"
import type { LeaseTakeOutcome, LeaseTakeWorkerConfig } from "./lease-sqlite-busy-worker.js"

const SCHEMA = new URL("../../sql/kysely-sqlite.sql", import.meta.url)
const workerFile = join(dirname(fileURLToPath(import.meta.url)), "lease-sqlite-busy-worker.ts")
const key = { provider: "sqlite-busy", providerAccountId: "sub-1" }

let file: TestSqliteFile
let db: Kysely<KyselyDatabase>
let locker: Database.Database

beforeAll(async () => {
  file = await testSqliteFile("lease_sqlite_busy")
  await applySqliteSchema(file.url, SCHEMA)
  // The store's connection waits 100 ms for the file's write lock.
  db = new Kysely<KyselyDatabase>({
    dialect: new SqliteDialect({ database: openSqlite(file.path, { busyTimeoutMs: 100 }) }),
  })
  locker = openSqlite(file.path, { busyTimeoutMs: 5000 })
}, 30_000)

afterAll(async () => {
  locker?.close()
  await db?.destroy()
  await file?.drop()
})

describe("lease mode on SQLite while the file's write lock is held elsewhere", () => {
  test("take is busy (remaining unknown), renew and release are typed lock timeouts, and nothing changed", async () => {
    const leases = kyselyAccountStore(db).leases!
    const mine = await leases.take(key, "holder-a", 10_000)
    if (!mine.taken) throw new Error("the first take of a free key must take it")

    locker.exec("BEGIN IMMEDIATE")
    let take: unknown, renew: unknown, release: unknown
    try {
      take = await leases.take({ ...key, providerAccountId: "sub-2" }, "holder-b", 10_000).catch((e: unknown) => e)
      renew = await leases.renew(key, mine.lease, 10_000).catch((e: unknown) => e)
      release = await leases.release(key, mine.lease).catch((e: unknown) => e)
    } finally {
      locker.exec("COMMIT")
    }
    expect(take).toMatchObject({ taken: false, remainingMs: null, rows: [] })
    expect(Number.isFinite((take as { nowMs: number }).nowMs)).toBe(true)
    for (const failure of [renew, release]) {
      expect(failure).toBeInstanceOf(AccountStoreError)
      expect(failure).toMatchObject({ lockTimeout: true, driverErrorCode: "SQLITE_BUSY" })
    }
    // Nothing was written: the lease is still holder-a's (renewable), and sub-2 has no lease row.
    expect(await leases.renew(key, mine.lease, 10_000)).toEqual({ remainingMs: expect.any(Number) })
    const other = await leases.take({ ...key, providerAccountId: "sub-2" }, "holder-b", 10_000)
    expect(other).toMatchObject({ taken: true, lease: { fence: "1" } })
    await leases.release(key, mine.lease)
  }, 30_000)

  test("4 processes taking one key in a loop, busy timeout 0: never an error, each fence taken once", async () => {
    const config: LeaseTakeWorkerConfig = {
      path: file.path,
      providerAccountId: "sub-storm",
      busyTimeoutMs: 0,
      takes: 40,
      holdMs: 1,
    }
    const run = await runBarrierWorkers<LeaseTakeOutcome>(
      workerFile,
      Array.from({ length: 4 }, () => config),
      { timeoutMs: 90_000 },
    )
    const outcomes = run.processes.flatMap((p) => p.outcomes)
    expect(outcomes).toHaveLength(4 * config.takes)
    expect(outcomes.filter((o) => o.result === "error")).toEqual([])
    const fences = outcomes.filter((o) => o.result === "taken").map((o) => o.fence)
    expect(fences.length).toBeGreaterThan(0)
    // Mutual exclusion: no fence was handed to two holders, and every take raised it by one.
    expect(new Set(fences).size).toBe(fences.length)
    const max = Math.max(...fences.map(Number))
    expect(max).toBe(fences.length)
    // The contention was real: some takes or releases met the file busy (releases are typed lock timeouts).
    const busyReleases = outcomes.flatMap((o) => o.busyReleases ?? [])
    expect(busyReleases.every((label) => label.endsWith("lockTimeout"))).toBe(true)
    expect(outcomes.filter((o) => o.result === "busy").length + busyReleases.length).toBeGreaterThan(0)
  }, 120_000)
})
