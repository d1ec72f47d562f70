/**
 * End to end, Drizzle on PostgreSQL: `withTokenSync(DrizzleAdapter(db), db)`, db = drizzle(pool), through the real
 * Auth.js handler.
 */
import { DrizzleAdapter } from "@auth/drizzle-adapter"
import { createDrizzlePgFixture } from "../../../src/fixtures/drizzle.js"
import { defineE2eSuite } from "../../suites/e2e-suite.js"

defineE2eSuite({
  cell: "drizzle",
  createFixture: (url) => createDrizzlePgFixture("node-postgres", url),
  officialAdapter: (db) => DrizzleAdapter(db),
  tables: { users: `"user"`, sessions: `"session"` },
})
