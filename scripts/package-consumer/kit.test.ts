// The conformance kit from its tarball, under Vitest, given Vitest's functions, on @auth/pg-adapter.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runConformanceSuite } from "authjs-adapter-refresh-tests"

runConformanceSuite(
  {
    name: "@auth/pg-adapter from the tarball",
    fixtureModule: new URL("./pg-fixture.js", import.meta.url),
    expectedStoreName: "pg",
  },
  { afterAll, beforeAll, describe, expect, it },
)
