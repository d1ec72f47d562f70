import { runConformanceSuite } from "../../../src/index.js"

runConformanceSuite({
  name: "@auth/pg-adapter (node-postgres Pool)",
  fixtureModule: new URL("../../../src/fixtures/conformance-pg.ts", import.meta.url),
  expectedStoreName: "pg",
  expectsReauthListing: true,
  expectsLeases: true,
})
