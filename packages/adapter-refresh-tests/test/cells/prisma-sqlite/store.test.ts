/**
 * The store suite on SQLite: @auth/prisma-adapter's SQLite schema, Prisma 7 + @prisma/adapter-better-sqlite3 on a real
 * file.
 */
import { describe, expect, test } from "@jest/globals"
import { prismaAccountStore, type PrismaClientLike } from "authjs-adapter-refresh/stores/prisma"
import { openSqlite } from "../../../src/harness/sqlite.js"
import { detectionTests, otherDatabase } from "../../suites/prisma-other-databases.js"
import { describeStore, freshKey, whileHolding } from "../../suites/store-suite.js"

describeStore({
  cell: "prisma",
  storeName: "prisma",
  expiresAtAs: "number",
  allowsDuplicates: false,
  database: otherDatabase("sqlite"),
  extra(ctx) {
    detectionTests(ctx, "sqlite")

    describe("the lock is the database file's write lock, taken by the transaction's first statement", () => {
      /** Whether another connection to the file can begin a write transaction now (waiting at most 200 ms). */
      const otherConnectionCanWrite = (): boolean | string => {
        const db = openSqlite(ctx.url().replace(/^file:/, ""), { busyTimeoutMs: 200 })
        try {
          db.prepare("BEGIN IMMEDIATE").run()
          db.prepare("ROLLBACK").run()
          return true
        } catch (error) {
          return (error as { code?: string }).code ?? String(error)
        } finally {
          db.close()
        }
      }
      test("while withAccountLock's callback runs, another connection cannot begin a write (SQLITE_BUSY after its busy timeout)", async () => {
        const key = freshKey("file-lock")
        const outcome = await whileHolding(ctx.a().store, key, async () => otherConnectionCanWrite())
        expect(outcome).toBe("SQLITE_BUSY")
        // And the lock ends with the transaction.
        expect(otherConnectionCanWrite()).toBe(true)
      })
      test("control: a Prisma transaction whose first statement reads holds no write lock (why the store writes first)", async () => {
        const prisma = ctx.a().db as PrismaClientLike & { account: { findMany(args: object): Promise<unknown[]> } }
        const outcome = await prisma.$transaction(async (tx) => {
          await (tx as unknown as typeof prisma).account.findMany({ where: { provider: "nobody" } })
          return otherConnectionCanWrite()
        })
        expect(outcome).toBe(true)
      })
    })

    describe("the one-statement sign-in on Prisma's one connection", () => {
      type Row = { access_token: string | null; updatedAt: unknown; kind: string }
      /** The row as the file holds it, read on a connection of the test's own. */
      const rawRow = (key: { provider: string; providerAccountId: string }): Row | undefined => {
        const db = openSqlite(ctx.url().replace(/^file:/, ""))
        try {
          return db
            .prepare(
              `SELECT access_token, updatedAt, typeof(updatedAt) AS kind ` +
                `FROM "Account" WHERE provider = ? AND providerAccountId = ?`,
            )
            .get(key.provider, key.providerAccountId) as Row | undefined
        } finally {
          db.close()
        }
      }
      const linked = async (label: string) => {
        const key = freshKey(label)
        const userId = await ctx.a().insertUser(`${key.providerAccountId}@example.test`)
        await ctx
          .a()
          .store.withAccountLock(key, (account) =>
            account.insert({ ...key, userId, type: "oidc", tokens: { access_token: "old" } }),
          )
        return { key, userId }
      }

      test("writes @updatedAt in the adapter's own format (as Prisma's create wrote it), the instant now", async () => {
        const { key, userId } = await linked("sqlite-updated-at")
        const before = rawRow(key)!
        await new Promise((resolve) => setTimeout(resolve, 20))
        const asked = Date.now()
        expect(await ctx.a().store.updateOwnTokens!(key, userId, { access_token: "new" }, () => {})).toHaveLength(1)
        const after = rawRow(key)!
        expect(after.access_token).toBe("new")
        expect(after.kind).toBe(before.kind)
        // The default timestampFormat: ISO text with an explicit UTC offset.
        const shape = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/
        expect(String(before.updatedAt)).toMatch(shape)
        expect(String(after.updatedAt)).toMatch(shape)
        expect(Math.abs(Date.parse(String(after.updatedAt)) - asked)).toBeLessThan(5_000)
      })
      test("a store's statement is not sent while another store on the same client holds a locked transaction", async () => {
        const { key, userId } = await linked("sqlite-gate")
        const other = prismaAccountStore(ctx.a().db as PrismaClientLike)
        const seenInside = await whileHolding(other, key, async () =>
          ctx.a().store.updateOwnTokens!(key, userId, { access_token: "from-sign-in" }, () => {}),
        )
        expect(seenInside).toEqual([])
        expect(rawRow(key)?.access_token).toBe("old")
      })
      test("control: a statement sent outside the gate during a locked transaction runs inside it (why the gate exists)", async () => {
        const { key } = await linked("sqlite-gate-control")
        const prisma = ctx.a().db as PrismaClientLike
        const readInside = await ctx.a().store.withAccountLock(key, async (account) => {
          await prisma.$executeRawUnsafe(
            `UPDATE "Account" SET access_token = 'joined' WHERE provider = ? AND providerAccountId = ?`,
            key.provider,
            key.providerAccountId,
          )
          // Another connection would wait on the write lock; this one is the holder's own.
          return (await account.readAll())[0]?.tokens.access_token
        })
        expect(readInside).toBe("joined")
      })
      test("a locked transaction asked for while a statement is in flight starts after it, and reads what it wrote", async () => {
        const { key, userId } = await linked("sqlite-gate-order")
        const statement = ctx.a().store.updateOwnTokens!(key, userId, { access_token: "first" }, () => {})
        const transaction = ctx
          .a()
          .store.withAccountLock(key, async (account) => (await account.readAll())[0]?.tokens.access_token)
        expect(await statement).toHaveLength(1)
        expect(await transaction).toBe("first")
      })
    })
  },
})
