/**
 * Lease-mode refresh storm on @auth/dynamodb-adapter's table (dynalite, started by the test; the worker
 * processes reach it through the table's URL): 4 processes x 25 callers, the real rotating oidc-provider,
 * exactly one refresh grant per expiry. Control: the same store whose refresh-lease take always answers
 * "taken" breaks the grant.
 */
import { testDynamoTable } from "../../../src/harness/dynalite.js"
import { describeAlwaysTakenControl, describeRefreshStorm, LEASE_EXPIRIES } from "../../suites/storm-suite.js"

const fixtureModule = new URL("../../../src/fixtures/conformance-dynamodb.ts", import.meta.url)
const alwaysTaken = new URL("../../../src/fixtures/conformance-dynamodb-always-taken.ts", import.meta.url)

describeRefreshStorm({
  name: "@auth/dynamodb-adapter on dynalite, lease mode",
  fixtureModule,
  database: testDynamoTable,
  coordination: "lease",
  expiries: LEASE_EXPIRIES,
  // dynalite answers one request at a time in the test's process: on a loaded machine a storm can outlast a
  // 3 s token (then a second grant is right); 10 s keeps each storm within one lifetime.
  accessTokenTtl: 10,
})

describeAlwaysTakenControl({ name: "the DynamoDB store", fixtureModule, alwaysTaken, database: testDynamoTable })
