/** MikroORM 5 (@mikro-orm/better-sqlite) on SQLite: the conformance kit (the refresh storm: storm.test.ts). */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { testSqliteFile } from "../../../src/harness/sqlite.js"
import { runConformanceSuite } from "../../../src/index.js"

// withTokenSync(MikroOrmAdapter(config), orm), orm = await MikroORM.init(config): the adapter's own entities.
runConformanceSuite(
  {
    name: "@auth/mikro-orm-adapter on SQLite",
    fixtureModule: new URL("../../../src/fixtures/conformance-mikroorm-sqlite.ts", import.meta.url),
    database: () => testSqliteFile("kit_mikroorm_sqlite"),
    expectedStoreName: "mikro-orm",
    expectsReauthListing: true,
    expectsLeases: true,
    expectsOneStatementSignIn: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)
