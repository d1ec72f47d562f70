/**
 * The refresh storm (storm-suite.ts) for @auth/typeorm-adapter on SQLite files. One storm per file: the adapter
 * keeps one DataSource per process, built from the first options it is given (fixtures/typeorm.ts).
 */
import { testSqliteFile } from "../../../src/harness/sqlite.js"
import { describeRefreshStorm } from "../../suites/storm-suite.js"

describeRefreshStorm({
  name: "typeorm on SQLite",
  fixtureModule: new URL("../../../src/fixtures/conformance-typeorm-sqlite.ts", import.meta.url),
  database: testSqliteFile,
})
