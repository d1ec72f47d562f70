/**
 * End to end, @auth/mikro-orm-adapter on PostgreSQL: `withTokenSync(MikroOrmAdapter(config), orm)`
 * through the real Auth.js handler (the suite: defineFixtureE2eSuite in e2e-suite.ts).
 */
import * as fixtures from "../../../src/fixtures/conformance-mikroorm-postgres.js"
import { defineFixtureE2eSuite } from "../../suites/e2e-suite.js"

defineFixtureE2eSuite({ name: "@auth/mikro-orm-adapter on PostgreSQL", fixtures })
