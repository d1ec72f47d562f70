/** @auth/typeorm-adapter on MariaDB: the conformance kit (the refresh storm: storm.test.ts). */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { testMysqlDatabase } from "../../../src/harness/mariadb.js"
import { runConformanceSuite } from "../../../src/index.js"

runConformanceSuite(
  {
    name: "@auth/typeorm-adapter on MariaDB",
    fixtureModule: new URL("../../../src/fixtures/conformance-typeorm-mariadb.ts", import.meta.url),
    database: () => testMysqlDatabase("kit_typeorm_mysql"),
    expectedStoreName: "typeorm",
    expectsReauthListing: true,
    expectsLeases: true,
    expectsOneStatementSignIn: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)
