/** @auth/typeorm-adapter on PostgreSQL: the conformance kit (the refresh storm: storm.test.ts). */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { runConformanceSuite } from "../../../src/index.js"

runConformanceSuite(
  {
    name: "@auth/typeorm-adapter on PostgreSQL",
    fixtureModule: new URL("../../../src/fixtures/conformance-typeorm-postgres.ts", import.meta.url),
    expectedStoreName: "typeorm",
    expectsReauthListing: true,
    expectsLeases: true,
    expectsOneStatementSignIn: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)
