/** The refresh storm (storm-suite.ts) for @auth/prisma-adapter on SQLite through @prisma/adapter-libsql (a file). */
import { testOtherDatabase } from "../../../src/fixtures/prisma-databases.js"
import { describeRefreshStorm } from "../../suites/storm-suite.js"

describeRefreshStorm({
  name: "prisma on SQLite (libsql)",
  fixtureModule: new URL("../../../src/fixtures/conformance-prisma-libsql.ts", import.meta.url),
  database: (prefix) => testOtherDatabase("sqlite", prefix),
  // As for better-sqlite3 (storm.test.ts): the storm is serialized by the file's write lock.
  accessTokenTtl: 10,
})
