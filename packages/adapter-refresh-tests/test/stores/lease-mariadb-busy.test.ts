/**
 * Lease operations on a real MariaDB whose lease row an app transaction holds locked (SELECT ... FOR UPDATE)
 * past the store connection's `innodb_lock_wait_timeout`: the take's upsert fails with 1205 and changed
 * nothing, so it is busy (a value); a renew or release is an `AccountStoreError` with `lockTimeout` set.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import type { Database as KyselyDatabase } from "@auth/kysely-adapter"
import { AccountStoreError } from "authjs-adapter-refresh"
import { kyselyAccountStore } from "authjs-adapter-refresh/stores/kysely"
import { Kysely, MysqlDialect, sql } from "kysely"
import { createPool } from "mysql2"
import mysql from "mysql2/promise"
import { testMysqlDatabase } from "../../src/harness/mariadb.js"
import { useFixtureCell } from "./fixture-cell.js"

const key = { provider: "lease-busy", providerAccountId: "sub-1" }

describe("lease mode on MariaDB while an app transaction holds the lease row", () => {
  const cell = useFixtureCell({ module: "conformance-kysely-mysql", database: testMysqlDatabase }, "lease_busy")
  let db: Kysely<KyselyDatabase>

  beforeAll(async () => {
    // One pooled connection whose lock waits last 1 s (the session's innodb_lock_wait_timeout).
    db = new Kysely<KyselyDatabase>({
      dialect: new MysqlDialect({ pool: createPool({ uri: cell.database.url, connectionLimit: 1 }) }),
    })
    await sql`SET SESSION innodb_lock_wait_timeout = 1`.execute(db)
  })
  afterAll(async () => {
    await db?.destroy()
  })

  test("take is busy (remaining unknown), renew and release are typed lock timeouts, and nothing changed", async () => {
    const leases = kyselyAccountStore(db).leases!
    const mine = await leases.take(key, "holder-a", 10_000)
    if (!mine.taken) throw new Error("the first take of a free key must take it")
    await leases.release(key, mine.lease)

    const app = await mysql.createConnection(cell.database.url)
    let take: unknown, renew: unknown, release: unknown
    try {
      await app.query("START TRANSACTION")
      await app.query("SELECT * FROM authjs_refresh_lease WHERE provider = ? AND provider_account_id = ? FOR UPDATE", [
        key.provider,
        key.providerAccountId,
      ])
      take = await leases.take(key, "holder-b", 10_000).catch((e: unknown) => e)
      renew = await leases.renew(key, mine.lease, 10_000).catch((e: unknown) => e)
      release = await leases.release(key, mine.lease).catch((e: unknown) => e)
    } finally {
      await app.query("ROLLBACK")
      await app.end()
    }
    expect(take).toMatchObject({ taken: false, remainingMs: null, rows: [] })
    expect(Number.isFinite((take as { nowMs: number }).nowMs)).toBe(true)
    for (const failure of [renew, release]) {
      expect(failure).toBeInstanceOf(AccountStoreError)
      expect(failure).toMatchObject({ lockTimeout: true })
    }
    // Nothing was written: the next take raises the fence of holder-a's released lease by exactly one.
    expect(await leases.take(key, "holder-c", 10_000)).toMatchObject({ taken: true, lease: { fence: "2" } })
  }, 30_000)
})
