/**
 * The token lifecycle's store parts on DynamoDB (`dynamoDbAccountStore`, @auth/dynamodb-adapter's single table,
 * on dynalite): refresh-token expiry, the re-authentication listing, `refreshExpiring` and `reencryptAccounts`,
 * against the real rotating oidc-provider (suites/lifecycle-suite.ts).
 */
import { createAdapterTable, testDynamoTable } from "../../../src/harness/dynalite.js"
import { dynamoFixture } from "../../../src/fixtures/conformance-dynamodb.js"
import { defineLifecycleSuite } from "../../suites/lifecycle-suite.js"

defineLifecycleSuite({
  label: "DynamoDB (@auth/dynamodb-adapter, dynalite)",
  database: async () => {
    const table = await testDynamoTable("life_dynamodb")
    await createAdapterTable(table.url)
    return table
  },
  createFixture: (url) => dynamoFixture(url),
})
