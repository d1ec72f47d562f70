/** Kysely (MysqlDialect, mysql2) on MariaDB: the conformance kit (the refresh storm: storm.test.ts). */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { testMysqlDatabase } from "../../../src/harness/mariadb.js"
import { runConformanceSuite } from "../../../src/index.js"

const fixtureModule = new URL("../../../src/fixtures/conformance-kysely-mysql.ts", import.meta.url)

runConformanceSuite(
  {
    name: "@auth/kysely-adapter on MariaDB",
    fixtureModule,
    database: () => testMysqlDatabase("kit_kysely_mysql"),
    expectedStoreName: "kysely",
    expectsReauthListing: true,
    expectsLeases: true,
    expectsOneStatementSignIn: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)
