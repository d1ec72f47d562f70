/** withTokenSync(SequelizeAdapter(sequelize), sequelize) on PostgreSQL (pg): the conformance kit. */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { testDatabase } from "../../../src/harness/postgres.js"
import { runConformanceSuite } from "../../../src/index.js"

runConformanceSuite(
  {
    name: "@auth/sequelize-adapter on PostgreSQL",
    fixtureModule: new URL("../../../src/fixtures/conformance-sequelize-postgres.ts", import.meta.url),
    database: () => testDatabase("kit_sequelize_pg"),
    expectedStoreName: "sequelize",
    expectsReauthListing: true,
    expectsLeases: true,
    expectsOneStatementSignIn: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)
