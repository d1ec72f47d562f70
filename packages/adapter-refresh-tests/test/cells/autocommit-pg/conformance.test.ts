/**
 * The conformance kit on the reference store WITHOUT transactions (PostgreSQL through single autocommit
 * statements, `leaseLockedAccountStore`): the adapter contract, the token-sync rules, the links-and-syncs storm
 * from OS processes (one row holding one input entire) and the "leases" section from four processes.
 */
import { runConformanceSuite } from "../../../src/index.js"

runConformanceSuite({
  name: "@auth/pg-adapter over the autocommit reference store (no transactions)",
  fixtureModule: new URL("../../../src/fixtures/conformance-autocommit-pg.ts", import.meta.url),
  expectedStoreName: "autocommit-pg",
  expectsLeases: true,
  expectsOneStatementSignIn: false,
})
