/**
 * withTokenSync(SequelizeAdapter(sequelize, { models }), sequelize) with custom models on PostgreSQL: the kit.
 * The store finds the account model by its attributes and reads every name from the models.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { testDatabase } from "../../../src/harness/postgres.js"
import { runConformanceSuite } from "../../../src/index.js"

runConformanceSuite(
  {
    name: "@auth/sequelize-adapter, custom models, on PostgreSQL",
    fixtureModule: new URL("../../../src/fixtures/conformance-sequelize-custom.ts", import.meta.url),
    database: () => testDatabase("kit_sequelize_custom"),
    expectedStoreName: "sequelize",
    expectsReauthListing: true,
    expectsLeases: true,
    expectsOneStatementSignIn: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)
