/**
 * The refresh storm (storm-suite.ts) on Drizzle's PostgreSQL cells: node-postgres and postgres.js,
 * @auth/drizzle-adapter's default tables.
 */
import { describeRefreshStorm } from "./storm-suite.js"

describeRefreshStorm({ name: "drizzle (PostgreSQL, node-postgres)", flavour: "drizzle" })
describeRefreshStorm({ name: "drizzle (PostgreSQL, postgres.js)", flavour: "drizzle-postgres-js" })
