/** @auth/typeorm-adapter on SQLite files (better-sqlite3): the conformance kit (the refresh storm: storm.test.ts). */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { testSqliteFile } from "../../../src/harness/sqlite.js"
import { runConformanceSuite } from "../../../src/index.js"

runConformanceSuite(
  {
    name: "@auth/typeorm-adapter on SQLite",
    fixtureModule: new URL("../../../src/fixtures/conformance-typeorm-sqlite.ts", import.meta.url),
    database: () => testSqliteFile("kit_typeorm_sqlite"),
    expectedStoreName: "typeorm",
    expectsReauthListing: true,
    expectsLeases: true,
    expectsOneStatementSignIn: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)
