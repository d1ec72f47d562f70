/**
 * The store suite's cells for the Prisma store on MariaDB and SQLite (test/cells/prisma-mariadb/store.test.ts,
 * test/cells/prisma-sqlite/store.test.ts): the suite's database hooks, and the tests only these databases have.
 */
import { describe, expect, test } from "@jest/globals"
import { UnsupportedDatabaseError } from "authjs-adapter-refresh"
import { prismaAccountStore, type PrismaClientLike } from "authjs-adapter-refresh/stores/prisma"
import { prismaProviderOf } from "authjs-adapter-refresh/internal"
import type { DatabaseFixture } from "../../src/fixtures/databases.js"
import {
  applyPrismaSchema,
  createPrismaOtherFixture,
  execSql,
  testOtherDatabase,
  waitForMysqlLockWaiters,
  type PrismaOtherDatabase,
  type PrismaOtherFixture,
} from "../../src/fixtures/prisma-databases.js"
import type { StoreSuiteContext, StoreSuiteDatabase } from "./store-suite.js"

/** The suite's fixture shape (it has no pg Pool). */
function suiteFixture(fixture: PrismaOtherFixture): DatabaseFixture<unknown> {
  return {
    ...fixture,
    cell: "prisma",
    get pool(): never {
      throw new Error(`the Prisma ${fixture.database} fixture has no pg Pool`)
    },
  }
}

export function otherDatabase(database: PrismaOtherDatabase): StoreSuiteDatabase {
  const q = (name: string) => (database === "mysql" ? `\`${name}\`` : `"${name}"`)
  return {
    name: database,
    create: (prefix) => testOtherDatabase(database, prefix),
    applySchema: (url) => applyPrismaSchema(database, url),
    exec: (url, sql) => execSql(database, url, sql),
    fixture: async (url, options) => suiteFixture(await createPrismaOtherFixture(database, url, options)),
    lockKind: database === "mysql" ? "row" : "database",
    ...(database === "mysql"
      ? { waitForLockWaiters: (url: string, count: number) => waitForMysqlLockWaiters(url, count) }
      : {}),
    dropAccountsTable: `DROP TABLE ${q("Account")}`,
    dropAccountsColumn: (column) => `ALTER TABLE ${q("Account")} DROP COLUMN ${q(column)}`,
  }
}

/** Detection tests, the same on both databases. */
export function detectionTests(ctx: StoreSuiteContext, database: PrismaOtherDatabase): void {
  const prisma = () => ctx.a().db as PrismaClientLike & { $extends(extension: object): PrismaClientLike }
  describe("which database the client talks to", () => {
    test(`is read from the client, also an extended one (provider "${database}")`, () => {
      expect(prismaProviderOf(prisma())).toBe(database)
      expect(prismaProviderOf(prisma().$extends({}))).toBe(database)
    })
    test("a client whose database cannot be read fails at construction, saying to pass { database }; the option is taken as given", async () => {
      // A wrapper that forwards the client's methods and models but not its internals (what a proxy or
      // a hand-rolled facade of an app may do).
      const real = prisma() as unknown as Record<string, unknown>
      const facade = {
        $transaction: (...args: unknown[]) => (real.$transaction as (...a: unknown[]) => unknown)(...args),
        $executeRawUnsafe: (...args: unknown[]) => (real.$executeRawUnsafe as (...a: unknown[]) => unknown)(...args),
        $queryRawUnsafe: (...args: unknown[]) => (real.$queryRawUnsafe as (...a: unknown[]) => unknown)(...args),
        account: real.account,
        user: real.user,
      } as unknown as PrismaClientLike
      expect(() => prismaAccountStore(facade)).toThrow(UnsupportedDatabaseError)
      expect(() => prismaAccountStore(facade)).toThrow(/pass \{ database: "postgres" \| "mysql" \| "sqlite" \}/)
      expect(() => prismaAccountStore(facade, { database: "oracle" as never })).toThrow(/database must be one of/)
      const store = prismaAccountStore(facade, { database })
      const key = { provider: "test-oidc", providerAccountId: `facade-${Date.now().toString(36)}` }
      const userId = await ctx.a().insertUser(`${key.providerAccountId}@example.test`)
      await store.withAccountLock(key, (account) =>
        account.insert({ ...key, userId, type: "oidc", tokens: { access_token: "via-facade" } }),
      )
      expect(await ctx.a().accountRows(key)).toEqual([expect.objectContaining({ access_token: "via-facade" })])
    })

    test("a provider this store cannot lock on (SQL Server) is refused at construction, naming it", () => {
      // An own property (defineProperty): an assignment would reach the client itself through its proxy's set trap.
      const sqlServer = Object.create(prisma() as object, {
        _activeProvider: { value: "sqlserver" },
      }) as PrismaClientLike
      expect(() => prismaAccountStore(sqlServer)).toThrow(/provider is "sqlserver"/)
    })
  })
}
