/**
 * The one-statement sign-in (AccountStore.updateOwnTokens) of the Kysely and Drizzle stores on MariaDB and
 * SQLite, and of Prisma on SQLite, against what the kit cannot hold from outside the store: a lock the APP holds on
 * another connection (MariaDB: `SELECT ... FOR UPDATE` on the row; SQLite: a write transaction on the file). The
 * statement must write nothing and return within its bound (MariaDB and Drizzle's own SQLite connection: at
 * once; Kysely on SQLite: the connection's busy timeout), then write once the app lets go.
 */
import { describe, expect, test } from "@jest/globals"
import { randomUUID } from "node:crypto"
import type { OwnTokensWritten } from "authjs-adapter-refresh"
import mysql from "mysql2/promise"
import { testMysqlDatabase } from "../../src/harness/mariadb.js"
import { openSqlite, testSqliteFile } from "../../src/harness/sqlite.js"
import { testOtherDatabase } from "../../src/fixtures/prisma-databases.js"
import type { IsolatedDatabase } from "../../src/kit/fixture.js"
import { useFixtureCell } from "./fixture-cell.js"

/** What the app's own connection does while the statement runs: hold the key's lock, then let go. */
type AppHold = (
  databaseUrl: string,
  accounts: string,
  key: { provider: string; providerAccountId: string },
) => Promise<() => Promise<void>>

const holdRowOnMariaDb: AppHold = async (databaseUrl, accounts, key) => {
  const app = await mysql.createConnection(databaseUrl)
  await app.query("START TRANSACTION")
  await app.query(`SELECT 1 FROM \`${accounts}\` WHERE \`provider\` = ? AND \`providerAccountId\` = ? FOR UPDATE`, [
    key.provider,
    key.providerAccountId,
  ])
  return async () => {
    await app.query("ROLLBACK")
    await app.end()
  }
}

const holdSqliteFile: AppHold = async (databaseUrl) => {
  const app = openSqlite(databaseUrl.slice("file:".length))
  app.exec("BEGIN IMMEDIATE")
  return async () => {
    app.exec("ROLLBACK")
    app.close()
  }
}

const cells: {
  name: string
  module: string
  database: (prefix: string) => Promise<IsolatedDatabase>
  accounts: string
  hold: AppHold
  boundMs: number
}[] = [
  {
    name: "kysely on MariaDB",
    module: "conformance-kysely-mysql",
    database: testMysqlDatabase,
    accounts: "Account",
    hold: holdRowOnMariaDb,
    boundMs: 1000,
  },
  {
    name: "drizzle on MariaDB",
    module: "conformance-drizzle-mysql",
    database: testMysqlDatabase,
    accounts: "account",
    hold: holdRowOnMariaDb,
    boundMs: 1000,
  },
  // Kysely's SQLite connection (openSqlite: busy timeout 5000 ms) waits its busy timeout, as any statement of the app
  // does.
  {
    name: "kysely on SQLite",
    module: "conformance-kysely-sqlite",
    database: testSqliteFile,
    accounts: "Account",
    hold: holdSqliteFile,
    boundMs: 8000,
  },
  {
    name: "drizzle on SQLite (better-sqlite3)",
    module: "conformance-drizzle-sqlite",
    database: testSqliteFile,
    accounts: "account",
    hold: holdSqliteFile,
    boundMs: 1000,
  },
  // Prisma's connection (@prisma/adapter-better-sqlite3: better-sqlite3's busy timeout, 5000 ms) waits as the adapter's
  // own writes do.
  {
    name: "prisma on SQLite (better-sqlite3)",
    module: "conformance-prisma-sqlite",
    database: (prefix) => testOtherDatabase("sqlite", prefix),
    accounts: "Account",
    hold: holdSqliteFile,
    boundMs: 8000,
  },
]

const count = (written: OwnTokensWritten): number => (Array.isArray(written) ? written.length : written.written)

describe.each(cells)("updateOwnTokens, $name", (cell) => {
  const cf = useFixtureCell(cell, "one_statement")

  async function linkedAccount() {
    const user = await cf.fixture.adapter.createUser!({
      id: randomUUID(),
      email: `${randomUUID()}@example.test`,
      emailVerified: null,
    })
    const key = { provider: "one-statement", providerAccountId: randomUUID() }
    await cf.wrapped.linkAccount({ ...key, userId: user.id, type: "oidc", access_token: "at-1", refresh_token: "rt-1" })
    return { userId: user.id, key }
  }

  test("writes nothing within its bound while the app holds the key's lock, then writes once it is free", async () => {
    const { userId, key } = await linkedAccount()
    const release = await cell.hold(cf.database.url, cell.accounts, key)
    let written: OwnTokensWritten
    const started = performance.now()
    try {
      written = await cf.store.updateOwnTokens!(key, userId, { access_token: "at-2" }, () => {})
    } finally {
      await release()
    }
    expect(performance.now() - started).toBeLessThan(cell.boundMs)
    expect(count(written)).toBe(0)
    expect(await cf.fixture.accountRows(key)).toEqual([expect.objectContaining({ access_token: "at-1" })])
    expect(count(await cf.store.updateOwnTokens!(key, userId, { access_token: "at-2" }, () => {}))).toBe(1)
    expect(await cf.fixture.accountRows(key)).toEqual([
      expect.objectContaining({ access_token: "at-2", refresh_token: "rt-1" }),
    ])
  }, 20_000)

  test("syncAccount through it returns the stored account, the columns it did not write included", async () => {
    const { userId, key } = await linkedAccount()
    const stored = await cf.wrapped.syncAccount({ ...key, userId, access_token: "at-3" })
    expect(stored).toMatchObject({ ...key, userId, type: "oidc", access_token: "at-3", refresh_token: "rt-1" })
  })
})
