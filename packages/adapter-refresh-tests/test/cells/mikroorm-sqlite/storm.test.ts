/** The refresh storm (storm-suite.ts) for @auth/mikro-orm-adapter on SQLite (MikroORM 5, @mikro-orm/better-sqlite). */
import { testSqliteFile } from "../../../src/harness/sqlite.js"
import { describeRefreshStorm, LEASE_EXPIRIES } from "../../suites/storm-suite.js"

const fixtureModule = new URL("../../../src/fixtures/conformance-mikroorm-sqlite.ts", import.meta.url)

describeRefreshStorm({ name: "mikro-orm on SQLite", fixtureModule, database: testSqliteFile })

// Lease mode (nothing held while the provider answers): the same guarantee, one grant per expiry.
describeRefreshStorm({
  name: "mikro-orm on SQLite, lease mode",
  fixtureModule,
  database: testSqliteFile,
  coordination: "lease",
  expiries: LEASE_EXPIRIES,
})
