/** The refresh storm on @auth/supabase-adapter's `next_auth` schema (uuid ids), in lock and lease mode. */
import { testDatabase } from "../../../src/harness/postgres.js"
import { describeRefreshStorm, LEASE_EXPIRIES } from "../../suites/storm-suite.js"

const fixtureModule = new URL("../../../src/fixtures/conformance-supabase-schema.ts", import.meta.url)

describeRefreshStorm({ name: "supabase next_auth schema", fixtureModule, database: testDatabase })
describeRefreshStorm({
  name: "supabase next_auth schema, lease mode",
  fixtureModule,
  database: testDatabase,
  coordination: "lease",
  expiries: LEASE_EXPIRIES,
})
