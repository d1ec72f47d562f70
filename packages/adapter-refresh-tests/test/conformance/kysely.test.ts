import { runConformanceSuite } from "../../src/index.js"

runConformanceSuite({
  name: "@auth/kysely-adapter",
  fixtureModule: new URL("../../src/fixtures/conformance-kysely.ts", import.meta.url),
  expectedStoreName: "kysely",
})
