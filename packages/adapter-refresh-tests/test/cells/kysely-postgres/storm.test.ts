/** The refresh storm (storm-suite.ts) for @auth/kysely-adapter on PostgreSQL (PostgresDialect on a pg Pool). */
import { describeRefreshStorm } from "../../suites/storm-suite.js"

describeRefreshStorm({ name: "kysely", cell: "kysely" })
