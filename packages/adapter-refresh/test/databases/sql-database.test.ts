/**
 * The database modules (databases/*): each implementation of sql-database.ts's SqlDatabase side by side, and
 * the statement builder. Pure, so tested without a server.
 */
import { describe, expect, test } from "@jest/globals"
import { mysql } from "../../src/databases/mysql.js"
import { ADVISORY_LOCK_KEY_SQL, postgres } from "../../src/databases/postgres.js"
import { StatementBuilder, driverCodes } from "../../src/databases/sql-database.js"
import { sqlite } from "../../src/databases/sqlite.js"
import { AccountStoreError } from "../../src/errors.js"
import { sqlTables } from "../../src/statements.js"
import type { AccountStore } from "../../src/store.js"
import { typedLockTimeouts } from "../../src/store-support.js"

const key = { provider: "p", providerAccountId: "a" }
const target = { accounts: "`Account`", provider: "`provider`", providerAccountId: "`providerAccountId`" }
const prismaWrapped = (originalCode: string, originalMessage = "") =>
  Object.assign(new Error("prisma"), {
    code: "P2010",
    meta: { driverAdapterError: { cause: { originalCode, originalMessage } } },
  })

describe("parameters and quoting", () => {
  test("PostgreSQL numbers its parameters; MySQL and SQLite use positional ?", () => {
    for (const [database, expected] of [
      [postgres, "a = $1 AND b = $2"],
      [mysql, "a = ? AND b = ?"],
      [sqlite, "a = ? AND b = ?"],
    ] as const) {
      const sql = new StatementBuilder(database)
      const text = `a = ${sql.param(1)} AND b = ${sql.param("two")}`
      expect(sql.statement(text)).toEqual({ text: expected, values: [1, "two"] })
    }
  })

  test("identifiers are quoted per database, and names that are not plain identifiers are refused", () => {
    expect(
      sqlTables(mysql, { accounts: "auth.Account", users: "User", store: "t", origin: {} as never }).accounts,
    ).toBe("`auth`.`Account`")
    expect(sqlTables(sqlite, { accounts: "Account", users: "User", store: "t", origin: {} as never }).accounts).toBe(
      `"Account"`,
    )
    expect(() =>
      sqlTables(mysql, { accounts: "Account`; DROP", users: "User", store: "t", origin: {} as never }),
    ).toThrow(/Invalid accounts table name/)
  })

  test("a table's own column names replace Auth.js's field names, and rows read back get the field names again", () => {
    const tables = sqlTables(postgres, {
      accounts: "account",
      users: "user",
      store: "t",
      origin: {} as never,
      accountColumns: { providerAccountId: "provider_account_id", access_token: "accessToken" },
      userIdColumn: "user_id",
    })
    expect(tables.column("providerAccountId")).toBe(`"provider_account_id"`)
    expect(tables.column("provider")).toBe(`"provider"`)
    expect(tables.userId).toBe(`"user_id"`)
    expect(tables.fieldsOf({ provider_account_id: "x", accessToken: "at", provider: "p" })).toEqual({
      providerAccountId: "x",
      access_token: "at",
      provider: "p",
    })
    expect(() =>
      sqlTables(postgres, {
        accounts: "a",
        users: "u",
        store: "t",
        origin: {} as never,
        accountColumns: { access_token: "bad name" },
      }),
    ).toThrow(/account column name/)
  })
})

describe("the account lock of each database", () => {
  test("PostgreSQL: the transaction-scoped advisory lock on the hashed key, its SET LOCAL lock_timeout in the same statement; nothing to restore", () => {
    const { take, restore } = postgres.lockStatements(key, target, 1500)
    expect(take).toEqual([
      {
        text:
          `SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_KEY_SQL}) ` +
          `FROM (SELECT set_config('lock_timeout', $3, true)) AS bound`,
        values: ["p", "a", "1500ms"],
      },
    ])
    expect(restore).toEqual([])
    expect(postgres.lockStatements(key, target, undefined).take).toEqual([
      { text: `SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_KEY_SQL})`, values: ["p", "a"] },
    ])
  })

  test("MySQL/MariaDB: a locking read of the key; a bound rounds UP to whole seconds and is restored", () => {
    const { take, restore } = mysql.lockStatements(key, target, 1500)
    expect(take[0]).toEqual({ text: expect.stringContaining("SESSION innodb_lock_wait_timeout = ?"), values: [2] })
    expect(take[1]).toEqual({
      text: "SELECT 1 AS `locked` FROM `Account` WHERE `provider` = ? AND `providerAccountId` = ? FOR UPDATE",
      values: ["p", "a"],
    })
    expect(restore).toEqual([{ text: expect.stringContaining("SET SESSION innodb_lock_wait_timeout = @"), values: [] }])
    expect(mysql.lockStatements(key, target, 1).take[0]?.values).toEqual([1])
    expect(mysql.lockStatements(key, target, undefined)).toEqual({ take: [take[1]], restore: [] })
  })

  test("SQLite: the lock is the BEGIN IMMEDIATE itself (no statements inside the transaction)", () => {
    expect(sqlite.lockKind).toBe("database")
    expect(sqlite.lockStatements(key, target, 100)).toEqual({ take: [], restore: [] })
  })
})

describe("what a driver error means", () => {
  test("missing tables and columns, with the column name taken from the message", () => {
    expect(postgres.classifyError(Object.assign(new Error('relation "x" does not exist'), { code: "42P01" }))).toEqual({
      kind: "missing-table",
    })
    expect(
      postgres.classifyError(
        Object.assign(new Error('column "refresh_token_expires_in" of relation "a" does not exist'), { code: "42703" }),
      ),
    ).toEqual({
      kind: "missing-column",
      column: "refresh_token_expires_in",
    })
    expect(
      mysql.classifyError(
        Object.assign(new Error("Table 'db.Account' doesn't exist"), { code: "ER_NO_SUCH_TABLE", errno: 1146 }),
      ),
    ).toEqual({ kind: "missing-table" })
    expect(
      mysql.classifyError(
        Object.assign(new Error("Unknown column 'extra' in 'field list'"), { code: "ER_BAD_FIELD_ERROR", errno: 1054 }),
      ),
    ).toEqual({
      kind: "missing-column",
      column: "extra",
    })
    expect(sqlite.classifyError(Object.assign(new Error("no such table: Account"), { code: "SQLITE_ERROR" }))).toEqual({
      kind: "missing-table",
    })
    expect(
      sqlite.classifyError(
        Object.assign(new Error("table Account has no column named extra"), { code: "SQLITE_ERROR" }),
      ),
    ).toEqual({ kind: "missing-column", column: "extra" })
    expect(sqlite.classifyError(Object.assign(new Error("no such column: a.extra"), { code: "SQLITE_ERROR" }))).toEqual(
      { kind: "missing-column", column: "extra" },
    )
  })

  test("lock timeouts and duplicate keys, also when Prisma wraps the driver's error", () => {
    expect(postgres.classifyError({ code: "55P03" })).toEqual({ kind: "lock-timeout" })
    expect(postgres.classifyError(prismaWrapped("55P03"))).toEqual({ kind: "lock-timeout" })
    expect(mysql.classifyError({ code: "ER_LOCK_WAIT_TIMEOUT", errno: 1205 })).toEqual({ kind: "lock-timeout" })
    expect(mysql.classifyError(prismaWrapped("1205"))).toEqual({ kind: "lock-timeout" })
    expect(mysql.classifyError({ code: "ER_DUP_ENTRY", errno: 1062 })).toEqual({ kind: "duplicate-key" })
    expect(sqlite.classifyError({ code: "SQLITE_BUSY" })).toEqual({ kind: "lock-timeout" })
    expect(sqlite.classifyError({ code: "SQLITE_CONSTRAINT_UNIQUE" })).toEqual({ kind: "duplicate-key" })
    expect(driverCodes(prismaWrapped("1205"))).toEqual(["P2010", "1205"])
  })

  test("other errors mean nothing special, on every database", () => {
    for (const database of [postgres, mysql, sqlite]) {
      expect(database.classifyError(new Error("boom"))).toEqual({ kind: "other" })
      expect(database.classifyError(null)).toEqual({ kind: "other" })
      expect(database.classifyError({ code: "ECONNREFUSED", errno: -111 })).toEqual({ kind: "other" })
    }
  })

  test("AccountStoreError.lockTimeout is what the store says, never read from a driver code", () => {
    expect(new AccountStoreError("s", "x", { code: "55P03" }).lockTimeout).toBe(false)
    expect(new AccountStoreError("s", "x", undefined, { lockTimeout: true }).lockTimeout).toBe(true)
  })

  test("a store's boundary turns its own database's lock timeouts, and only those, into the typed value", async () => {
    /** A store whose every call fails with `error` (the boundary is what is tested, not a client). */
    const failingWith = (error: unknown): AccountStore => ({
      name: "s",
      withAccountLock: () => Promise.reject(error),
      findAccounts: () => Promise.reject(error),
    })
    const lockTimeouts = [
      [postgres, { code: "55P03" }],
      [postgres, prismaWrapped("55P03")],
      [mysql, { code: "ER_LOCK_WAIT_TIMEOUT", errno: 1205 }],
      [sqlite, { code: "SQLITE_BUSY" }],
    ] as const
    for (const [database, error] of lockTimeouts) {
      const store = typedLockTimeouts(failingWith(error), database)
      const failure: unknown = await store.withAccountLock(key, async () => undefined).catch((e: unknown) => e)
      expect(failure).toBeInstanceOf(AccountStoreError)
      expect({
        lockTimeout: (failure as AccountStoreError).lockTimeout,
        store: (failure as AccountStoreError).store,
      }).toEqual({ lockTimeout: true, store: "s" })
    }
    // Another database's code, or any other error, passes unchanged (the core wraps it with what it did).
    for (const [database, error] of [
      [sqlite, { code: "55P03" }],
      [postgres, { code: "23505" }],
      [mysql, new Error("no")],
    ] as const) {
      const store = typedLockTimeouts(failingWith(error), database)
      await expect(store.findAccounts("u", "p")).rejects.toBe(error)
    }
    expect(typedLockTimeouts(failingWith(null), postgres).updateOwnTokens).toBeUndefined()
  })
})
