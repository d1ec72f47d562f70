/**
 * End to end, @auth/sequelize-adapter on PostgreSQL: `withTokenSync(SequelizeAdapter(sequelize), sequelize)`
 * through the real Auth.js handler (the suite: defineFixtureE2eSuite in e2e-suite.ts).
 */
import * as fixtures from "../../../src/fixtures/conformance-sequelize-postgres.js"
import { defineFixtureE2eSuite } from "../../suites/e2e-suite.js"

defineFixtureE2eSuite({ name: "@auth/sequelize-adapter on PostgreSQL", fixtures })
