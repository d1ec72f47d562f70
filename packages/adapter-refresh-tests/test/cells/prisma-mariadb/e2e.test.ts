/**
 * End to end on MariaDB: `withTokenSync(PrismaAdapter(prisma), prisma)` with a Prisma 7 client on
 * @prisma/adapter-mariadb, through the real Auth.js handler (scenarios 1-5 of e2e-suite.ts).
 */
import { PrismaAdapter } from "@auth/prisma-adapter"
import {
  applyPrismaSchema,
  createPrismaOtherFixture,
  testOtherDatabase,
  type PrismaOtherFixture,
} from "../../../src/fixtures/prisma-databases.js"
import type { DatabaseFixture } from "../../../src/fixtures/databases.js"
import { defineE2eSuite } from "../../suites/e2e-suite.js"

const direct = (fixture: DatabaseFixture<unknown>) => (fixture as unknown as PrismaOtherFixture).direct

defineE2eSuite({
  cell: "prisma",
  createFixture: async (url) => (await createPrismaOtherFixture("mysql", url)) as unknown as DatabaseFixture<never>,
  officialAdapter: (db) => PrismaAdapter(db),
  database: {
    label: "MariaDB",
    create: (prefix) => testOtherDatabase("mysql", prefix),
    applySchema: (url) => applyPrismaSchema("mysql", url),
    usersWithEmail: async (fixture, email) =>
      (await direct(fixture).query("SELECT `id` FROM `User` WHERE `email` = ?", [email])) as Array<{ id: unknown }>,
    sessionCount: async (fixture, userId) =>
      Number(
        (await direct(fixture).query("SELECT COUNT(*) AS n FROM `Session` WHERE `userId` = ?", [userId]))[0]?.n ?? 0,
      ),
  },
})
