import { runConformanceSuite } from "../../../src/index.js"
import { testOtherDatabase } from "../../../src/fixtures/prisma-databases.js"

runConformanceSuite({
  name: "@auth/prisma-adapter on SQLite (Prisma 7 + @prisma/adapter-libsql, a local database file)",
  fixtureModule: new URL("../../../src/fixtures/conformance-prisma-libsql.ts", import.meta.url),
  database: () => testOtherDatabase("sqlite", "kit_prisma_libsql"),
  expectedStoreName: "prisma",
  expectsReauthListing: true,
  expectsLeases: false,
  expectsOneStatementSignIn: false,
})
