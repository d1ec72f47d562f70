/**
 * The DynamoDB store's reads outside the lock, on dynalite: `scanAccounts` (for `reencryptAccounts`) pages by
 * key in (provider, providerAccountId) order with every row of a key, each key once; `findAccounts` reads one
 * user's accounts at a provider. Rows are written by the bare adapter, so the store reads its layout.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { DynamoDBAdapter } from "@auth/dynamodb-adapter"
import type { AccountKey, StoredAccountRow } from "authjs-adapter-refresh"
import { dynamoDbAccountStore } from "authjs-adapter-refresh/stores/dynamodb"
import {
  createAdapterTable,
  dynamoDocument,
  testDynamoTable,
  type TestDynamoTable,
} from "../../../src/harness/dynalite.js"

const TABLE = "store"

describe("DynamoDB store: scanAccounts and findAccounts (dynalite)", () => {
  let table: TestDynamoTable
  let client: ReturnType<typeof dynamoDocument>
  beforeAll(async () => {
    table = await testDynamoTable(TABLE)
    await createAdapterTable(table.url)
    client = dynamoDocument(table.url)
    const adapter = DynamoDBAdapter(client, { tableName: TABLE })
    const link = (userId: string, provider: string, providerAccountId: string) =>
      adapter.linkAccount!({ userId, type: "oidc", provider, providerAccountId, access_token: `at.${userId}` })
    // b/2 has two owners (the adapter's layout allows it: one item per owner).
    await link("u1", "b", "2")
    await link("u2", "b", "2")
    await link("u1", "a", "9")
    await link("u1", "b", "1")
    await link("u3", "c", "1")
  }, 30_000)
  afterAll(async () => {
    client?.destroy()
    await table?.drop()
  })

  const keyOf = (row: StoredAccountRow) => `${row.provider}/${row.providerAccountId}/${row.userId}`

  test("scanAccounts: keyset pages in key order, a key's rows together, each key once", async () => {
    const store = dynamoDbAccountStore(client, { tableName: TABLE })
    const pages: string[][] = []
    let after: AccountKey | undefined
    for (let i = 0; i < 10; i++) {
      const page = await store.scanAccounts!({ limit: 2, ...(after ? { after } : {}) })
      if (page.length === 0) break
      pages.push(page.map(keyOf))
      const last = page[page.length - 1]!
      after = { provider: last.provider, providerAccountId: last.providerAccountId }
    }
    expect(pages).toEqual([
      ["a/9/u1", "b/1/u1"],
      ["b/2/u1", "b/2/u2", "c/1/u3"],
    ])
  })

  test("findAccounts: one user's accounts at one provider, tokens as stored", async () => {
    const store = dynamoDbAccountStore(client, { tableName: TABLE })
    const rows = await store.findAccounts("u1", "b")
    expect(rows.map(keyOf)).toEqual(["b/1/u1", "b/2/u1"])
    expect(rows[0]!.tokens).toEqual({ access_token: "at.u1" })
    expect(await store.findAccounts("u3", "b")).toEqual([])
  })
})
