/** The refresh storm (storm-suite.ts) for Kysely (MysqlDialect, mysql2) on MariaDB. */
import { testMysqlDatabase } from "../../../src/harness/mariadb.js"
import { describeRefreshStorm, LEASE_EXPIRIES } from "../../suites/storm-suite.js"

describeRefreshStorm({
  name: "kysely on MariaDB",
  fixtureModule: new URL("../../../src/fixtures/conformance-kysely-mysql.ts", import.meta.url),
  database: testMysqlDatabase,
})

// Lease mode (nothing held while the provider answers): the same guarantee, one grant per expiry.
describeRefreshStorm({
  name: "kysely on MariaDB, lease mode",
  fixtureModule: new URL("../../../src/fixtures/conformance-kysely-mysql.ts", import.meta.url),
  database: testMysqlDatabase,
  coordination: "lease",
  expiries: LEASE_EXPIRIES,
})
