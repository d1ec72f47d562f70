/** End to end, Prisma cell: `withTokenSync(PrismaAdapter(prisma), prisma)` through the real Auth.js handler. */
import { PrismaAdapter } from "@auth/prisma-adapter"
import { createPrismaFixture } from "../../../src/fixtures/databases.js"
import { defineE2eSuite } from "../../suites/e2e-suite.js"

defineE2eSuite({
  cell: "prisma",
  createFixture: (url) => createPrismaFixture(url),
  officialAdapter: (db) => PrismaAdapter(db),
})
