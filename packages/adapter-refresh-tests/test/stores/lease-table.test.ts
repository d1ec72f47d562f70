/**
 * Lease mode without its table, on a real PostgreSQL: the store's first lease operation says which table it
 * looked for, which option names it and where the migration is, and nothing is written. Busy stays a value.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { AccountSchemaError } from "authjs-adapter-refresh"
import { pgAccountStore } from "authjs-adapter-refresh/stores/pg"
import type pg from "pg"
import { applySchema, newPool } from "../../src/fixtures/databases.js"
import { testDatabase, type TestDatabase } from "../../src/harness/postgres.js"

let database: TestDatabase
let pool: pg.Pool

beforeAll(async () => {
  database = await testDatabase("lease_table")
  await applySchema("pg", database.url)
  pool = newPool(database.url, 4)
}, 60_000)

afterAll(async () => {
  await pool?.end()
  await database?.drop()
}, 60_000)

const key = { provider: "lease-table", providerAccountId: "sub-1" }

describe("lease mode on a database without the lease table", () => {
  test("take is an AccountSchemaError naming the table, the leaseTable option and the README's migration section", async () => {
    const store = pgAccountStore(pool, { leaseTable: "no_lease_here" })
    const failure = await store.leases!.take(key, "holder-1", 1000).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(AccountSchemaError)
    const error = failure as AccountSchemaError
    expect(error.table).toBe("no_lease_here")
    expect(error.driverErrorCode).toBe("42P01")
    expect(error.message).toContain("pgAccountStore(pool, { leaseTable })")
    expect(error.message).toContain('README, section "Lease mode: the migration"')
    // renew and release say the same.
    await expect(store.leases!.renew(key, { fence: "1", holder: "holder-1" }, 1000)).rejects.toBeInstanceOf(
      AccountSchemaError,
    )
    await expect(store.leases!.release(key, { fence: "1", holder: "holder-1" })).rejects.toBeInstanceOf(
      AccountSchemaError,
    )
  })

  test("with the table (the default name), the same take is a value: taken, then busy", async () => {
    const store = pgAccountStore(pool)
    expect(await store.leases!.take(key, "holder-1", 5000)).toMatchObject({ taken: true })
    expect(await store.leases!.take(key, "holder-2", 5000)).toMatchObject({ taken: false })
  })

  test("a lease table name that is not an identifier is refused when the store is built", () => {
    expect(() => pgAccountStore(pool, { leaseTable: "lease; DROP TABLE accounts" })).toThrow(/lease table name/)
  })

  test("a caller that stopped waiting gets nothing sent: no lease taken", async () => {
    const store = pgAccountStore(pool)
    const other = { provider: "lease-table", providerAccountId: "sub-abandoned" }
    const controller = new AbortController()
    controller.abort()
    await expect(store.leases!.take(other, "holder-1", 5000, { signal: controller.signal })).rejects.toMatchObject({
      name: "AbandonedWait",
    })
    const { rows } = await pool.query("SELECT 1 FROM authjs_refresh_lease WHERE provider_account_id = $1", [
      other.providerAccountId,
    ])
    expect(rows).toEqual([])
  })

  test("a caller that stopped waiting while the pool was busy gets nothing sent once a connection frees up", async () => {
    const small = newPool(database.url, 1)
    try {
      const store = pgAccountStore(small)
      const other = { provider: "lease-table", providerAccountId: "sub-pool-wait" }
      const busy = await small.connect()
      const controller = new AbortController()
      const take = store.leases!.take(other, "holder-1", 5000, { signal: controller.signal })
      controller.abort()
      busy.release()
      await expect(take).rejects.toMatchObject({ name: "AbandonedWait" })
      const { rows } = await pool.query("SELECT 1 FROM authjs_refresh_lease WHERE provider_account_id = $1", [
        other.providerAccountId,
      ])
      expect(rows).toEqual([])
    } finally {
      await small.end()
    }
  })
})
