/**
 * DynamoDB for the tests: dynalite (DynamoDB's API on LevelDB, from npm), one in-memory server per test
 * database on a free loopback port, started by the test process itself. The "database URL" handed to fixtures
 * and worker processes is `dynamodb://127.0.0.1:<port>/<table>`: workers connect to the server of the
 * process that started it.
 */
import { createRequire } from "node:module"
import type { AddressInfo } from "node:net"
import type { Server } from "node:http"
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb"
import { DynamoDBDocument } from "@aws-sdk/lib-dynamodb"

const require = createRequire(import.meta.url)
const dynalite = require("dynalite") as (options: Record<string, unknown>) => Server

/** A dynalite server with one table in the @auth/dynamodb-adapter layout. */
export interface TestDynamoTable {
  /** `dynamodb://127.0.0.1:<port>/<table>`. */
  url: string
  /** Closes the server (its in-memory data goes with it). Idempotent. */
  drop(): Promise<void>
}

/** Where a test table's URL points: the endpoint and the table name. */
export function parseDynamoUrl(url: string): { endpoint: string; tableName: string } {
  const parsed = new URL(url)
  if (parsed.protocol !== "dynamodb:") throw new TypeError(`not a dynamodb:// test URL`)
  return { endpoint: `http://${parsed.host}`, tableName: decodeURIComponent(parsed.pathname.slice(1)) }
}

/** A DynamoDBClient for a test URL (fixed test credentials; dynalite checks none). */
export function dynamoClient(url: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: parseDynamoUrl(url).endpoint,
    region: "local",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 3,
  })
}

/** The document client the adapter is built with (`removeUndefinedValues`, as the adapter's docs set it). */
export function dynamoDocument(url: string): DynamoDBDocument {
  return DynamoDBDocument.from(dynamoClient(url), {
    marshallOptions: { convertEmptyValues: true, removeUndefinedValues: true, convertClassInstanceToMap: true },
  })
}

/** Creates the adapter's table (pk/sk, GSI1 on GSI1PK/GSI1SK), as the adapter's docs declare it. */
export async function createAdapterTable(url: string): Promise<void> {
  const { tableName } = parseDynamoUrl(url)
  const client = dynamoClient(url)
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
          { AttributeName: "GSI1PK", AttributeType: "S" },
          { AttributeName: "GSI1SK", AttributeType: "S" },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: "GSI1",
            KeySchema: [
              { AttributeName: "GSI1PK", KeyType: "HASH" },
              { AttributeName: "GSI1SK", KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "ALL" },
          },
        ],
      }),
    )
  } finally {
    client.destroy()
  }
}

/** Starts an in-memory dynalite on a free loopback port; the table is created by the fixture's `prepareDatabase`. */
export async function testDynamoTable(prefix: string): Promise<TestDynamoTable> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const table = prefix.replace(/[^A-Za-z0-9_.-]+/g, "_").slice(0, 200) || "next-auth"
  let dropped: Promise<void> | undefined
  return {
    url: `dynamodb://127.0.0.1:${port}/${encodeURIComponent(table)}`,
    drop: () =>
      (dropped ??= new Promise<void>((resolve) => {
        server.closeAllConnections?.()
        server.close(() => resolve())
      })),
  }
}
