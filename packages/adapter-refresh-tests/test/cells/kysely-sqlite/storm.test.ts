/** The refresh storm (storm-suite.ts) for Kysely (SqliteDialect, better-sqlite3, WAL) on SQLite files. */
import { testSqliteFile } from "../../../src/harness/sqlite.js"
import { describeRefreshStorm } from "../../suites/storm-suite.js"

describeRefreshStorm({
  name: "kysely on SQLite",
  fixtureModule: new URL("../../../src/fixtures/conformance-kysely-sqlite.ts", import.meta.url),
  database: testSqliteFile,
})
