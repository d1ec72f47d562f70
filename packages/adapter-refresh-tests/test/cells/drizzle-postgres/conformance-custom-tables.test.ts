import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { runConformanceSuite } from "../../../src/index.js"

// The app's own tables: DrizzleAdapter(db, { usersTable, accountsTable, ... }) and
// drizzleAccountStore(db, { usersTable, accountsTable }) (src/fixtures/conformance-drizzle-custom.ts).
runConformanceSuite(
  {
    name: "@auth/drizzle-adapter (PostgreSQL, custom tables)",
    fixtureModule: new URL("../../../src/fixtures/conformance-drizzle-custom.ts", import.meta.url),
    expectedStoreName: "drizzle",
    expectsReauthListing: true,
    expectsLeases: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)
