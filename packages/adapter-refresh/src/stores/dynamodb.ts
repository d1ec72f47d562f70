/**
 * The account store for `@auth/dynamodb-adapter`'s single-table design, through the AWS SDK v3 document
 * client (`DynamoDBDocument` of `@aws-sdk/lib-dynamodb`, typed structurally: nothing here imports the SDK).
 * DynamoDB has no multi-statement transaction a lock could live in, so this is `leaseLockedAccountStore`
 * over single conditional requests: lease mode only.
 *
 * The adapter's account item: pk `USER#<userId>`, sk `ACCOUNT#<provider>#<providerAccountId>`, GSI1PK
 * `ACCOUNT#<provider>`, GSI1SK `ACCOUNT#<providerAccountId>`, an `id`, and the Auth.js fields as attributes.
 * One item per owner, so a key's rows are found through the GSI (and the owners this store recorded).
 * This store adds, in the same table, two lease items per key (pk = sk = `AUTHJS#LOCK#…` and `AUTHJS#LEASE#…`,
 * no GSI attributes, so the adapter never sees them) and one attribute on account items, `authjsLockFence`.
 *
 * Fencing without transactions: every account write is ONE conditional write on the account item itself,
 * accepted only while the item's `authjsLockFence` is not above the writer's fence; a holder's reads raise
 * that attribute to its fence (a conditional update that returns the item). So once the next holder has read
 * an item, a write of the previous holder is refused; and what it wrote before is what the next holder reads.
 *
 * The clock: DynamoDB compares no server time in conditions, and deletes TTL-expired items late, so a lease's
 * end (`leaseUntil`) is epoch ms from the taker's clock, and a take compares it with its own clock. That
 * assumes the clocks of the processes differ by less than a bound (NTP: a few ms). A clock ahead by `d` takes
 * an ended-looking lease `d` ms early: for the lock this costs nothing (writes stay fenced, above), for lease
 * mode's refresh lease it can start a second provider request while the first is in flight, so the skew must
 * stay well under `refresh.leaseMs` minus the time a refresh takes.
 */
import { randomUUID } from "node:crypto"
import { AccountStoreError, InvalidOptionsError } from "../errors.js"
import { pageOfKeys, reauthMarksPage } from "../key-pages.js"
import {
  leaseLockedAccountStore,
  type AccountLockLeases,
  type FencedWrite,
  type LeaseLockedStoreParts,
  type LockLeaseTake,
} from "../lease-locked-store.js"
import type {
  AccountKey,
  AccountLeases,
  AccountPatch,
  AccountRow,
  AccountRowScope,
  AccountStore,
  HeldLease,
  StoredAccountRow,
  UserId,
} from "../store.js"

/** An item as the document client reads and writes it. */
export type DynamoDbItem = Record<string, unknown>

/** The part of a `DynamoDBDocument` (`@aws-sdk/lib-dynamodb`) this store uses; the one the adapter is built with. */
export interface DynamoDbDocumentLike {
  get(input: {
    TableName: string
    Key: DynamoDbItem
    ConsistentRead?: boolean
  }): Promise<{ Item?: DynamoDbItem | undefined }>
  put(input: {
    TableName: string
    Item: DynamoDbItem
    ConditionExpression?: string
    ExpressionAttributeNames?: Record<string, string>
    ExpressionAttributeValues?: DynamoDbItem
  }): Promise<unknown>
  update(input: {
    TableName: string
    Key: DynamoDbItem
    UpdateExpression: string
    ConditionExpression?: string
    ExpressionAttributeNames?: Record<string, string>
    ExpressionAttributeValues?: DynamoDbItem
    ReturnValues?: "ALL_NEW" | "NONE"
    ReturnValuesOnConditionCheckFailure?: "ALL_OLD" | "NONE"
  }): Promise<{ Attributes?: DynamoDbItem | undefined }>
  delete(input: {
    TableName: string
    Key: DynamoDbItem
    ConditionExpression?: string
    ExpressionAttributeNames?: Record<string, string>
    ExpressionAttributeValues?: DynamoDbItem
  }): Promise<unknown>
  query(input: {
    TableName: string
    IndexName?: string
    KeyConditionExpression: string
    ExpressionAttributeNames?: Record<string, string>
    ExpressionAttributeValues?: DynamoDbItem
    ConsistentRead?: boolean
    ExclusiveStartKey?: DynamoDbItem
  }): Promise<{ Items?: DynamoDbItem[] | undefined; LastEvaluatedKey?: DynamoDbItem | undefined }>
  scan(input: {
    TableName: string
    FilterExpression?: string
    ProjectionExpression?: string
    ExpressionAttributeNames?: Record<string, string>
    ExpressionAttributeValues?: DynamoDbItem
    ConsistentRead?: boolean
    ExclusiveStartKey?: DynamoDbItem
  }): Promise<{ Items?: DynamoDbItem[] | undefined; LastEvaluatedKey?: DynamoDbItem | undefined }>
}

/** Options of {@link dynamoDbAccountStore}: the adapter's own (same names and defaults), and the lock's bounds. */
export interface DynamoDbAccountStoreOptions {
  /** The adapter's `tableName` (default "next-auth"). */
  tableName?: string
  /** The adapter's `partitionKey` (default "pk"). */
  partitionKey?: string
  /** The adapter's `sortKey` (default "sk"). */
  sortKey?: string
  /** The adapter's `indexName` (default "GSI1"). */
  indexName?: string
  /** The adapter's `indexPartitionKey` (default "GSI1PK"). */
  indexPartitionKey?: string
  /** The adapter's `indexSortKey` (default "GSI1SK"). */
  indexSortKey?: string
  /** Length of the per-key lock lease, ms (default 5,000): how long a process that died holding it blocks the key. */
  lockLeaseMs?: number
  /** Longest wait for the lock lease, ms (default 10,000). */
  lockTimeoutMs?: number
  /**
   * The clock leases are judged by, epoch ms (default `Date.now`). DynamoDB's conditions know no server time,
   * so every process's clock takes part: give one that is kept in sync (NTP) across the processes.
   */
  clock?: () => number
}

/** The account item's attribute that fences writes (the highest lock fence that read or wrote the item). */
export const DYNAMODB_FENCE_ATTRIBUTE = "authjsLockFence"
const NAME = "dynamodb"
const OWN_ATTRIBUTES = ["id", "userId", "type", "provider", "providerAccountId", DYNAMODB_FENCE_ATTRIBUTE]

const conditionFailed = (error: unknown): boolean =>
  error instanceof Error && error.name === "ConditionalCheckFailedException"

/** Any error of the client as the typed store error: only its class name and code are kept (never an item). */
async function step<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    throw new AccountStoreError(NAME, operation, error)
  }
}

function checkName(option: string, value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value !== "string" || value === "")
    throw new InvalidOptionsError(option, `dynamoDbAccountStore: ${option} must be a non-empty string`)
  return value
}

function checkTake(holder: string, durationMs: number): void {
  if (typeof holder !== "string" || holder.length === 0 || holder.length > 64)
    throw new RangeError("a lease's holder must be a string of 1 to 64 characters")
  if (!Number.isSafeInteger(durationMs) || durationMs <= 0)
    throw new RangeError("a lease's duration must be a positive integer of ms")
}

/** Dates as the adapter's `format.to` writes them (ISO text); everything else as given, undefined dropped. */
function attributes(values: Record<string, unknown>): DynamoDbItem {
  const out: DynamoDbItem = {}
  for (const [name, value] of Object.entries(values))
    if (value !== undefined) out[name] = value instanceof Date ? value.toISOString() : value
  return out
}

/**
 * The parts of `leaseLockedAccountStore` for the adapter's table: each part one request (a read of a key's
 * rows: one query on the index and one read of the lock item, then one request per owner found).
 *
 * @param client The `DynamoDBDocument` the adapter was built with.
 * @param options The options the adapter was built with.
 * @returns The parts, for `leaseLockedAccountStore` (or for a wrapper of one of them).
 * @throws InvalidOptionsError for a client without the document client's methods or an empty option.
 */
export function dynamoDbStoreParts(
  client: DynamoDbDocumentLike,
  options: DynamoDbAccountStoreOptions = {},
): LeaseLockedStoreParts {
  for (const method of ["get", "put", "update", "delete", "query", "scan"] as const)
    if (typeof (client as unknown as Record<string, unknown> | undefined)?.[method] !== "function")
      throw new InvalidOptionsError(
        "client",
        "dynamoDbAccountStore: client must be the DynamoDBDocument (@aws-sdk/lib-dynamodb) the adapter uses; " +
          `it has no ${method}()`,
      )
  const TableName = checkName("tableName", options.tableName, "next-auth")
  const pk = checkName("partitionKey", options.partitionKey, "pk")
  const sk = checkName("sortKey", options.sortKey, "sk")
  const IndexName = checkName("indexName", options.indexName, "GSI1")
  const gsiPk = checkName("indexPartitionKey", options.indexPartitionKey, "GSI1PK")
  const gsiSk = checkName("indexSortKey", options.indexSortKey, "GSI1SK")
  const clock = options.clock ?? Date.now
  if (typeof clock !== "function")
    throw new InvalidOptionsError("clock", "dynamoDbAccountStore: clock must be a function returning epoch ms")
  const hidden = new Set([pk, sk, gsiPk, gsiSk, ...OWN_ATTRIBUTES])

  // Key text inside a lease item's key: JSON, so that a "#" in a provider cannot make two keys one.
  const leaseKey = (kind: "LOCK" | "LEASE", key: AccountKey): DynamoDbItem => {
    const id = `AUTHJS#${kind}#${JSON.stringify([key.provider, String(key.providerAccountId)])}`
    return { [pk]: id, [sk]: id }
  }
  const accountKey = (userId: string, key: AccountKey): DynamoDbItem => ({
    [pk]: `USER#${userId}`,
    [sk]: `ACCOUNT#${key.provider}#${String(key.providerAccountId)}`,
  })
  const isAccount = (item: DynamoDbItem): boolean => typeof item.provider === "string"
  const storedRow = (item: DynamoDbItem): StoredAccountRow => {
    const tokens: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(item)) if (!hidden.has(name)) tokens[name] = value
    return {
      provider: String(item.provider),
      providerAccountId: String(item.providerAccountId),
      userId: String(item.userId),
      type: String(item.type),
      tokens,
    }
  }

  /** The lease items' primitives: take (one conditional update), renew, release. */
  function leaseItems(kind: "LOCK" | "LEASE") {
    return {
      async take(key: AccountKey, holder: string, durationMs: number) {
        checkTake(holder, durationMs)
        const sent = performance.now()
        const now = clock()
        try {
          const { Attributes } = await client.update({
            TableName,
            Key: leaseKey(kind, key),
            UpdateExpression: "SET holder = :holder, leaseUntil = :until ADD fence :one",
            ConditionExpression: "attribute_not_exists(leaseUntil) OR leaseUntil <= :now",
            ExpressionAttributeValues: { ":holder": holder, ":until": now + durationMs, ":one": 1, ":now": now },
            ReturnValues: "ALL_NEW",
          })
          const spent = performance.now() - sent
          const owners = Attributes?.owners instanceof Set ? [...(Attributes.owners as Set<unknown>)].map(String) : []
          return {
            taken: true as const,
            lease: { fence: String(Attributes?.fence), holder },
            remainingMs: Math.max(0, Math.floor(durationMs - spent)),
            owners,
          }
        } catch (error) {
          if (!conditionFailed(error)) throw error
          // Real DynamoDB returns the item with the failure when asked; dynalite does not (then: unknown).
          const item = (error as { Item?: DynamoDbItem }).Item
          const until = typeof item?.leaseUntil === "number" ? item.leaseUntil : null
          return { taken: false as const, remainingMs: until === null ? null : Math.max(0, until - clock()) }
        }
      },
      async renew(key: AccountKey, lease: HeldLease, durationMs: number) {
        checkTake(lease.holder, durationMs)
        const now = clock()
        try {
          await client.update({
            TableName,
            Key: leaseKey(kind, key),
            UpdateExpression: "SET leaseUntil = :until",
            ConditionExpression: "holder = :holder AND fence = :fence AND leaseUntil > :now",
            ExpressionAttributeValues: {
              ":holder": lease.holder,
              ":fence": Number(lease.fence),
              ":until": now + durationMs,
              ":now": now,
            },
          })
          return { remainingMs: durationMs }
        } catch (error) {
          if (conditionFailed(error)) return null
          throw error
        }
      },
      async release(key: AccountKey, lease: HeldLease) {
        try {
          await client.update({
            TableName,
            Key: leaseKey(kind, key),
            UpdateExpression: "REMOVE leaseUntil",
            ConditionExpression: "holder = :holder AND fence = :fence",
            ExpressionAttributeValues: { ":holder": lease.holder, ":fence": Number(lease.fence) },
          })
        } catch (error) {
          if (!conditionFailed(error)) throw error
        }
      },
    }
  }
  const lock = leaseItems("LOCK")
  const refresh = leaseItems("LEASE")

  /**
   * The lock this process holds on each key, with when it ends on this process's clock: `readAll` under the
   * lock raises the fence of what it reads to it. One store instance holds a key's lock once at a time.
   */
  const held = new Map<string, HeldLease & { until: number; owners: Set<string> }>()
  /** Every item a consistent Scan of the table finds with `input`'s filter, page after page. */
  async function scanAll(
    operation: string,
    input: Omit<Parameters<DynamoDbDocumentLike["scan"]>[0], "TableName" | "ConsistentRead" | "ExclusiveStartKey">,
  ): Promise<DynamoDbItem[]> {
    const items: DynamoDbItem[] = []
    await step(operation, async () => {
      let start: DynamoDbItem | undefined
      do {
        const part = await client.scan({
          TableName,
          ...input,
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        })
        items.push(...(part.Items ?? []))
        start = part.LastEvaluatedKey
      } while (start)
    })
    return items
  }

  const heldKey = (key: AccountKey) => JSON.stringify([key.provider, String(key.providerAccountId)])

  /** The owners of the key's rows the index knows (eventually consistent on DynamoDB: see `readAll`). */
  async function indexedOwners(key: AccountKey): Promise<string[]> {
    const found = await queryAll({
      TableName,
      IndexName,
      KeyConditionExpression: "#gpk = :gpk AND #gsk = :gsk",
      ExpressionAttributeNames: { "#gpk": gsiPk, "#gsk": gsiSk },
      ExpressionAttributeValues: {
        ":gpk": `ACCOUNT#${key.provider}`,
        ":gsk": `ACCOUNT#${String(key.providerAccountId)}`,
      },
    })
    return found.filter((item) => item.provider === key.provider).map((item) => String(item.userId))
  }

  /** The owners this store recorded on the key's lock item (read consistently). */
  async function recordedOwners(key: AccountKey): Promise<string[]> {
    const { Item } = await client.get({ TableName, Key: leaseKey("LOCK", key), ConsistentRead: true })
    return Item?.owners instanceof Set ? [...(Item.owners as Set<unknown>)].map(String) : []
  }

  async function queryAll(input: Parameters<DynamoDbDocumentLike["query"]>[0]): Promise<DynamoDbItem[]> {
    const items: DynamoDbItem[] = []
    let start: DynamoDbItem | undefined
    do {
      const page = await client.query({ ...input, ...(start ? { ExclusiveStartKey: start } : {}) })
      items.push(...(page.Items ?? []))
      start = page.LastEvaluatedKey
    } while (start)
    return items
  }

  /** One owner's item, read consistently; under this process's lock, read by raising its fence (see above). */
  async function readItem(userId: string, key: AccountKey): Promise<DynamoDbItem | undefined> {
    const lease = held.get(heldKey(key))
    if (lease && clock() < lease.until) {
      try {
        const { Attributes } = await client.update({
          TableName,
          Key: accountKey(userId, key),
          UpdateExpression: "SET #fence = :fence",
          ConditionExpression: "attribute_not_exists(#fence) OR #fence <= :fence",
          ExpressionAttributeNames: { "#fence": DYNAMODB_FENCE_ATTRIBUTE },
          ExpressionAttributeValues: { ":fence": Number(lease.fence) },
          ReturnValues: "ALL_NEW",
        })
        return Attributes
      } catch (error) {
        if (!conditionFailed(error)) throw error
        // A newer holder read it: this one's writes will be refused; a plain read is all it gets.
      }
    }
    return (await client.get({ TableName, Key: accountKey(userId, key), ConsistentRead: true })).Item
  }

  /**
   * Every row of the key: the owners the index knows, and those this store recorded on the lock item when it
   * inserted (the index may lag a write on DynamoDB; the lock item is read consistently), each owner's item
   * read consistently. Under this process's lock the recorded owners came with the take, and are read at once.
   */
  async function readAll(key: AccountKey): Promise<StoredAccountRow[]> {
    const lease = held.get(heldKey(key))
    const known = lease && clock() < lease.until ? [...lease.owners] : undefined
    const [indexed, recorded, first] = await Promise.all([
      indexedOwners(key),
      known ?? recordedOwners(key),
      Promise.all((known ?? []).map((userId) => readItem(userId, key))),
    ])
    const rest = [...new Set([...indexed, ...recorded])].filter((userId) => !known?.includes(userId))
    const items = [...first, ...(await Promise.all(rest.map((userId) => readItem(userId, key))))]
    // Without `provider` an item is the fence a read left where an owner had no item: no row.
    return items.filter((item): item is DynamoDbItem => item !== undefined && isAccount(item)).map(storedRow)
  }

  /** Whether `lease` is this process's lock on the key and has not ended on this process's clock. */
  const stillHeld = (key: AccountKey, lease: HeldLease): boolean => {
    const mine = held.get(heldKey(key))
    return mine !== undefined && mine.fence === lease.fence && mine.holder === lease.holder && clock() < mine.until
  }
  const fenceCondition = "attribute_not_exists(#fence) OR #fence <= :fence"

  /** Records `userId` as an owner of the key on the lock item, while `lease` holds it. */
  async function recordOwner(key: AccountKey, userId: string, lease: HeldLease): Promise<boolean> {
    try {
      await client.update({
        TableName,
        Key: leaseKey("LOCK", key),
        UpdateExpression: "ADD owners :owner",
        ConditionExpression: "holder = :holder AND fence = :fence",
        ExpressionAttributeValues: {
          ":owner": new Set([userId]),
          ":holder": lease.holder,
          ":fence": Number(lease.fence),
        },
      })
      held.get(heldKey(key))?.owners.add(userId)
      return true
    } catch (error) {
      if (conditionFailed(error)) return false
      throw error
    }
  }

  /** Puts a whole account item, fenced; false when a newer holder has read or written it. */
  async function putFenced(item: DynamoDbItem, lease: HeldLease): Promise<boolean> {
    try {
      await client.put({
        TableName,
        Item: { ...item, [DYNAMODB_FENCE_ATTRIBUTE]: Number(lease.fence) },
        ConditionExpression: fenceCondition,
        ExpressionAttributeNames: { "#fence": DYNAMODB_FENCE_ATTRIBUTE },
        ExpressionAttributeValues: { ":fence": Number(lease.fence) },
      })
      return true
    } catch (error) {
      if (conditionFailed(error)) return false
      throw error
    }
  }

  /** Keys whose lock this process is taking right now (one take request per key and process at a time). */
  const taking = new Set<string>()

  const locks: AccountLockLeases = {
    async take(key, holder, durationMs, takeOptions): Promise<LockLeaseTake> {
      if (takeOptions?.signal?.aborted) throw new Error("dynamodb: the caller stopped waiting")
      // Busy without a request, as DynamoDB would answer: while this process holds the key's lock (by the same
      // clock the condition uses), or another of its callers' takes is in flight. Under contention each
      // process then polls once, not once per waiting caller: fewer requests, and the holder's go first.
      const id = heldKey(key)
      const mine = held.get(id)
      if (mine && clock() < mine.until) return { taken: false, remainingMs: Math.max(0, mine.until - clock()) }
      if (taking.has(id)) return { taken: false, remainingMs: null }
      taking.add(id)
      try {
        const started = clock()
        const took = await step("withAccountLock", () => lock.take(key, holder, durationMs))
        if (!took.taken) return took
        held.set(id, { ...took.lease, until: started + durationMs, owners: new Set(took.owners) })
        return { taken: true, lease: took.lease, remainingMs: took.remainingMs }
      } finally {
        taking.delete(id)
      }
    },
    async release(key, lease) {
      const mine = held.get(heldKey(key))
      if (mine?.fence === lease.fence && mine.holder === lease.holder) held.delete(heldKey(key))
      await step("withAccountLock", () => lock.release(key, lease))
    },
  }

  const leases: AccountLeases = {
    async take(key, holder, durationMs, takeOptions) {
      if (takeOptions?.signal?.aborted) throw new Error("dynamodb: the caller stopped waiting")
      const took = await step("leases.take", () => refresh.take(key, holder, durationMs))
      // A second step after the take: the key's rows, read consistently, and this process's clock (the
      // only clock DynamoDB's conditions know is the callers').
      const rows = await step("leases.take", () => readAll(key))
      const nowMs = clock()
      return took.taken
        ? { taken: true, lease: took.lease, remainingMs: took.remainingMs, rows, nowMs }
        : { taken: false, remainingMs: took.remainingMs, rows, nowMs }
    },
    renew: (key, lease, durationMs) => step("leases.renew", () => refresh.renew(key, lease, durationMs)),
    release: (key, lease) => step("leases.release", () => refresh.release(key, lease)),
  }

  return {
    name: NAME,
    linkAccountResult: "input",
    locks,
    leases,
    readAll: (key) => step("LockedAccount.readAll", () => readAll(key)),
    async userExists(userId: UserId) {
      const id = String(userId)
      const { Item } = await step("LockedAccount.userExists", () =>
        client.get({ TableName, Key: { [pk]: `USER#${id}`, [sk]: `USER#${id}` }, ConsistentRead: true }),
      )
      return Item !== undefined
    },
    async insert(row: AccountRow, lease: HeldLease): Promise<FencedWrite> {
      if (!stillHeld(row, lease)) return { held: false }
      const userId = String(row.userId)
      return step("LockedAccount.insert", async () => {
        const recorded = held.get(heldKey(row))?.owners.has(userId) === true
        if (!recorded && !(await recordOwner(row, userId, lease))) return { held: false }
        const item = attributes({
          ...row.tokens,
          userId,
          type: row.type,
          provider: row.provider,
          providerAccountId: String(row.providerAccountId),
          id: randomUUID(),
          ...accountKey(userId, row),
          [gsiPk]: `ACCOUNT#${row.provider}`,
          [gsiSk]: `ACCOUNT#${String(row.providerAccountId)}`,
        })
        return { held: await putFenced(item, lease) }
      })
    },
    async update(key: AccountKey, patch: AccountPatch, scope: AccountRowScope, lease: HeldLease): Promise<FencedWrite> {
      if (!stillHeld(key, lease)) return { held: false }
      const owner = String(scope.userId)
      const tokens = attributes(patch.tokens ?? {})
      const names = Object.keys(tokens)
      const fence = Number(lease.fence)
      return step("LockedAccount.update", async (): Promise<FencedWrite> => {
        if (patch.userId !== undefined && String(patch.userId) !== owner) {
          // Re-pointing moves the item (its key holds the owner): put the new one, then delete the old one,
          // each fenced. A lost lease between them leaves both, as the adapter's duplicates.
          const to = String(patch.userId)
          const old = (await client.get({ TableName, Key: accountKey(owner, key), ConsistentRead: true })).Item
          if (!old || !isAccount(old)) return { held: stillHeld(key, lease) }
          if (!(await recordOwner(key, to, lease))) return { held: false }
          const moved = { ...old, ...tokens, userId: to, ...accountKey(to, key) }
          if (!(await putFenced(moved, lease))) return { held: false }
          try {
            await client.delete({
              TableName,
              Key: accountKey(owner, key),
              ConditionExpression: "#fence <= :fence",
              ExpressionAttributeNames: { "#fence": DYNAMODB_FENCE_ATTRIBUTE },
              ExpressionAttributeValues: { ":fence": fence },
            })
          } catch (error) {
            if (conditionFailed(error)) return { held: false }
            throw error
          }
          return { held: true }
        }
        if (names.length === 0) return { held: stillHeld(key, lease) }
        const set = names.map((_, i) => `#t${i} = :t${i}`)
        const attributeNames: Record<string, string> = { "#fence": DYNAMODB_FENCE_ATTRIBUTE, "#provider": "provider" }
        const values: DynamoDbItem = { ":fence": fence }
        names.forEach((name, i) => {
          attributeNames[`#t${i}`] = name
          values[`:t${i}`] = tokens[name]
        })
        try {
          await client.update({
            TableName,
            Key: accountKey(owner, key),
            UpdateExpression: `SET ${set.join(", ")}, #fence = :fence`,
            // Only an existing row of that owner (not the fence a read left): an update never creates one.
            ConditionExpression: `attribute_exists(#provider) AND (${fenceCondition})`,
            ExpressionAttributeNames: attributeNames,
            ExpressionAttributeValues: values,
          })
          return { held: true }
        } catch (error) {
          if (!conditionFailed(error)) throw error
        }
        // Refused: no row of that owner (nothing to write, as an UPDATE of no row), or a newer holder's fence.
        const now = (await client.get({ TableName, Key: accountKey(owner, key), ConsistentRead: true })).Item
        const newer = typeof now?.[DYNAMODB_FENCE_ATTRIBUTE] === "number" && now[DYNAMODB_FENCE_ATTRIBUTE] > fence
        return { held: !newer && stillHeld(key, lease) }
      })
    },
    async findAccounts(userId, provider, readOptions) {
      if (readOptions?.signal?.aborted) throw new Error("dynamodb: the caller stopped waiting")
      const items = await step("findAccounts", () =>
        queryAll({
          TableName,
          KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
          ExpressionAttributeNames: { "#pk": pk, "#sk": sk },
          ExpressionAttributeValues: { ":pk": `USER#${userId}`, ":prefix": `ACCOUNT#${provider}#` },
          ConsistentRead: true,
        }),
      )
      return items
        .filter((item) => isAccount(item) && item.provider === provider)
        .map(storedRow)
        .sort((a, b) =>
          a.providerAccountId < b.providerAccountId ? -1 : a.providerAccountId > b.providerAccountId ? 1 : 0,
        )
    },
    async scanAccounts(page) {
      // A scan of the whole table per page (the layout has no index of all accounts in key order): for
      // `reencryptAccounts` and `refreshExpiring`, jobs that page through every account anyway.
      const items = await scanAll("scanAccounts", {
        FilterExpression: "begins_with(#sk, :account)",
        ExpressionAttributeNames: { "#sk": sk },
        ExpressionAttributeValues: { ":account": "ACCOUNT#" },
      })
      const rows = items.filter(isAccount).map(storedRow)
      return pageOfKeys(rows, page, (a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0))
    },
    async listReauthMarks(page) {
      // Projected by DynamoDB: only the key, the owner and the mark are read, never a token attribute.
      const items = await scanAll("listReauthMarks", {
        FilterExpression: "begins_with(#sk, :account) AND attribute_type(#mark, :text) AND #mark <> :empty",
        ProjectionExpression: "#provider, #providerAccountId, #userId, #mark",
        ExpressionAttributeNames: {
          "#sk": sk,
          "#mark": page.column,
          "#provider": "provider",
          "#providerAccountId": "providerAccountId",
          "#userId": "userId",
        },
        ExpressionAttributeValues: { ":account": "ACCOUNT#", ":text": "S", ":empty": "" },
      })
      return reauthMarksPage(
        items.filter(isAccount).map((item) => ({
          provider: String(item.provider),
          providerAccountId: String(item.providerAccountId),
          userId: String(item.userId),
          mark: item[page.column],
        })),
        page,
      )
    },
  }
}

/**
 * The account store for `@auth/dynamodb-adapter`: pass it as `withTokenSync`'s second argument, with
 * `refresh: { coordination: "lease" }` (DynamoDB has no transaction a lock could be held in).
 *
 * @example
 * ```ts
 * import { DynamoDBAdapter } from "@auth/dynamodb-adapter"
 * import { withTokenSync } from "authjs-adapter-refresh"
 * import { dynamoDbAccountStore } from "authjs-adapter-refresh/stores/dynamodb"
 *
 * const adapter = withTokenSync(DynamoDBAdapter(client, options), dynamoDbAccountStore(client, options), {
 *   refresh: { coordination: "lease" },
 * })
 * ```
 * @param client The `DynamoDBDocument` the adapter was built with.
 * @param options The adapter's options (table, key and index names), and the lock lease's bounds.
 * @returns The store (`coordination: "lease"`).
 * @throws InvalidOptionsError for a client without the document client's methods or an option out of range.
 */
export function dynamoDbAccountStore(
  client: DynamoDbDocumentLike,
  options: DynamoDbAccountStoreOptions = {},
): AccountStore {
  return leaseLockedAccountStore(dynamoDbStoreParts(client, options), {
    ...(options.lockLeaseMs !== undefined ? { lockLeaseMs: options.lockLeaseMs } : {}),
    ...(options.lockTimeoutMs !== undefined ? { lockTimeoutMs: options.lockTimeoutMs } : {}),
  })
}
