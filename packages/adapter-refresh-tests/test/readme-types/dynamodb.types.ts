// The README's "DynamoDB" lines, type-checked: the adapter's DynamoDBDocument is the store's client, no casts.
import type { AuthConfig } from "@auth/core"
import { DynamoDBAdapter } from "@auth/dynamodb-adapter"
import type { DynamoDBDocument } from "@aws-sdk/lib-dynamodb"
import { withTokenSync } from "authjs-adapter-refresh"
import { dynamoDbAccountStore } from "authjs-adapter-refresh/stores/dynamodb"

declare const client: DynamoDBDocument

const options = { tableName: "next-auth" } // the adapter's options: table, key and index names
const adapter = withTokenSync(DynamoDBAdapter(client, options), dynamoDbAccountStore(client, options), {
  refresh: { providers: [/* ... */], coordination: "lease" }, // required: lock mode is refused
})
export const dynamoConfig: AuthConfig = { adapter, events: adapter.events, providers: [] }
