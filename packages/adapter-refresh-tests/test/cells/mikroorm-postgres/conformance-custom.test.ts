/**
 * MikroORM 5 on PostgreSQL with custom User and Account entities given to the adapter (other table, column and
 * key names, read by the store from the ORM's metadata): the conformance kit.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { runConformanceSuite } from "../../../src/index.js"

runConformanceSuite(
  {
    name: "@auth/mikro-orm-adapter (PostgreSQL, custom entities)",
    fixtureModule: new URL("../../../src/fixtures/conformance-mikroorm-custom.ts", import.meta.url),
    expectedStoreName: "mikro-orm",
    expectsReauthListing: true,
    expectsLeases: true,
    expectsOneStatementSignIn: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)
