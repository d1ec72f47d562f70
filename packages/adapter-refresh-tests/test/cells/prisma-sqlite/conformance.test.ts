import { runConformanceSuite } from "../../../src/index.js"
import { testOtherDatabase } from "../../../src/fixtures/prisma-databases.js"

runConformanceSuite({
  name: "@auth/prisma-adapter on SQLite (Prisma 7 + @prisma/adapter-better-sqlite3, a database file)",
  fixtureModule: new URL("../../../src/fixtures/conformance-prisma-sqlite.ts", import.meta.url),
  database: () => testOtherDatabase("sqlite", "kit_prisma_sqlite"),
  expectedStoreName: "prisma",
  expectsReauthListing: true,
  expectsLeases: true,
  expectsOneStatementSignIn: true,
})
