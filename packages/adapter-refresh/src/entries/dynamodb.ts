/**
 * `authjs-adapter-refresh/stores/dynamodb`: the account store for `@auth/dynamodb-adapter` (its single-table
 * design) through the AWS SDK v3 document client. DynamoDB has no transactions a lock could be held in, so
 * the store runs lease mode only: pass `refresh: { coordination: "lease" }`.
 *
 * @example
 * ```ts
 * import { DynamoDBAdapter } from "@auth/dynamodb-adapter"
 * import { withTokenSync } from "authjs-adapter-refresh"
 * import { dynamoDbAccountStore } from "authjs-adapter-refresh/stores/dynamodb"
 *
 * const adapter = withTokenSync(DynamoDBAdapter(client, { tableName }), dynamoDbAccountStore(client, { tableName }), {
 *   refresh: { coordination: "lease" },
 * })
 * ```
 * @module stores/dynamodb
 */
export { DYNAMODB_FENCE_ATTRIBUTE, dynamoDbAccountStore, dynamoDbStoreParts } from "../stores/dynamodb.js"
export type { DynamoDbAccountStoreOptions, DynamoDbDocumentLike, DynamoDbItem } from "../stores/dynamodb.js"
