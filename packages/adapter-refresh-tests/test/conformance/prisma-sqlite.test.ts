import { runConformanceSuite } from "../../src/index.js"
import { testSqliteDatabase } from "../../src/fixtures/prisma-databases.js"

runConformanceSuite({
  name: "@auth/prisma-adapter on SQLite (Prisma 7 + @prisma/adapter-better-sqlite3, a database file)",
  fixtureModule: new URL("../../src/fixtures/conformance-prisma-sqlite.ts", import.meta.url),
  database: () => testSqliteDatabase("kit prisma sqlite"),
  expectedStoreName: "prisma",
})
