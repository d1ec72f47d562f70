import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { runConformanceSuite } from "../../../src/index.js"

// Jest's functions passed explicitly (../pg-postgres/conformance.test.ts relies on the globals Jest injects;
// test/vitest/ passes Vitest's).
runConformanceSuite(
  {
    name: "@auth/kysely-adapter",
    fixtureModule: new URL("../../../src/fixtures/conformance-kysely.ts", import.meta.url),
    expectedStoreName: "kysely",
    expectsReauthListing: true,
    expectsLeases: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)
