/** Kysely (SqliteDialect, better-sqlite3, WAL) on SQLite files: the conformance kit (its storm: storm.test.ts). */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { testSqliteFile } from "../../../src/harness/sqlite.js"
import { runConformanceSuite } from "../../../src/index.js"

const fixtureModule = new URL("../../../src/fixtures/conformance-kysely-sqlite.ts", import.meta.url)

runConformanceSuite(
  {
    name: "@auth/kysely-adapter on SQLite",
    fixtureModule,
    database: () => testSqliteFile("kit_kysely_sqlite"),
    expectedStoreName: "kysely",
    expectsReauthListing: true,
    expectsLeases: true,
    expectsOneStatementSignIn: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)
