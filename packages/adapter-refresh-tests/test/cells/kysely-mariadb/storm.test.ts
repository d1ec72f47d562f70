/** The refresh storm (storm-suite.ts) for Kysely (MysqlDialect, mysql2) on MariaDB. */
import { testMysqlDatabase } from "../../../src/harness/mariadb.js"
import { describeRefreshStorm } from "../../suites/storm-suite.js"

describeRefreshStorm({
  name: "kysely on MariaDB",
  fixtureModule: new URL("../../../src/fixtures/conformance-kysely-mysql.ts", import.meta.url),
  database: testMysqlDatabase,
})
