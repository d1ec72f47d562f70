/** The refresh storm (storm-suite.ts) for @auth/sequelize-adapter on MariaDB (the mariadb dialect). */
import { testMysqlDatabase } from "../../../src/harness/mariadb.js"
import { describeRefreshStorm } from "../../suites/storm-suite.js"

describeRefreshStorm({
  name: "sequelize on MariaDB",
  fixtureModule: new URL("../../../src/fixtures/conformance-sequelize-mariadb.ts", import.meta.url),
  database: testMysqlDatabase,
})
