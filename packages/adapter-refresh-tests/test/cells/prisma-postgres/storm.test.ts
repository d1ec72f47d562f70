/** The refresh storm (storm-suite.ts) for @auth/prisma-adapter on PostgreSQL (@prisma/adapter-pg). */
import { describeRefreshStorm, LEASE_EXPIRIES } from "../../suites/storm-suite.js"

describeRefreshStorm({ name: "prisma", cell: "prisma" })

// Lease mode (nothing held while the provider answers): the same guarantee, one grant per expiry.
describeRefreshStorm({ name: "prisma, lease mode", cell: "prisma", coordination: "lease", expiries: LEASE_EXPIRIES })
