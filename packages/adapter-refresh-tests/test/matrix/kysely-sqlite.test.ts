/**
 * Matrix cell: Kysely (SqliteDialect, better-sqlite3, WAL) on SQLite files: the conformance kit and the refresh storm.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { testSqliteFile } from "../../src/harness/sqlite.js"
import { runConformanceSuite } from "../../src/index.js"
import { describeRefreshStorm } from "../refresh/storm-suite.js"

const fixtureModule = new URL("../../src/fixtures/conformance-kysely-sqlite.ts", import.meta.url)

runConformanceSuite(
  {
    name: "@auth/kysely-adapter on SQLite",
    fixtureModule,
    database: () => testSqliteFile("kit_kysely_sqlite"),
    expectedStoreName: "kysely",
    expectsOneStatementSignIn: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)

describeRefreshStorm({ name: "kysely on SQLite", fixtureModule, database: testSqliteFile })
