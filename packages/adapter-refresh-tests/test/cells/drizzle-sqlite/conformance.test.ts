/**
 * Drizzle on SQLite (better-sqlite3), @auth/drizzle-adapter's default tables: the conformance kit (its storm:
 * storm.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { testSqliteFile } from "../../../src/harness/sqlite.js"
import { runConformanceSuite } from "../../../src/index.js"

const fixtureModule = new URL("../../../src/fixtures/conformance-drizzle-sqlite.ts", import.meta.url)

runConformanceSuite(
  {
    name: "@auth/drizzle-adapter on SQLite (better-sqlite3)",
    fixtureModule,
    database: () => testSqliteFile("kit_drizzle_sqlite"),
    expectedStoreName: "drizzle",
    expectsReauthListing: true,
    expectsLeases: true,
    expectsOneStatementSignIn: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)

describe("drizzle on SQLite: what the store refuses", () => {
  it("an in-memory better-sqlite3 database is refused: the store needs a second connection to the same file", async () => {
    const { default: Database } = await import("better-sqlite3")
    const { drizzle } = await import("drizzle-orm/better-sqlite3")
    const { drizzleAccountStore } = await import("authjs-adapter-refresh/stores/drizzle")
    const client = new Database(":memory:")
    try {
      expect(() => drizzleAccountStore(drizzle(client))).toThrow(/in memory.*use a database file/)
    } finally {
      client.close()
    }
  })
})
