/**
 * Lease-mode refresh storms on the reference store WITHOUT transactions (PostgreSQL through single
 * autocommit statements): 4 processes x 25 callers, the real rotating oidc-provider, exactly one refresh grant
 * per expiry. Control: the same store whose refresh-lease take always answers "taken" breaks the grant.
 */
import { testDatabase } from "../../../src/harness/postgres.js"
import { describeAlwaysTakenControl, describeRefreshStorm } from "../../suites/storm-suite.js"

const fixtureModule = new URL("../../../src/fixtures/conformance-autocommit-pg.ts", import.meta.url)
const alwaysTaken = new URL("../../../src/fixtures/conformance-autocommit-pg-always-taken.ts", import.meta.url)

describeRefreshStorm({
  name: "autocommit reference store (no transactions), lease mode",
  fixtureModule,
  database: testDatabase,
  coordination: "lease",
})

describeAlwaysTakenControl({ name: "the autocommit store", fixtureModule, alwaysTaken, database: testDatabase })
