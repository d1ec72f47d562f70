/** The refresh storm (storm-suite.ts) for @auth/prisma-adapter on SQLite (@prisma/adapter-better-sqlite3, a file). */
import { testOtherDatabase } from "../../../src/fixtures/prisma-databases.js"
import { describeRefreshStorm, LEASE_EXPIRIES } from "../../suites/storm-suite.js"

describeRefreshStorm({
  name: "prisma on SQLite",
  fixtureModule: new URL("../../../src/fixtures/conformance-prisma-sqlite.ts", import.meta.url),
  database: (prefix) => testOtherDatabase("sqlite", prefix),
  // Every caller goes through the file's one write lock, and waiters poll it with SQLite's busy-handler
  // backoff: under a loaded CI machine the 100 callers of a storm outlasted a 3 s token (a second,
  // rotated, in-order refresh within one "expiry"; no invalid_grant). 10 s keeps each storm in one expiry.
  accessTokenTtl: 10,
})

// Lease mode (nothing held while the provider answers): the same guarantee, one grant per expiry.
describeRefreshStorm({
  name: "prisma on SQLite, lease mode",
  fixtureModule: new URL("../../../src/fixtures/conformance-prisma-sqlite.ts", import.meta.url),
  database: (prefix) => testOtherDatabase("sqlite", prefix),
  accessTokenTtl: 10,
  coordination: "lease",
  expiries: LEASE_EXPIRIES,
})
