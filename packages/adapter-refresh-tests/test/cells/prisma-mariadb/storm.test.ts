/** The refresh storm (storm-suite.ts) for @auth/prisma-adapter on MariaDB (@prisma/adapter-mariadb). */
import { testMysqlDatabase } from "../../../src/harness/mariadb.js"
import { describeRefreshStorm } from "../../suites/storm-suite.js"

describeRefreshStorm({
  name: "prisma on MariaDB",
  fixtureModule: new URL("../../../src/fixtures/conformance-prisma-mysql.ts", import.meta.url),
  database: testMysqlDatabase,
})
