/** The refresh storm (storm-suite.ts) for Drizzle on SQLite through drizzle-orm/libsql (@libsql/client, a file). */
import { testSqliteFile } from "../../../src/harness/sqlite.js"
import { describeRefreshStorm, LEASE_EXPIRIES } from "../../suites/storm-suite.js"

// As for Prisma on SQLite (../prisma-sqlite/storm.test.ts): the storm is serialized by the file's write lock.
describeRefreshStorm({
  name: "drizzle on SQLite (libsql)",
  fixtureModule: new URL("../../../src/fixtures/conformance-drizzle-libsql.ts", import.meta.url),
  database: testSqliteFile,
  accessTokenTtl: 10,
})

// Lease mode (each lease write in a write transaction of its own, drivers/drizzle-libsql.ts): nothing is held
// while the provider answers, so the storm fits in the default token lifetime.
describeRefreshStorm({
  name: "drizzle on SQLite (libsql), lease mode",
  fixtureModule: new URL("../../../src/fixtures/conformance-drizzle-libsql.ts", import.meta.url),
  database: testSqliteFile,
  coordination: "lease",
  expiries: LEASE_EXPIRIES,
})
