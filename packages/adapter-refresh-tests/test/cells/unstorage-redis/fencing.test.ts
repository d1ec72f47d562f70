/**
 * The fence of the Redis store, on a real redis-server (two ioredis clients, as two processes would have): a
 * holder that stalls past its lock lease finds its write refused (`AccountLockLostError`, nothing written) and the
 * write of the next holder stays. Control: the same store with unfenced writes (fault "unfenced-writes") lets the
 * stale write overwrite the newer one. Also: a lock lease held elsewhere is the typed busy value within the wait
 * bound, and the bare adapter reads what the store wrote.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { UnstorageAdapter } from "@auth/unstorage-adapter"
import type { AdapterAccount } from "@auth/core/adapters"
import { AccountLockLostError, withTokenSync, type AccountKey, type AccountStore } from "authjs-adapter-refresh"
import { redisAccountStore } from "authjs-adapter-refresh/stores/redis"
import { Redis } from "ioredis"
import { createStorage } from "unstorage"
import redisDriver from "unstorage/drivers/redis"
import { accountRedisKey, storeOptions } from "../../../src/fixtures/conformance-unstorage-redis.js"
import { faultyRedisStore, type RedisFault } from "../../../src/fixtures/redis-faults.js"
import { parseRedisTestUrl, testRedisDatabase, type TestRedisDatabase } from "../../../src/harness/redis.js"
import { expectBusyWithinBound, stalledHolder } from "../../suites/fencing-suite.js"

const LEASE_MS = 300

describe("Redis store: fenced writes (real redis-server, two clients)", () => {
  let db: TestRedisDatabase
  let keyPrefix: string
  const clients: Redis[] = []
  const userId = globalThis.crypto.randomUUID()

  beforeAll(async () => {
    db = await testRedisDatabase("redis_fencing")
    const parsed = parseRedisTestUrl(db.url)
    keyPrefix = parsed.keyPrefix
    clients.push(new Redis(parsed.serverUrl), new Redis(parsed.serverUrl), new Redis(parsed.serverUrl))
  }, 60_000)
  afterAll(async () => {
    for (const client of clients) client.disconnect()
    await db?.drop()
  })

  const options = () => ({ ...storeOptions(keyPrefix), lockLeaseMs: LEASE_MS, lockTimeoutMs: 3_000 })
  const storeOf = (client: Redis, fault?: RedisFault): AccountStore =>
    fault
      ? faultyRedisStore(client, options(), fault, (key) => accountRedisKey(keyPrefix, key))
      : redisAccountStore(client, options())
  const newKey = (): AccountKey => ({ provider: "fence", providerAccountId: `sub-${globalThis.crypto.randomUUID()}` })
  const accessToken = async (key: AccountKey) => {
    const raw = await clients[2]!.get(accountRedisKey(keyPrefix, key))
    return raw ? [(JSON.parse(raw) as { access_token: string }).access_token] : []
  }

  /** The stalled-holder scenario (suites/fencing-suite.ts) on a fresh key seeded with "at.first". */
  async function stalledHolderOn(fault?: RedisFault) {
    const key = newKey()
    const account = { ...key, userId, type: "oidc", access_token: "at.first", id: `fence:${key.providerAccountId}` }
    await clients[2]!.set(accountRedisKey(keyPrefix, key), JSON.stringify(account))
    const a = storeOf(clients[0]!, fault)
    const b = storeOf(clients[1]!)
    return stalledHolder({ a, b, key, userId, stored: accessToken, bWaitsAtLeastMs: LEASE_MS / 2 })
  }

  test("a holder stalled past its lock lease: its write is refused and changes nothing; the next holder's write stays", async () => {
    const { a, stored } = await stalledHolderOn()
    expect(a).toBeInstanceOf(AccountLockLostError)
    expect(stored).toEqual(["at.signin"])
  })

  test("control: without the fence in the writes, the stalled holder's stale write overwrites the newer one", async () => {
    const { a, stored } = await stalledHolderOn("unfenced-writes")
    expect(a).toBe("written")
    expect(stored).toEqual(["at.stale"])
  })

  test("a lock lease held by another client is the typed busy value, within the wait bound", async () => {
    const key = newKey()
    const long = { ...storeOptions(keyPrefix), lockLeaseMs: 10_000 }
    await expectBusyWithinBound(redisAccountStore(clients[0]!, long), redisAccountStore(clients[1]!, long), key)
  })

  test("withTokenSync refuses the driver's ioredis client and the unstorage storage, naming redisAccountStore", async () => {
    const { serverUrl } = parseRedisTestUrl(db.url)
    const driver = redisDriver({ url: serverUrl, base: keyPrefix })
    const storage = createStorage({ driver })
    try {
      for (const db of [storage, driver.getInstance!()])
        expect(() => withTokenSync(UnstorageAdapter(storage), db)).toThrow(/redisAccountStore/)
    } finally {
      await storage.dispose()
    }
  })

  test("the bare adapter reads what the store wrote: its account, the user by account, its by-user-id pointer", async () => {
    const { serverUrl } = parseRedisTestUrl(db.url)
    const driver = redisDriver({ url: serverUrl, base: keyPrefix })
    const storage = createStorage({ driver })
    try {
      const bare = UnstorageAdapter(storage)
      const user = await bare.createUser!({ id: "", email: `${userId}@example.test`, emailVerified: null })
      const adapter = withTokenSync(bare, redisAccountStore(clients[0]!, storeOptions(keyPrefix)))
      const key = newKey()
      const input = { ...key, userId: user.id, type: "oidc", access_token: "at.one", expires_at: 2_000_000_000 }
      await adapter.linkAccount(input as AdapterAccount)
      expect(await bare.getAccount!(key.providerAccountId, key.provider)).toMatchObject(input)
      expect(await bare.getUserByAccount!(key)).toMatchObject({ id: user.id })
      expect(await storage.getItem(`user:account:by-user-id:${user.id}`)).toBe(
        `user:account:${key.provider}:${key.providerAccountId}`,
      )
      // A sign-in without a refresh token keeps the stored one (the merge), and the bare adapter sees it.
      await adapter.linkAccount({ ...input, refresh_token: "rt.one" } as AdapterAccount)
      await adapter.linkAccount({ ...input, access_token: "at.two" } as AdapterAccount)
      expect(await bare.getAccount!(key.providerAccountId, key.provider)).toMatchObject({
        access_token: "at.two",
        refresh_token: "rt.one",
      })
    } finally {
      await storage.dispose()
    }
  })

  test("keys as unstorage normalizes them: a providerAccountId with '/', '\\' and '::' is found by the bare adapter", async () => {
    const { serverUrl } = parseRedisTestUrl(db.url)
    const storage = createStorage({ driver: redisDriver({ url: serverUrl, base: keyPrefix }) })
    try {
      const bare = UnstorageAdapter(storage)
      const user = await bare.createUser!({ id: "", email: `slash-${userId}@example.test`, emailVerified: null })
      const adapter = withTokenSync(bare, redisAccountStore(clients[0]!, storeOptions(keyPrefix)))
      const key = { provider: "fence", providerAccountId: `tenant/${userId}\\x::y` }
      await adapter.linkAccount({ ...key, userId: user.id, type: "oidc", access_token: "at.slash" } as AdapterAccount)
      expect(await bare.getAccount!(key.providerAccountId, key.provider)).toMatchObject({ access_token: "at.slash" })
      expect(await bare.getUserByAccount!(key)).toMatchObject({ id: user.id })
      // And the other way: what the bare adapter wrote there, the store reads and merges into.
      await bare.linkAccount!({ ...key, userId: user.id, type: "oidc", access_token: "at.bare", refresh_token: "rt.b" })
      await adapter.linkAccount({ ...key, userId: user.id, type: "oidc", access_token: "at.again" } as AdapterAccount)
      expect(await bare.getAccount!(key.providerAccountId, key.provider)).toMatchObject({
        access_token: "at.again",
        refresh_token: "rt.b",
      })
    } finally {
      await storage.dispose()
    }
  })
})
