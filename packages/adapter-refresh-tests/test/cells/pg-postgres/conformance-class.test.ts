import { runConformanceSuite } from "../../../src/index.js"

// A class-based adapter: every wrapped method, and the ones the wrapper calls itself, must keep `this`.
runConformanceSuite({
  name: "a class-based adapter over node-postgres (methods use this)",
  fixtureModule: new URL("../../../src/fixtures/conformance-pg-class.ts", import.meta.url),
  expectedStoreName: "pg",
  expectsReauthListing: true,
  expectsLeases: true,
})
