/**
 * The SQL seam's mapping for tables laid out otherwise than Auth.js's (Better Auth's `account`): a timestamp
 * expiry column (written as a Date, read back as epoch seconds), token fields the table has no column for
 * (never written), and rows locked by the locked read when other writers skip the account lock. The driver
 * is a FAKE that records statements and values and answers a canned row: what the statements do on a real
 * server is test/refresh/better-auth-plugin.test.ts in the tests package.
 */
import { describe, expect, test } from "@jest/globals"
import { postgres } from "../src/databases/postgres.js"
import { sqlite } from "../src/databases/sqlite.js"
import type { SqlDatabase } from "../src/databases/sql-database.js"
import { sqlAccountStore, type SqlDriver } from "../src/sql-store.js"
import { sqlTables, type SqlRunner, type SqlTableNames } from "../src/statements.js"

const key = { provider: "acme", providerAccountId: "sub-1" }
const names = (extra: Partial<SqlTableNames>): SqlTableNames => ({
  accounts: "account",
  users: "user",
  store: "fake",
  origin: { accounts: { name: "account", option: "a" }, users: { name: "user", option: "u" } },
  accountColumns: { provider: "providerId", providerAccountId: "accountId", expires_at: "accessTokenExpiresAt" },
  ...extra,
})

function recording(database: SqlDatabase, tableNames: SqlTableNames, answer: Record<string, unknown>[] = []) {
  const sent: { text: string; values: readonly unknown[] }[] = []
  const run: SqlRunner = async (text, values) => {
    sent.push({ text, values })
    return text.startsWith("SELECT *") ? answer : []
  }
  const driver: SqlDriver = {
    database,
    run,
    hold: async () => ({ run, release: () => undefined }),
    acquire: async () => ({ run, release: () => undefined }),
  }
  const store = sqlAccountStore(driver, {
    name: "fake",
    factory: "fakeAccountStore",
    tables: sqlTables(database, tableNames),
    lockTimeoutMs: undefined,
    linkAccountResult: "nothing",
    leaseTable: undefined,
    leaseOption: "l",
  })
  return { sent, store }
}

describe("sqlTables: a timestamp expiry, absent token columns", () => {
  const tables = sqlTables(postgres, names({ timestampFields: ["expires_at"], absentFields: ["token_type"] }))

  test("epoch seconds are written as a Date; other fields and non-numbers are left as they are", () => {
    expect(tables.toColumn("expires_at", 1_700_000_000)).toEqual(new Date(1_700_000_000_000))
    expect(tables.toColumn("expires_at", null)).toBeNull()
    expect(tables.toColumn("access_token", "a")).toBe("a")
  })

  test("a timestamp is read back as whole epoch seconds, whatever form the driver gives it", () => {
    const read = (value: unknown) => tables.fieldsOf({ accessTokenExpiresAt: value }).expires_at
    expect(read(new Date(1_700_000_000_999))).toBe(1_700_000_000)
    expect(read("2023-11-14T22:13:20.000Z")).toBe(1_700_000_000)
    expect(read(1_700_000_000_500)).toBe(1_700_000_000)
    expect(read("1700000000500")).toBe(1_700_000_000)
    expect(read(null)).toBeNull()
    expect(read("not a time")).toBe("not a time")
  })

  test("on SQLite (no timestamp type) the timestamp is bound as ISO 8601 text", () => {
    const onSqlite = sqlTables(sqlite, names({ timestampFields: ["expires_at"] }))
    expect(onSqlite.toColumn("expires_at", 1_700_000_000)).toBe("2023-11-14T22:13:20.000Z")
    expect(onSqlite.fieldsOf({ accessTokenExpiresAt: "2023-11-14T22:13:20.000Z" }).expires_at).toBe(1_700_000_000)
  })

  test("with timestampValue (a Drizzle column's own binding), the timestamp is bound as it says", () => {
    // Better Auth's Drizzle schema on SQLite keeps dates as epoch milliseconds (`timestamp_ms`).
    const epochMs = sqlTables(
      sqlite,
      names({ timestampFields: ["expires_at"], timestampValue: (_field, date) => date.getTime() }),
    )
    expect(epochMs.toColumn("expires_at", 1_700_000_000)).toBe(1_700_000_000_000)
    expect(epochMs.toColumn("access_token", "a")).toBe("a")
    expect(epochMs.fieldsOf({ accessTokenExpiresAt: 1_700_000_000_000 }).expires_at).toBe(1_700_000_000)
  })

  test("with timestampRead, the value read is first turned into the instant the schema means", () => {
    // A zone-less column that Drizzle keeps as UTC: the hook reads the text as UTC, whatever the process's zone.
    const seen: unknown[] = []
    const utc = sqlTables(
      postgres,
      names({
        timestampFields: ["expires_at"],
        timestampRead: (field, value) => {
          seen.push([field, value])
          return new Date(`${String(value).replace(" ", "T")}Z`)
        },
      }),
    )
    expect(utc.fieldsOf({ accessTokenExpiresAt: "2023-11-14 22:13:20.000" }).expires_at).toBe(1_700_000_000)
    expect(seen).toEqual([["expires_at", "2023-11-14 22:13:20.000"]])
  })

  test("without timestampFields, expires_at stays the integer it is", () => {
    const plain = sqlTables(postgres, names({}))
    expect(plain.toColumn("expires_at", 5)).toBe(5)
    expect(plain.fieldsOf({ accessTokenExpiresAt: 5 }).expires_at).toBe(5)
  })

  test("an absent field has no column; the others do", () => {
    expect(tables.hasColumn("token_type")).toBe(false)
    expect(tables.hasColumn("access_token")).toBe(true)
  })
})

describe("the store over mapped columns", () => {
  test("an update writes the timestamp as a Date and skips the absent column", async () => {
    const { sent, store } = recording(
      postgres,
      names({ timestampFields: ["expires_at"], absentFields: ["token_type", "session_state"] }),
    )
    await store.withAccountLock(key, (locked) =>
      locked.update(
        { tokens: { access_token: "a2", expires_at: 1_700_000_000, token_type: "bearer" } },
        { userId: "u1" },
      ),
    )
    const update = sent.find((s) => s.text.startsWith("UPDATE"))!
    expect(update.text).toContain(`"accessTokenExpiresAt" = `)
    expect(update.text).not.toContain("token_type")
    expect(update.values).toContainEqual(new Date(1_700_000_000_000))
  })

  test("an update of absent columns only sends nothing", async () => {
    const { sent, store } = recording(postgres, names({ absentFields: ["token_type"] }))
    await store.withAccountLock(key, (locked) => locked.update({ tokens: { token_type: "bearer" } }, { userId: "u1" }))
    expect(sent.some((s) => s.text.startsWith("UPDATE"))).toBe(false)
  })

  test("the locked read locks the rows with lockRowsOnRead, and only then", async () => {
    const read = async (lockRowsOnRead: boolean, database: SqlDatabase) => {
      const { sent, store } = recording(database, names({ lockRowsOnRead }))
      await store.withAccountLock(key, (locked) => locked.readAll())
      return sent.find((s) => s.text.startsWith("SELECT *"))!.text
    }
    expect(await read(true, postgres)).toMatch(/ FOR UPDATE$/)
    expect(await read(false, postgres)).not.toContain("FOR UPDATE")
    // SQLite's BEGIN IMMEDIATE already keeps every other writer out; it has no FOR UPDATE.
    expect(await read(true, sqlite)).not.toContain("FOR UPDATE")
  })

  test("rows read come back with the expiry in epoch seconds", async () => {
    const row = {
      providerId: "acme",
      accountId: "sub-1",
      userId: "u1",
      accessToken: "a1",
      accessTokenExpiresAt: new Date(1_700_000_000_000),
    }
    const { store } = recording(postgres, names({ timestampFields: ["expires_at"] }), [row])
    const rows = await store.withAccountLock(key, (locked) => locked.readAll())
    expect(rows[0]!.tokens.expires_at).toBe(1_700_000_000)
  })
})
