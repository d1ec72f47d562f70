/** The refresh storm (storm-suite.ts) for Drizzle on MariaDB, @auth/drizzle-adapter's default tables. */
import { testMysqlDatabase } from "../../../src/harness/mariadb.js"
import { describeRefreshStorm } from "../../suites/storm-suite.js"

describeRefreshStorm({
  name: "drizzle on MariaDB",
  fixtureModule: new URL("../../../src/fixtures/conformance-drizzle-mysql.ts", import.meta.url),
  database: testMysqlDatabase,
})
