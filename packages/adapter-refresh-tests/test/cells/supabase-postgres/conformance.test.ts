/**
 * The kit on @auth/supabase-adapter's `next_auth` schema through the PostgreSQL store (the adapter itself needs
 * PostgREST, which cannot run here: see the fixture module).
 */
import { runConformanceSuite } from "../../../src/index.js"

runConformanceSuite({
  name: "@auth/supabase-adapter's next_auth schema (pgAccountStore, schema-qualified tables)",
  fixtureModule: new URL("../../../src/fixtures/conformance-supabase-schema.ts", import.meta.url),
  expectedStoreName: "pg",
  expectsOneStatementSignIn: true,
  expectsReauthListing: true,
  expectsLeases: true,
})
