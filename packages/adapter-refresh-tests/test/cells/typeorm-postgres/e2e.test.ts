/**
 * End to end, @auth/typeorm-adapter on PostgreSQL: `withTokenSync(TypeORMAdapter(options), dataSource)`
 * through the real Auth.js handler (the suite: defineFixtureE2eSuite in e2e-suite.ts).
 */
import * as fixtures from "../../../src/fixtures/conformance-typeorm-postgres.js"
import { defineFixtureE2eSuite } from "../../suites/e2e-suite.js"

defineFixtureE2eSuite({ name: "@auth/typeorm-adapter on PostgreSQL", fixtures })
