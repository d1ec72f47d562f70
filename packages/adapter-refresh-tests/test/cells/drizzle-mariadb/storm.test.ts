/** The refresh storm (storm-suite.ts) for Drizzle on MariaDB, @auth/drizzle-adapter's default tables. */
import { testMysqlDatabase } from "../../../src/harness/mariadb.js"
import { describeRefreshStorm, LEASE_EXPIRIES } from "../../suites/storm-suite.js"

describeRefreshStorm({
  name: "drizzle on MariaDB",
  fixtureModule: new URL("../../../src/fixtures/conformance-drizzle-mysql.ts", import.meta.url),
  database: testMysqlDatabase,
})

// Lease mode (nothing held while the provider answers): the same guarantee, one grant per expiry.
describeRefreshStorm({
  name: "drizzle on MariaDB, lease mode",
  fixtureModule: new URL("../../../src/fixtures/conformance-drizzle-mysql.ts", import.meta.url),
  database: testMysqlDatabase,
  coordination: "lease",
  expiries: LEASE_EXPIRIES,
})
