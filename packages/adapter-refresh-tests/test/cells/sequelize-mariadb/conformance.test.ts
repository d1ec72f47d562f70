/**
 * withTokenSync(SequelizeAdapter(sequelize), sequelize) on MariaDB (Sequelize's mariadb dialect, the mariadb
 * package): the conformance kit. The adapter's models have no unique key on (provider, providerAccountId).
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { testMysqlDatabase } from "../../../src/harness/mariadb.js"
import { runConformanceSuite } from "../../../src/index.js"

runConformanceSuite(
  {
    name: "@auth/sequelize-adapter on MariaDB",
    fixtureModule: new URL("../../../src/fixtures/conformance-sequelize-mariadb.ts", import.meta.url),
    database: () => testMysqlDatabase("kit_sequelize_mariadb"),
    expectedStoreName: "sequelize",
    expectsReauthListing: true,
    expectsLeases: true,
    expectsOneStatementSignIn: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)
