import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { runConformanceSuite } from "../../../src/index.js"

// withTokenSync(DrizzleAdapter(db), db) on PostgreSQL, db = drizzle(postgres(url)) (drizzle-orm/postgres-js).
runConformanceSuite(
  {
    name: "@auth/drizzle-adapter (PostgreSQL, postgres.js)",
    fixtureModule: new URL("../../../src/fixtures/conformance-drizzle-postgres-js.ts", import.meta.url),
    expectedStoreName: "drizzle",
    expectsReauthListing: true,
    expectsLeases: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)
