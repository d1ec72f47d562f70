/** The refresh storm (storm-suite.ts) for Kysely (SqliteDialect, better-sqlite3, WAL) on SQLite files. */
import { testSqliteFile } from "../../../src/harness/sqlite.js"
import { describeRefreshStorm, LEASE_EXPIRIES } from "../../suites/storm-suite.js"

describeRefreshStorm({
  name: "kysely on SQLite",
  fixtureModule: new URL("../../../src/fixtures/conformance-kysely-sqlite.ts", import.meta.url),
  database: testSqliteFile,
})

// Lease mode (nothing held while the provider answers): the same guarantee, one grant per expiry.
describeRefreshStorm({
  name: "kysely on SQLite, lease mode",
  fixtureModule: new URL("../../../src/fixtures/conformance-kysely-sqlite.ts", import.meta.url),
  database: testSqliteFile,
  coordination: "lease",
  expiries: LEASE_EXPIRIES,
})
