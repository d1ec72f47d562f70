import { describe, expect, test } from "@jest/globals"
import { isKysely, isPgClient, isPgPool, isPrismaClient } from "authjs-adapter-refresh/internal"
import { pgAccountStore, type PgPoolLike } from "authjs-adapter-refresh/stores/pg"
import pg from "pg"
import { describeStore, freshKey } from "../../suites/store-suite.js"

describeStore({
  cell: "pg",
  storeName: "pg",
  expiresAtAs: "string",
  allowsDuplicates: true,
  extra(ctx) {
    describe("detection", () => {
      test("isPgPool recognises a Pool and nothing else", async () => {
        const { db } = ctx.a()
        expect(isPgPool(db)).toBe(true)
        expect(isPgClient(db)).toBe(false)
        expect(isPrismaClient(db)).toBe(false)
        expect(isKysely(db)).toBe(false)
        for (const other of [null, undefined, {}, "postgres://", { query() {}, connect() {} }])
          expect(isPgPool(other)).toBe(false)
      })
      test("isPgClient recognises a bare pg.Client and a checked-out PoolClient, which pgAccountStore refuses", async () => {
        const client = new pg.Client({ connectionString: ctx.url() })
        expect(isPgClient(client)).toBe(true)
        expect(isPgPool(client)).toBe(false)
        expect(() => pgAccountStore(client as unknown as PgPoolLike)).toThrow(/pass a Pool/)

        const poolClient = await ctx.inspect().connect()
        try {
          expect(isPgClient(poolClient)).toBe(true)
          expect(isPgPool(poolClient)).toBe(false)
        } finally {
          poolClient.release()
        }
      })
    })

    describe("options", () => {
      test("refuses unsafe table names at construction", () => {
        const pool = ctx.a().pool
        for (const bad of ["accounts; DROP TABLE users", 'accounts"', "a.b.c", "", "public."]) {
          expect(() => pgAccountStore(pool, { accountsTable: bad })).toThrow(/Invalid accounts table name/)
          expect(() => pgAccountStore(pool, { usersTable: bad })).toThrow(/Invalid users table name/)
        }
        expect(() => pgAccountStore(pool, { lockTimeoutMs: -1 })).toThrow(/lockTimeoutMs/)
      })

      test("uses configured, schema-qualified table names", async () => {
        const pool = ctx.inspect()
        await pool.query(`CREATE SCHEMA IF NOT EXISTS auth`)
        await pool.query(`CREATE TABLE auth.oauth_accounts (LIKE accounts INCLUDING ALL)`)
        await pool.query(`CREATE TABLE auth.app_users (LIKE users INCLUDING ALL)`)
        const store = pgAccountStore(ctx.a().pool, {
          accountsTable: "auth.oauth_accounts",
          usersTable: "auth.app_users",
        })
        const key = freshKey("qualified")
        const { rows } = await pool.query<{ id: number }>(
          `INSERT INTO auth.app_users (email) VALUES ('q@example.test') RETURNING id`,
        )
        const userId = String(rows[0]?.id)
        await store.withAccountLock(key, async (account) => {
          expect(await account.userExists(userId)).toBe(true)
          await account.insert({ ...key, userId, type: "oauth", tokens: { access_token: "q" } })
        })
        const stored = await pool.query(`SELECT * FROM auth.oauth_accounts WHERE "providerAccountId" = $1`, [
          key.providerAccountId,
        ])
        expect(stored.rows).toEqual([expect.objectContaining({ access_token: "q", userId: Number(userId) })])
        expect(await store.findAccounts(userId, key.provider)).toEqual([expect.objectContaining({ ...key, userId })])
      })
    })

    test("userId comes back as a string although users.id is serial", async () => {
      const key = freshKey("int-user")
      const userId = await ctx.a().insertUser(`${key.providerAccountId}@example.test`)
      expect(userId).toMatch(/^\d+$/)
      const read = await ctx.a().store.withAccountLock(key, async (account) => {
        await account.insert({ ...key, userId, type: "oauth", tokens: {} })
        return (await account.readAll())[0]
      })
      expect(read?.userId).toBe(userId)
    })
  },
})
