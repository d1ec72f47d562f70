/** MikroORM 5 (@mikro-orm/postgresql) on PostgreSQL: the conformance kit (the refresh storm: storm.test.ts). */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { runConformanceSuite } from "../../../src/index.js"

// withTokenSync(MikroOrmAdapter(config), orm), orm = await MikroORM.init(config): the adapter's own entities.
runConformanceSuite(
  {
    name: "@auth/mikro-orm-adapter (PostgreSQL)",
    fixtureModule: new URL("../../../src/fixtures/conformance-mikroorm-postgres.ts", import.meta.url),
    expectedStoreName: "mikro-orm",
    expectsReauthListing: true,
    expectsLeases: true,
    expectsOneStatementSignIn: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)
