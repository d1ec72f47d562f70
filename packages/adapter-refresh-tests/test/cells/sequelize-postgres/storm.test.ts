/** The refresh storm (storm-suite.ts) for @auth/sequelize-adapter on PostgreSQL (pg). */
import { testDatabase } from "../../../src/harness/postgres.js"
import { describeRefreshStorm, LEASE_EXPIRIES } from "../../suites/storm-suite.js"

const fixtureModule = new URL("../../../src/fixtures/conformance-sequelize-postgres.ts", import.meta.url)

describeRefreshStorm({ name: "sequelize on PostgreSQL", fixtureModule, database: testDatabase })

// Lease mode (nothing held while the provider answers): the same guarantee, one grant per expiry.
describeRefreshStorm({
  name: "sequelize on PostgreSQL, lease mode",
  fixtureModule,
  database: testDatabase,
  coordination: "lease",
  expiries: LEASE_EXPIRIES,
})
