/** The store suite on Drizzle's PostgreSQL drivers (node-postgres, postgres.js), @auth/drizzle-adapter's default tables. */
import { describeStore } from "./store-suite.js"

for (const flavour of ["drizzle", "drizzle-postgres-js"] as const) {
  describeStore({
    flavour,
    storeName: "drizzle",
    // expires_at is an integer column in the adapter's tables: both drivers return a number.
    expiresAtAs: "number",
    allowsDuplicates: false,
    expiresAtHoldsMilliseconds: false,
  })
}
