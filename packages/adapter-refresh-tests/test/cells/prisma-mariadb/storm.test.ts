/** The refresh storm (storm-suite.ts) for @auth/prisma-adapter on MariaDB (@prisma/adapter-mariadb). */
import { testMysqlDatabase } from "../../../src/harness/mariadb.js"
import { describeRefreshStorm, LEASE_EXPIRIES } from "../../suites/storm-suite.js"

describeRefreshStorm({
  name: "prisma on MariaDB",
  fixtureModule: new URL("../../../src/fixtures/conformance-prisma-mysql.ts", import.meta.url),
  database: testMysqlDatabase,
})

// Lease mode (nothing held while the provider answers): the same guarantee, one grant per expiry.
describeRefreshStorm({
  name: "prisma on MariaDB, lease mode",
  fixtureModule: new URL("../../../src/fixtures/conformance-prisma-mysql.ts", import.meta.url),
  database: testMysqlDatabase,
  coordination: "lease",
  expiries: LEASE_EXPIRIES,
})
