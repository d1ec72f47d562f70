// The conformance kit under Vitest, given Vitest's own functions (no globals), on @auth/pg-adapter.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runConformanceSuite } from "../../src/index.js"

runConformanceSuite(
  {
    name: "@auth/pg-adapter under Vitest",
    fixtureModule: new URL("../../src/fixtures/conformance-pg.ts", import.meta.url),
    expectedStoreName: "pg",
  },
  { afterAll, beforeAll, describe, expect, it },
)
