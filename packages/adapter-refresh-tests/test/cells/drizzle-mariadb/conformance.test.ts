/** Drizzle on MariaDB, @auth/drizzle-adapter's default tables: the conformance kit (its storm: storm.test.ts). */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { testMysqlDatabase } from "../../../src/harness/mariadb.js"
import { runConformanceSuite } from "../../../src/index.js"

const fixtureModule = new URL("../../../src/fixtures/conformance-drizzle-mysql.ts", import.meta.url)

runConformanceSuite(
  {
    name: "@auth/drizzle-adapter on MariaDB",
    fixtureModule,
    database: () => testMysqlDatabase("kit_drizzle_mariadb"),
    expectedStoreName: "drizzle",
    expectsReauthListing: true,
    expectsLeases: true,
    expectsOneStatementSignIn: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)
