/** The refresh storm (storm-suite.ts) for @auth/prisma-adapter on SQLite (@prisma/adapter-better-sqlite3, a database file). */
import { testOtherDatabase } from "../../src/fixtures/prisma-databases.js"
import { describeRefreshStorm } from "./storm-suite.js"

describeRefreshStorm({
  name: "prisma on SQLite",
  fixtureModule: new URL("../../src/fixtures/conformance-prisma-sqlite.ts", import.meta.url),
  database: (prefix) => testOtherDatabase("sqlite", prefix),
})
