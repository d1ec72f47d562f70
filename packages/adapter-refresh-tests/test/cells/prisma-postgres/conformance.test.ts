import { runConformanceSuite } from "../../../src/index.js"

runConformanceSuite({
  name: "@auth/prisma-adapter (Prisma 7 + @prisma/adapter-pg)",
  fixtureModule: new URL("../../../src/fixtures/conformance-prisma.ts", import.meta.url),
  expectedStoreName: "prisma",
  expectsReauthListing: true,
  expectsLeases: true,
})
