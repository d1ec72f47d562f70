/**
 * The refresh storm (storm-suite.ts) for @auth/typeorm-adapter on PostgreSQL. One storm per file: the adapter
 * keeps one DataSource per process, built from the first options it is given (fixtures/typeorm.ts).
 */
import { testDatabase } from "../../../src/harness/postgres.js"
import { describeRefreshStorm } from "../../suites/storm-suite.js"

describeRefreshStorm({
  name: "typeorm on PostgreSQL",
  fixtureModule: new URL("../../../src/fixtures/conformance-typeorm-postgres.ts", import.meta.url),
  database: testDatabase,
})
