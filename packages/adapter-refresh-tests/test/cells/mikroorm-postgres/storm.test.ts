/** The refresh storm (storm-suite.ts) for @auth/mikro-orm-adapter on PostgreSQL (MikroORM 5, @mikro-orm/postgresql). */
import { testDatabase } from "../../../src/harness/postgres.js"
import { describeRefreshStorm, LEASE_EXPIRIES } from "../../suites/storm-suite.js"

const fixtureModule = new URL("../../../src/fixtures/conformance-mikroorm-postgres.ts", import.meta.url)

describeRefreshStorm({ name: "mikro-orm (PostgreSQL)", fixtureModule, database: testDatabase })

// Lease mode (nothing held while the provider answers): the same guarantee, one grant per expiry.
describeRefreshStorm({
  name: "mikro-orm (PostgreSQL), lease mode",
  fixtureModule,
  database: testDatabase,
  coordination: "lease",
  expiries: LEASE_EXPIRIES,
})
