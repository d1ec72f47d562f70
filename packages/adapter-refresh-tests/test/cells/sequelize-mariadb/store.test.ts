/**
 * The Sequelize store on MariaDB, on the adapter's own models (no unique key on the account's key): the key's
 * named lock (drivers/mysql-key-lock.ts) makes a transaction on a key that has no row yet wait for another,
 * within its bound; and what sequelizeAccountStore refuses at construction.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import SequelizeAdapter from "@auth/sequelize-adapter"
import { AccountStoreError, sequelizeAccountStore, UnsupportedDatabaseError } from "authjs-adapter-refresh"
import { Sequelize } from "sequelize"
import { openSequelize, prepareSequelizeDatabase } from "../../../src/fixtures/sequelize.js"
import { testMysqlDatabase, type TestMysqlDatabase } from "../../../src/harness/mariadb.js"

describe("sequelizeAccountStore on MariaDB, the adapter's own models", () => {
  let database: TestMysqlDatabase
  let sequelize: Sequelize

  beforeAll(async () => {
    database = await testMysqlDatabase("store_sequelize_mariadb")
    await prepareSequelizeDatabase("mariadb", database.url)
    sequelize = openSequelize("mariadb", database.url)
    SequelizeAdapter(sequelize, { synchronize: false })
  }, 60_000)
  afterAll(async () => {
    await sequelize?.close()
    await database?.drop()
  })

  it("a transaction on a key with no row yet waits for the one holding it, and gives up at its bound (lockTimeout)", async () => {
    const store = sequelizeAccountStore(sequelize, { lockTimeoutMs: 1000 })
    const key = { provider: "p", providerAccountId: `new-${globalThis.crypto.randomUUID()}` }
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    let entered!: () => void
    const inside = new Promise<void>((resolve) => (entered = resolve))
    const first = store.withAccountLock(key, async () => {
      entered()
      await held
    })
    await inside
    const started = Date.now()
    const second = await store.withAccountLock(key, async () => "ran").catch((error: unknown) => error)
    const waited = Date.now() - started
    release()
    await first
    expect(second).toBeInstanceOf(AccountStoreError)
    expect((second as AccountStoreError).lockTimeout).toBe(true)
    expect(waited).toBeGreaterThanOrEqual(900)
    // Once the holder committed, the key is free again.
    await expect(store.withAccountLock(key, async () => "ran")).resolves.toBe("ran")
  }, 30_000)

  it("refuses an instance with no model holding the account attributes, naming the option", () => {
    const bare = new Sequelize(database.url.replace(/^mysql:/, "mariadb:"), { dialect: "mariadb", logging: false })
    expect(() => sequelizeAccountStore(bare)).toThrow(UnsupportedDatabaseError)
    expect(() => sequelizeAccountStore(bare)).toThrow(/models: \{ Account, User \}/)
    return bare.close()
  })
})
