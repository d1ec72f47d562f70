/** The refresh storm (storm-suite.ts) for @auth/prisma-adapter on PostgreSQL (@prisma/adapter-pg). */
import { describeRefreshStorm } from "../../suites/storm-suite.js"

describeRefreshStorm({ name: "prisma", cell: "prisma" })
