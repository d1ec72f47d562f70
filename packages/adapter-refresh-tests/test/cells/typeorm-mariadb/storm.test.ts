/**
 * The refresh storm (storm-suite.ts) for @auth/typeorm-adapter on MariaDB. One storm per file: the adapter
 * keeps one DataSource per process, built from the first options it is given (fixtures/typeorm.ts).
 */
import { testMysqlDatabase } from "../../../src/harness/mariadb.js"
import { describeRefreshStorm } from "../../suites/storm-suite.js"

describeRefreshStorm({
  name: "typeorm on MariaDB",
  fixtureModule: new URL("../../../src/fixtures/conformance-typeorm-mariadb.ts", import.meta.url),
  database: testMysqlDatabase,
})
