/** The refresh storm (storm-suite.ts) for Drizzle on SQLite through drizzle-orm/libsql (@libsql/client, a file). */
import { testSqliteFile } from "../../../src/harness/sqlite.js"
import { describeRefreshStorm } from "../../suites/storm-suite.js"

// As for Prisma on SQLite (../prisma-sqlite/storm.test.ts): the storm is serialized by the file's write lock.
describeRefreshStorm({
  name: "drizzle on SQLite (libsql)",
  fixtureModule: new URL("../../../src/fixtures/conformance-drizzle-libsql.ts", import.meta.url),
  database: testSqliteFile,
  accessTokenTtl: 10,
})
