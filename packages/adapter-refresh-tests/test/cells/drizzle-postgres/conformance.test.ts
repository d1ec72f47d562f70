import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { runConformanceSuite } from "../../../src/index.js"

// withTokenSync(DrizzleAdapter(db), db) on PostgreSQL, db = drizzle(pool) (drizzle-orm/node-postgres).
runConformanceSuite(
  {
    name: "@auth/drizzle-adapter (PostgreSQL, node-postgres)",
    fixtureModule: new URL("../../../src/fixtures/conformance-drizzle.ts", import.meta.url),
    expectedStoreName: "drizzle",
    expectsReauthListing: true,
    expectsLeases: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)
