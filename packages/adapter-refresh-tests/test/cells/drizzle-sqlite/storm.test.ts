/** The refresh storm (storm-suite.ts) for Drizzle on SQLite (better-sqlite3), @auth/drizzle-adapter's tables. */
import { testSqliteFile } from "../../../src/harness/sqlite.js"
import { describeRefreshStorm } from "../../suites/storm-suite.js"

describeRefreshStorm({
  name: "drizzle on SQLite (better-sqlite3)",
  fixtureModule: new URL("../../../src/fixtures/conformance-drizzle-sqlite.ts", import.meta.url),
  database: testSqliteFile,
})
