/** MikroORM 5 (@mikro-orm/mariadb) on MariaDB: the conformance kit (the refresh storm: storm.test.ts). */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { testMysqlDatabase } from "../../../src/harness/mariadb.js"
import { runConformanceSuite } from "../../../src/index.js"

// withTokenSync(MikroOrmAdapter(config), orm), orm = await MikroORM.init(config): the adapter's own entities.
runConformanceSuite(
  {
    name: "@auth/mikro-orm-adapter on MariaDB",
    fixtureModule: new URL("../../../src/fixtures/conformance-mikroorm-mariadb.ts", import.meta.url),
    database: () => testMysqlDatabase("kit_mikroorm_mariadb"),
    expectedStoreName: "mikro-orm",
    expectsReauthListing: true,
    expectsLeases: true,
    expectsOneStatementSignIn: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)
