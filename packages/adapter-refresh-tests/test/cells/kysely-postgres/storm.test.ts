/** The refresh storm (storm-suite.ts) for @auth/kysely-adapter on PostgreSQL (PostgresDialect on a pg Pool). */
import { describeRefreshStorm, LEASE_EXPIRIES } from "../../suites/storm-suite.js"

describeRefreshStorm({ name: "kysely", cell: "kysely" })

// Lease mode (nothing held while the provider answers): the same guarantee, one grant per expiry.
describeRefreshStorm({ name: "kysely, lease mode", cell: "kysely", coordination: "lease", expiries: LEASE_EXPIRIES })
