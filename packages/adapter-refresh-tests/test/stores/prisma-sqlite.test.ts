/** The store suite on SQLite: @auth/prisma-adapter's SQLite schema, Prisma 7 + @prisma/adapter-better-sqlite3 on a real file. */
import { describe, expect, test } from "@jest/globals"
import type { PrismaClientLike } from "authjs-adapter-refresh/stores/prisma"
import { openSqlite } from "../../src/harness/sqlite.js"
import { detectionTests, otherDatabase } from "./prisma-other-databases.js"
import { describeStore, freshKey, whileHolding } from "./store-suite.js"

describeStore({
  flavour: "prisma",
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
  },
})
