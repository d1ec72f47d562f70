/** The refresh storm (storm-suite.ts) for Drizzle on SQLite (better-sqlite3), @auth/drizzle-adapter's tables. */
import { testSqliteFile } from "../../../src/harness/sqlite.js"
import { describeRefreshStorm, LEASE_EXPIRIES } from "../../suites/storm-suite.js"

describeRefreshStorm({
  name: "drizzle on SQLite (better-sqlite3)",
  fixtureModule: new URL("../../../src/fixtures/conformance-drizzle-sqlite.ts", import.meta.url),
  database: testSqliteFile,
})

// Lease mode (nothing held while the provider answers): the same guarantee, one grant per expiry.
describeRefreshStorm({
  name: "drizzle on SQLite (better-sqlite3), lease mode",
  fixtureModule: new URL("../../../src/fixtures/conformance-drizzle-sqlite.ts", import.meta.url),
  database: testSqliteFile,
  coordination: "lease",
  expiries: LEASE_EXPIRIES,
})
