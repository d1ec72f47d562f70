/** The refresh storm (storm-suite.ts) for @auth/mikro-orm-adapter on MariaDB (MikroORM 5, @mikro-orm/mariadb). */
import { testMysqlDatabase } from "../../../src/harness/mariadb.js"
import { describeRefreshStorm, LEASE_EXPIRIES } from "../../suites/storm-suite.js"

const fixtureModule = new URL("../../../src/fixtures/conformance-mikroorm-mariadb.ts", import.meta.url)

describeRefreshStorm({ name: "mikro-orm on MariaDB", fixtureModule, database: testMysqlDatabase })

// Lease mode (nothing held while the provider answers): the same guarantee, one grant per expiry.
describeRefreshStorm({
  name: "mikro-orm on MariaDB, lease mode",
  fixtureModule,
  database: testMysqlDatabase,
  coordination: "lease",
  expiries: LEASE_EXPIRIES,
})
