/**
 * The refresh storm (storm-suite.ts) on Drizzle's PostgreSQL cells: node-postgres and postgres.js,
 * @auth/drizzle-adapter's default tables.
 */
import { describeRefreshStorm } from "../../suites/storm-suite.js"

describeRefreshStorm({ name: "drizzle (PostgreSQL, node-postgres)", cell: "drizzle" })
describeRefreshStorm({ name: "drizzle (PostgreSQL, postgres.js)", cell: "drizzle-postgres-js" })
