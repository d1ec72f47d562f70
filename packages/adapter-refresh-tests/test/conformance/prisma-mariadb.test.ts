import { runConformanceSuite } from "../../src/index.js"
import { testMysqlDatabase } from "../../src/fixtures/prisma-databases.js"

runConformanceSuite({
  name: "@auth/prisma-adapter on MariaDB (Prisma 7 + @prisma/adapter-mariadb)",
  fixtureModule: new URL("../../src/fixtures/conformance-prisma-mysql.ts", import.meta.url),
  database: () => testMysqlDatabase("prisma_more_dbs_kit"),
  expectedStoreName: "prisma",
})
