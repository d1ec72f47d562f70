/**
 * The refresh storm (storm-suite.ts) on Drizzle's PostgreSQL cells: node-postgres and postgres.js,
 * @auth/drizzle-adapter's default tables.
 */
import { describeRefreshStorm, LEASE_EXPIRIES } from "../../suites/storm-suite.js"

describeRefreshStorm({ name: "drizzle (PostgreSQL, node-postgres)", cell: "drizzle" })
describeRefreshStorm({ name: "drizzle (PostgreSQL, postgres.js)", cell: "drizzle-postgres-js" })

// Lease mode (nothing held while the provider answers): the same guarantee, one grant per expiry.
describeRefreshStorm({
  name: "drizzle (PostgreSQL, node-postgres), lease mode",
  cell: "drizzle",
  coordination: "lease",
  expiries: LEASE_EXPIRIES,
})
describeRefreshStorm({
  name: "drizzle (PostgreSQL, postgres.js), lease mode",
  cell: "drizzle-postgres-js",
  coordination: "lease",
  expiries: LEASE_EXPIRIES,
})
