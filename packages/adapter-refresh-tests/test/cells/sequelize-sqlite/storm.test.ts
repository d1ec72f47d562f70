/** The refresh storm (storm-suite.ts) for @auth/sequelize-adapter on SQLite files (sqlite3, WAL). */
import { testSqliteFile } from "../../../src/harness/sqlite.js"
import { describeRefreshStorm } from "../../suites/storm-suite.js"

describeRefreshStorm({
  name: "sequelize on SQLite",
  fixtureModule: new URL("../../../src/fixtures/conformance-sequelize-sqlite.ts", import.meta.url),
  database: testSqliteFile,
})
