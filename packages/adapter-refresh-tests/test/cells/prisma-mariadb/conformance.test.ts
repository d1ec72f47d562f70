import { runConformanceSuite } from "../../../src/index.js"
import { testMysqlDatabase } from "../../../src/harness/mariadb.js"

runConformanceSuite({
  name: "@auth/prisma-adapter on MariaDB (Prisma 7 + @prisma/adapter-mariadb)",
  fixtureModule: new URL("../../../src/fixtures/conformance-prisma-mysql.ts", import.meta.url),
  database: () => testMysqlDatabase("kit_prisma_mariadb"),
  expectedStoreName: "prisma",
  expectsReauthListing: true,
  expectsLeases: true,
  expectsOneStatementSignIn: true,
})
