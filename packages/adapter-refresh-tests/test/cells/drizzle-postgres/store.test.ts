/**
 * The store suite on Drizzle's PostgreSQL drivers (node-postgres, postgres.js), @auth/drizzle-adapter's default tables.
 */
import { describe, expect, test } from "@jest/globals"
import { DrizzleAdapter } from "@auth/drizzle-adapter"
import { UnsupportedDatabaseError, withTokenSync } from "authjs-adapter-refresh"
import {
  isDrizzleDatabase,
  isKysely,
  isPgClient,
  isPgPool,
  isPrismaClient,
  resolveAccountStore,
} from "authjs-adapter-refresh/internal"
import { drizzleAccountStore, type DrizzleDatabaseLike } from "authjs-adapter-refresh/stores/drizzle"
import { drizzle as drizzleNodePg, type NodePgDatabase } from "drizzle-orm/node-postgres"
import { drizzle as drizzleProxy } from "drizzle-orm/pg-proxy"
import { integer, pgTable, text } from "drizzle-orm/pg-core"
import pg from "pg"
import { describeStore, freshKey } from "../../suites/store-suite.js"

/** What `fn` throws (or undefined). */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}

for (const cell of ["drizzle", "drizzle-postgres-js"] as const) {
  describeStore({
    cell,
    storeName: "drizzle",
    // expires_at is an integer column in the adapter's tables: both drivers return a number.
    expiresAtAs: "number",
    allowsDuplicates: false,
    expiresAtHoldsMilliseconds: false,
    extra(ctx) {
      const drizzleDb = () => ctx.a().db as DrizzleDatabaseLike

      describe("detection", () => {
        test("isDrizzleDatabase recognises the Drizzle db, and no other detector does", () => {
          const db = drizzleDb()
          expect(isDrizzleDatabase(db)).toBe(true)
          expect(isKysely(db)).toBe(false)
          expect(isPrismaClient(db)).toBe(false)
          expect(isPgPool(db)).toBe(false)
          expect(isPgClient(db)).toBe(false)
          expect(resolveAccountStore(db).name).toBe("drizzle")
          for (const other of [null, undefined, {}, ctx.a().pool, { transaction() {}, select() {} }])
            expect(isDrizzleDatabase(other)).toBe(false)
        })

        test("refuses a Drizzle transaction, saying to pass the database", async () => {
          const db = drizzleDb() as unknown as NodePgDatabase
          await db.transaction(async (tx) => {
            const error = thrownBy(() => drizzleAccountStore(tx))
            expect(error).toBeInstanceOf(UnsupportedDatabaseError)
            expect((error as Error).message).toMatch(/transaction; pass the database itself/)
          })
        })
      })
      test('withTokenSync(DrizzleAdapter(db), db) writes to the adapter\'s "account" table and never to a table named "accounts"', async () => {
        // The old failure: the pg store's default tables ("accounts"/"users") used for a Drizzle app. A
        // decoy "accounts" table that would take the row, so the check cannot pass by an error.
        const inspect = ctx.inspect()
        await inspect.query(`CREATE TABLE IF NOT EXISTS accounts (LIKE "account" INCLUDING DEFAULTS)`)
        const db = drizzleDb()
        const wrapped = withTokenSync(DrizzleAdapter(db as unknown as NodePgDatabase), db)
        const key = freshKey("default-tables")
        const userId = await ctx.a().insertUser(`${key.providerAccountId}@example.test`)
        const linked = await wrapped.linkAccount({
          ...key,
          userId,
          type: "oidc",
          access_token: "at-default",
          refresh_token: "rt-default",
        })
        // DrizzleAdapter's own linkAccount resolves to nothing; so does the wrapped one.
        expect(linked).toBeUndefined()
        await wrapped.syncAccount({ ...key, access_token: "at-synced" })
        expect(await ctx.a().accountRows(key)).toEqual([
          expect.objectContaining({ userId, access_token: "at-synced", refresh_token: "rt-default" }),
        ])
        expect((await inspect.query(`SELECT count(*)::int AS n FROM accounts`)).rows[0]).toEqual({ n: 0 })
        expect(await wrapped.getUserByAccount(key)).toMatchObject({ id: userId })
      })

      test('a table named "x.acc" and a decoy x.acc (schema x): adapter and store use the same table', async () => {
        // Drizzle quotes a table's name whole ("x.acc"); a store splitting it at the "." would write to x.acc.
        const inspect = ctx.inspect()
        const schema = `dotted_${cell.replace(/-/g, "_")}`
        const dotted = `${schema}.acc`
        await inspect.query(`CREATE TABLE "${dotted}" (LIKE "account" INCLUDING ALL)`)
        await inspect.query(`CREATE SCHEMA "${schema}"`)
        await inspect.query(`CREATE TABLE "${schema}"."acc" (LIKE "account" INCLUDING ALL)`)
        const accountsTable = pgTable(dotted, {
          userId: text("userId").notNull(),
          type: text("type").notNull(),
          provider: text("provider").notNull(),
          providerAccountId: text("providerAccountId").notNull(),
          refresh_token: text("refresh_token"),
          access_token: text("access_token"),
          expires_at: integer("expires_at"),
          token_type: text("token_type"),
          scope: text("scope"),
          id_token: text("id_token"),
          session_state: text("session_state"),
        })
        const db = drizzleDb()
        const wrapped = withTokenSync(
          DrizzleAdapter(db as unknown as NodePgDatabase, { accountsTable } as never),
          drizzleAccountStore(db, { accountsTable }),
        )
        const key = freshKey("dotted")
        const userId = await ctx.a().insertUser(`${key.providerAccountId}@example.test`)
        await wrapped.linkAccount({ ...key, userId, type: "oidc", access_token: "at-1", refresh_token: "rt-1" })
        await wrapped.syncAccount({ ...key, access_token: "at-synced" })

        const tokensIn = async (table: string) =>
          (await inspect.query(`SELECT access_token, refresh_token FROM ${table}`)).rows as unknown[]
        expect(await tokensIn(`"${dotted}"`)).toEqual([{ access_token: "at-synced", refresh_token: "rt-1" }])
        expect(await tokensIn(`"${schema}"."acc"`)).toEqual([])
        expect(await wrapped.getAccount?.(key.providerAccountId, key.provider)).toMatchObject({
          access_token: "at-synced",
        })
      })

      test("custom tables with other table and column names are honoured (and the default tables are left alone)", async () => {
        const inspect = ctx.inspect()
        const suffix = cell.replace(/-/g, "_")
        await inspect.query(`CREATE TABLE people_${suffix} (person_id text PRIMARY KEY, email text)`)
        await inspect.query(
          `CREATE TABLE logins_${suffix} (owner text NOT NULL REFERENCES people_${suffix}(person_id),
             kind text NOT NULL, provider text NOT NULL,
             subject text NOT NULL, access_token text, refresh_token text, expires_at integer, token_type text,
             scope text, id_token text,
             session_state text, PRIMARY KEY (provider, subject))`,
        )
        const usersTable = pgTable(`people_${suffix}`, { id: text("person_id").primaryKey(), email: text("email") })
        const accountsTable = pgTable(`logins_${suffix}`, {
          userId: text("owner").notNull(),
          type: text("kind").notNull(),
          provider: text("provider").notNull(),
          providerAccountId: text("subject").notNull(),
          access_token: text("access_token"),
          refresh_token: text("refresh_token"),
          expires_at: integer("expires_at"),
          token_type: text("token_type"),
          scope: text("scope"),
          id_token: text("id_token"),
          session_state: text("session_state"),
        })
        const store = drizzleAccountStore(drizzleDb(), { usersTable, accountsTable })
        const key = freshKey("custom")
        await inspect.query(`INSERT INTO people_${suffix} VALUES ('p-1', 'p1@example.test')`).catch(() => undefined)
        const read = await store.withAccountLock(key, async (account) => {
          expect(await account.userExists("p-1")).toBe(true)
          expect(await account.userExists("p-2")).toBe(false)
          await account.insert({
            ...key,
            userId: "p-1",
            type: "oidc",
            tokens: { access_token: "at-c", expires_at: 1_700_000_000 },
          })
          await account.update({ tokens: { refresh_token: "rt-c" } }, { userId: "p-1" })
          return account.readAll()
        })
        expect(read).toEqual([expect.objectContaining({ ...key, userId: "p-1", type: "oidc" })])
        expect(read[0]?.tokens).toMatchObject({
          access_token: "at-c",
          refresh_token: "rt-c",
          expires_at: 1_700_000_000,
        })
        expect(await store.findAccounts("p-1", key.provider)).toEqual([
          expect.objectContaining({ ...key, userId: "p-1" }),
        ])
        const { rows } = await inspect.query(`SELECT owner, kind, subject FROM logins_${suffix} WHERE subject = $1`, [
          key.providerAccountId,
        ])
        expect(rows).toEqual([{ owner: "p-1", kind: "oidc", subject: key.providerAccountId }])
        expect(await ctx.a().accountRows(key)).toEqual([])
      })
    },
  })
}

describe("drizzleAccountStore refuses what it cannot serve, saying what to pass instead", () => {
  test("a node-postgres db on a single Client: pass a Pool", () => {
    const error = thrownBy(() =>
      drizzleAccountStore(drizzleNodePg(new pg.Client({ connectionString: "postgres://127.0.0.1:1/none" }))),
    )
    expect(error).toBeInstanceOf(UnsupportedDatabaseError)
    expect((error as Error).message).toMatch(/single node-postgres Client.*Pool/)
    expect(() =>
      withTokenSync({}, drizzleNodePg(new pg.Client({ connectionString: "postgres://127.0.0.1:1/none" }))),
    ).toThrow(/Pool/)
  })

  test("a driver it does not run on (pg-proxy): the supported drivers are named", () => {
    const db = drizzleProxy(async () => ({ rows: [] }))
    expect(isDrizzleDatabase(db)).toBe(true)
    const error = thrownBy(() => withTokenSync({}, db))
    expect(error).toBeInstanceOf(UnsupportedDatabaseError)
    expect((error as Error).message).toMatch(
      /PgRemoteDatabase.*not supported.*node-postgres.*postgres-js.*mysql2.*better-sqlite3.*AccountStore/,
    )
  })

  test("a table option that is not a Drizzle table", () => {
    const db = drizzleNodePg(new pg.Pool({ connectionString: "postgres://127.0.0.1:1/none" }))
    expect(() => drizzleAccountStore(db, { accountsTable: { _: { name: "account" } } })).toThrow(
      /accountsTable must be a Drizzle table/,
    )
    const noUserId = pgTable("account", {
      provider: text("provider"),
      providerAccountId: text("providerAccountId"),
      type: text("type"),
    })
    expect(() => drizzleAccountStore(db, { accountsTable: noUserId })).toThrow(/has no "userId" column/)
  })
})
