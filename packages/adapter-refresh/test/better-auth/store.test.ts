/**
 * What `betterAuthAccountStore` refuses before any statement: Better Auth's Prisma and Drizzle adapters are
 * functions that keep their client, so the store is given the client instead; the adapter itself fails with a
 * typed error that says so. The ORM paths on a real server: the tests package's
 * test/refresh/better-auth-plugin-prisma.test.ts and better-auth-plugin-drizzle.test.ts.
 */
import { describe, expect, test } from "@jest/globals"
import { betterAuthAccountStore, type BetterAuthDatabase } from "../../src/better-auth/store.js"
import { UnsupportedDatabaseError } from "../../src/errors.js"

describe("betterAuthAccountStore: what it cannot use", () => {
  test("an adapter function (prismaAdapter, drizzleAdapter): UnsupportedDatabaseError naming the plugin's line", () => {
    // What prismaAdapter(prisma, options) and drizzleAdapter(db, options) return: a function of Better Auth's options.
    const adapter = (() => ({})) as unknown as BetterAuthDatabase
    let error: unknown
    try {
      betterAuthAccountStore(adapter)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(UnsupportedDatabaseError)
    expect((error as UnsupportedDatabaseError).code).toBe("UNSUPPORTED_DATABASE")
    expect((error as Error).message).toContain("tokenSync({ database: prisma, refresh })")
    expect((error as Error).message).toContain("tokenSync({ database: db, refresh })")
  })

  test("anything else: UnsupportedDatabaseError listing what it takes, the ORM clients among them", () => {
    expect(() => betterAuthAccountStore({} as unknown as BetterAuthDatabase)).toThrow(
      /Prisma Client or Drizzle database it was built from/,
    )
  })
})
