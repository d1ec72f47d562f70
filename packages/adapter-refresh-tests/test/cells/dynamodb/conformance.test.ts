/**
 * @auth/dynamodb-adapter through the AWS SDK v3 on dynalite (started by the test, in memory, on a loopback
 * port), with the library's DynamoDB store (lease mode, single conditional writes): the conformance kit.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { testDynamoTable } from "../../../src/harness/dynalite.js"
import { runConformanceSuite } from "../../../src/index.js"

runConformanceSuite(
  {
    name: "@auth/dynamodb-adapter on dynalite",
    fixtureModule: new URL("../../../src/fixtures/conformance-dynamodb.ts", import.meta.url),
    database: () => testDynamoTable("kit_dynamodb"),
    expectedStoreName: "dynamodb",
    expectsLeases: true,
    expectsOneStatementSignIn: false,
    expectsReauthListing: true,
    expectsAccountScan: true,
    // No server clock in DynamoDB's conditions: the lease's end is the callers' (bounded skew, see the README).
    leaseClock: "callers",
    // One item per owner and account, replaced whole by the bare adapter's linkAccount too.
    bareLinksLeaveOneRow: true,
  },
  { afterAll, beforeAll, describe, expect, it },
)
