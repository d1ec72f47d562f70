/**
 * The fence of the DynamoDB store on dynalite (two document clients, as two processes would have): a holder
 * that stalls past its lock lease finds its write refused (`AccountLockLostError`, nothing written) and the
 * newer sign-in stays; so does a holder whose lease another process took early because that process's clock
 * runs ahead (the write is refused by the condition on the account item, not by the stalled holder's own
 * clock). Control: the same store with its update replaced by a write without the lease's condition lets
 * the stalled holder's stale write overwrite the newer sign-in.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { DynamoDBAdapter } from "@auth/dynamodb-adapter"
import {
  AccountLockLostError,
  leaseLockedAccountStore,
  UnsupportedDatabaseError,
  withTokenSync,
  type AccountKey,
  type AccountStore,
} from "authjs-adapter-refresh"
import {
  dynamoDbAccountStore,
  dynamoDbStoreParts,
  type DynamoDbAccountStoreOptions,
} from "authjs-adapter-refresh/stores/dynamodb"
import {
  createAdapterTable,
  dynamoDocument,
  testDynamoTable,
  type TestDynamoTable,
} from "../../../src/harness/dynalite.js"
import { expectBusyWithinBound, stalledHolder } from "../../suites/fencing-suite.js"

const LEASE_MS = 300
/** The next holder's lease: long, so that on a loaded machine its own write never outlasts it. */
const NEXT = { lockLeaseMs: 10_000 }
const TABLE = "fencing"

describe("DynamoDB store: fenced writes (dynalite, two clients)", () => {
  let table: TestDynamoTable
  let clients: ReturnType<typeof dynamoDocument>[]
  const userId = "user-fence"

  beforeAll(async () => {
    table = await testDynamoTable(TABLE)
    await createAdapterTable(table.url)
    clients = [dynamoDocument(table.url), dynamoDocument(table.url), dynamoDocument(table.url)]
    await clients[2]!.put({ TableName: TABLE, Item: { pk: `USER#${userId}`, sk: `USER#${userId}`, id: userId } })
  }, 30_000)
  afterAll(async () => {
    for (const client of clients ?? []) client.destroy()
    await table?.drop()
  })

  const options = (extra: DynamoDbAccountStoreOptions = {}): DynamoDbAccountStoreOptions => ({
    tableName: TABLE,
    lockLeaseMs: LEASE_MS,
    lockTimeoutMs: 3_000,
    ...extra,
  })
  /** The store whose account update writes without the lease's condition (the control). */
  const unfenced = (client: ReturnType<typeof dynamoDocument>): AccountStore => {
    const parts = dynamoDbStoreParts(client, options())
    return leaseLockedAccountStore(
      {
        ...parts,
        async update(key, patch, scope) {
          const [name, value] = Object.entries(patch.tokens ?? {})[0]!
          await client.update({
            TableName: TABLE,
            Key: { pk: `USER#${scope.userId}`, sk: `ACCOUNT#${key.provider}#${key.providerAccountId}` },
            UpdateExpression: "SET #name = :value",
            ExpressionAttributeNames: { "#name": name },
            ExpressionAttributeValues: { ":value": value },
          })
          return { held: true }
        },
      },
      { lockLeaseMs: LEASE_MS, lockTimeoutMs: 3_000 },
    )
  }
  const newKey = (): AccountKey => ({ provider: "fence", providerAccountId: `sub-${globalThis.crypto.randomUUID()}` })
  const accessToken = async (key: AccountKey) => {
    const { Item } = await clients[2]!.get({
      TableName: TABLE,
      Key: { pk: `USER#${userId}`, sk: `ACCOUNT#${key.provider}#${key.providerAccountId}` },
      ConsistentRead: true,
    })
    return Item?.access_token
  }

  /** The stalled-holder scenario (suites/fencing-suite.ts) with these stores, on a fresh key seeded with "at.first". */
  async function stalledHolderOn(a: AccountStore, b: AccountStore) {
    const key = newKey()
    await clients[2]!.put({
      TableName: TABLE,
      Item: {
        pk: `USER#${userId}`,
        sk: `ACCOUNT#${key.provider}#${key.providerAccountId}`,
        GSI1PK: `ACCOUNT#${key.provider}`,
        GSI1SK: `ACCOUNT#${key.providerAccountId}`,
        id: globalThis.crypto.randomUUID(),
        userId,
        type: "oidc",
        provider: key.provider,
        providerAccountId: key.providerAccountId,
        access_token: "at.first",
      },
    })
    return stalledHolder({ a, b, key, userId, stored: accessToken })
  }

  test("a holder stalled past its lock lease: its write is refused and changes nothing; the next holder's write stays", async () => {
    const { a, stored } = await stalledHolderOn(
      dynamoDbAccountStore(clients[0]!, options()),
      dynamoDbAccountStore(clients[1]!, options(NEXT)),
    )
    expect(a).toBeInstanceOf(AccountLockLostError)
    expect(stored).toBe("at.signin")
  })

  test("a lease taken early by a process whose clock runs ahead: the holder's write (its lease live on its own clock) is refused by the item's fence", async () => {
    const long = { lockLeaseMs: 20_000 }
    const ahead = () => Date.now() + 60_000
    const { a, stored } = await stalledHolderOn(
      dynamoDbAccountStore(clients[0]!, options(long)),
      dynamoDbAccountStore(clients[1]!, options({ ...long, clock: ahead })),
    )
    expect(a).toBeInstanceOf(AccountLockLostError)
    expect(stored).toBe("at.signin")
  })

  test("control: with an update that skips the lease's condition, the stalled holder's stale write overwrites the newer sign-in", async () => {
    const { a, stored } = await stalledHolderOn(unfenced(clients[0]!), dynamoDbAccountStore(clients[1]!, options(NEXT)))
    expect(a).toBe("written")
    expect(stored).toBe("at.stale")
  })

  test("a lock lease held by another client is the typed busy value, within the wait bound", async () => {
    const key = newKey()
    const long = options({ lockLeaseMs: 10_000 })
    await expectBusyWithinBound(dynamoDbAccountStore(clients[0]!, long), dynamoDbAccountStore(clients[1]!, long), key)
  })

  test("refuses a client that is not a document client, and an empty table name, with typed errors", () => {
    // withTokenSync cannot read the adapter's table and key names from the client: it names the store to pass.
    const refused = (() => {
      try {
        withTokenSync(DynamoDBAdapter(clients[0]!, { tableName: TABLE }), clients[0]!)
      } catch (error) {
        return error
      }
    })()
    expect(refused).toBeInstanceOf(UnsupportedDatabaseError)
    expect(String((refused as Error).message)).toMatch(/dynamoDbAccountStore\(client, options\)/)
    expect(() => dynamoDbAccountStore({} as never)).toThrow(/DynamoDBDocument/)
    expect(() => dynamoDbAccountStore(clients[0]!, { tableName: "" })).toThrow(/tableName must be a non-empty string/)
  })
})
