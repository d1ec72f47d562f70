/**
 * withTokenSync(SequelizeAdapter(sequelize), sequelize) on SQLite files (Sequelize's sqlite dialect, the native
 * sqlite3 package, WAL): the conformance kit.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { testSqliteFile } from "../../../src/harness/sqlite.js"
import { runConformanceSuite } from "../../../src/index.js"

runConformanceSuite(
  {
    name: "@auth/sequelize-adapter on SQLite",
    fixtureModule: new URL("../../../src/fixtures/conformance-sequelize-sqlite.ts", import.meta.url),
    database: () => testSqliteFile("kit_sequelize_sqlite"),
    expectedStoreName: "sequelize",
    expectsReauthListing: true,
    expectsLeases: true,
    expectsOneStatementSignIn: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)
