/**
 * The token lifecycle's store parts on DynamoDB (`dynamoDbAccountStore`, @auth/dynamodb-adapter's single table,
 * on dynalite): refresh-token expiry, the re-authentication listing, `refreshExpiring` and `reencryptAccounts`,
 * against the real rotating oidc-provider (suites/lifecycle-suite.ts).
 */
import { dynamoDbAccountStore } from "authjs-adapter-refresh/stores/dynamodb"
import { createAdapterTable, testDynamoTable } from "../../../src/harness/dynalite.js"
import { dynamoFixture } from "../../../src/fixtures/conformance-dynamodb.js"
import { defineLifecycleSuite } from "../../suites/lifecycle-suite.js"

/**
 * dynalite serves one request at a time: beside CI's other suites, a sign-in's locked read-and-insert once ran
 * past the default 5 s lock lease, and the store rightly refused its write (`AccountLockLostError`). These
 * tests are about the lifecycle, not the lease's length (fencing.test.ts is): a lease with room to spare.
 */
const LOCK_LEASE_MS = 30_000

defineLifecycleSuite({
  label: "DynamoDB (@auth/dynamodb-adapter, dynalite)",
  database: async () => {
    const table = await testDynamoTable("life_dynamodb")
    await createAdapterTable(table.url)
    return table
  },
  createFixture: (url) =>
    dynamoFixture(url, (client, options) => dynamoDbAccountStore(client, { ...options, lockLeaseMs: LOCK_LEASE_MS })),
})
