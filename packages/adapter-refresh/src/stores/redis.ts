/**
 * AccountStore for Redis, on the key layout of `@auth/unstorage-adapter` over unstorage's Redis driver (ioredis),
 * or of `@auth/upstash-redis-adapter` (`layout: "upstash"`, through any Redis-protocol client). Redis has no
 * multi-statement transactions that can read, decide in JS and write; so the store is `leaseLockedAccountStore`
 * over single atomic steps, each one short Lua script judged by Redis's own clock:
 * - a lease (lock or refresh) is a key `<leasePrefix>lock:<account key>` / `<leasePrefix>lease:<account key>`
 *   holding "<fence> <holder>", set with `SET NX PX`; the fence is an integer kept in a key of its own that never
 *   expires, so it only grows;
 * - a write is a fenced compare-and-set: the lock lease still holds this fence and holder (an ended lease is gone:
 *   `GET` sees no expired key), and the account's JSON is still what the store read; then one `SET`.
 *
 * The account is the adapter's own JSON (`JSON.stringify({ ...account, id: "<provider>:<providerAccountId>" })`,
 * unstorage's `stringify` of a string is the string) under its own key, and `<accountByUserIdPrefix><userId>`
 * points to it, so the bare adapter reads what this store writes. The client is typed structurally: this module
 * imports no Redis client.
 */
import { createHash } from "node:crypto"
import { InvalidOptionsError } from "../errors.js"
import { pageOfKeys, reauthMarksPage, type MarkCandidate } from "../key-pages.js"
import {
  leaseLockedAccountStore,
  type AccountLockLeases,
  type FencedWrite,
  type LeaseLockedStoreParts,
} from "../lease-locked-store.js"
import type {
  AccountKey,
  AccountLeases,
  AccountRow,
  AccountStore,
  HeldLease,
  LeaseTake,
  ReauthMark,
  StoredAccountRow,
  UserId,
} from "../store.js"

/**
 * The part of an ioredis client (or any Redis-protocol client with the same promise API) the store uses. An
 * ioredis `Redis` fits as it is; Redis Cluster does not (each script names keys of several hash slots).
 */
export interface RedisClientLike {
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>
  get(key: string): Promise<string | null>
  mget(...keys: string[]): Promise<(string | null)[]>
  exists(...keys: string[]): Promise<number>
  scan(cursor: string, match: "MATCH", pattern: string, count: "COUNT", size: number): Promise<[string, string[]]>
}

/**
 * Whether `db` is an ioredis client or an unstorage storage, which `withTokenSync` refuses with a pointer to
 * {@link redisAccountStore}: the key layout (the driver's base, the adapter's prefixes) cannot be read from them.
 */
export function isRedisLike(db: object): boolean {
  const value = db as Record<string, unknown>
  const ioredis = ["evalsha", "defineCommand", "scanStream"].every((name) => typeof value[name] === "function")
  const unstorage = ["getMount", "setItemRaw", "getItem"].every((name) => typeof value[name] === "function")
  return ioredis || unstorage
}

/** The key prefixes of `@auth/unstorage-adapter` / `@auth/upstash-redis-adapter` options, with their defaults. */
export interface RedisAdapterKeyPrefixes {
  /** Default "". */
  baseKeyPrefix?: string
  /** Default "user:account:". */
  accountKeyPrefix?: string
  /** Default "user:account:by-user-id:". */
  accountByUserIdPrefix?: string
  /** Default "user:". */
  userKeyPrefix?: string
}

/** Options of {@link redisAccountStore}. */
export interface RedisAccountStoreOptions {
  /**
   * Whose key layout: "unstorage" (default; keys normalized as unstorage does, under the driver's `base`) or
   * "upstash" (keys as `@auth/upstash-redis-adapter` names them, verbatim).
   */
  layout?: "unstorage" | "upstash"
  /** unstorage's Redis driver option `base` (the prefix of every key it writes); "unstorage" layout only. */
  base?: string
  /** The prefixes given to the adapter (`UnstorageAdapter(storage, options)`), when not the defaults. */
  keyPrefixes?: RedisAdapterKeyPrefixes
  /** Prefix of the store's own lease and fence keys (default "authjs-refresh:"). */
  leasePrefix?: string
  /** As `leaseLockedAccountStore`'s `lockLeaseMs` (default 5,000). */
  lockLeaseMs?: number
  /** As `leaseLockedAccountStore`'s `lockTimeoutMs` (default 10,000). */
  lockTimeoutMs?: number
}

// --- Scripts: each one atomic step. Redis 7 runs a script against one frozen clock (key expiry included). ---

/**
 * Take a lease. KEYS: lease, its fence counter, [account]. ARGV: holder, ms.
 * Returns { fence (0: busy), ms left on the lease, seconds, microseconds (Redis's clock), [account JSON] }.
 */
const TAKE = `
local fence = tonumber(redis.call('GET', KEYS[2]) or '0') + 1
if redis.call('SET', KEYS[1], fence .. ' ' .. ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('SET', KEYS[2], fence)
else
  fence = 0
end
local t = redis.call('TIME')
local out = { fence, redis.call('PTTL', KEYS[1]), t[1], t[2] }
if KEYS[3] then out[5] = redis.call('GET', KEYS[3]) end
return out`

/** Renew a lease. KEYS: lease. ARGV: "fence holder", ms. Returns the ms left, or -1 when not held. */
const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('PTTL', KEYS[1])`

/** Release a lease: deleted only while it holds the same fence and holder. KEYS: lease. ARGV: "fence holder". */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

/**
 * Fenced compare-and-set of an account. KEYS: lock lease, account, [by-user-id index]. ARGV: "fence holder",
 * the JSON read ("" for none), the new JSON ("": write nothing, only answer), [the index's value]. Returns 0: lease
 * not held (nothing written); 2: the account changed since it was read (nothing written); 1: written.
 */
const FENCED_SET = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[2] then return 2 end
if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3]) end
if KEYS[3] then redis.call('SET', KEYS[3], ARGV[4]) end
return 1`

/**
 * Read the key, the owner and one field of accounts, server-side, so no token leaves Redis. KEYS: accounts.
 * ARGV: the field. Returns, per key, the JSON of [provider, providerAccountId, userId, field] (false when the
 * value is not an account's JSON).
 */
const PROJECT_MARKS = `
local out = {}
for i, key in ipairs(KEYS) do
  local ok, account = pcall(cjson.decode, redis.pcall('GET', key) or '')
  if ok and type(account) == 'table' then
    out[i] = cjson.encode({ account.provider, account.providerAccountId, account.userId, account[ARGV[1]] })
  else
    out[i] = false
  end
end
return out`

const sha1 = (text: string): string => createHash("sha1").update(text).digest("hex")

/** Runs a script by its SHA-1, loading it with EVAL when the server does not have it (NOSCRIPT). */
function scriptRunner(client: RedisClientLike) {
  const shas = new Map<string, string>()
  return async (script: string, keys: string[], args: (string | number)[]): Promise<unknown> => {
    let sha = shas.get(script)
    if (!sha) shas.set(script, (sha = sha1(script)))
    try {
      return await client.evalsha(sha, keys.length, ...keys, ...args)
    } catch (error) {
      if (!/NOSCRIPT/.test(String((error as Error | undefined)?.message))) throw error
      return client.eval(script, keys.length, ...keys, ...args)
    }
  }
}

const DEFAULT_PREFIXES: Required<RedisAdapterKeyPrefixes> = {
  baseKeyPrefix: "",
  accountKeyPrefix: "user:account:",
  accountByUserIdPrefix: "user:account:by-user-id:",
  userKeyPrefix: "user:",
}
const KEY_FIELDS = new Set(["id", "userId", "type", "provider", "providerAccountId"])

/** unstorage's key normalization (storage `normalizeKey`, then the Redis driver's `joinKeys` with its base). */
function unstorageKey(base: string, key: string): string {
  const item = (key.split("?")[0] ?? "").replace(/[/\\]/g, ":").replace(/:+/g, ":").replace(/^:|:$/g, "")
  const part = (text: string) => text.replace(/[:/\\]/g, ":").replace(/^[:/\\]|[:/\\]$/g, "")
  return [base.replace(/:$/, ""), item].map(part).filter(Boolean).join(":")
}

const escapeGlob = (text: string): string => text.replace(/[*?[\]\\^]/g, "\\$&")

function parseAccount(raw: string | null | undefined): Record<string, unknown> | undefined {
  if (!raw) return undefined
  try {
    const value: unknown = JSON.parse(raw)
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

function storedRow(account: Record<string, unknown>): StoredAccountRow {
  const tokens: Record<string, unknown> = {}
  for (const [field, value] of Object.entries(account)) if (!KEY_FIELDS.has(field)) tokens[field] = value
  return {
    provider: String(account.provider),
    providerAccountId: String(account.providerAccountId),
    userId: String(account.userId),
    type: String(account.type),
    tokens,
  }
}

const sameKey = (account: Record<string, unknown>, key: AccountKey): boolean =>
  account.provider === key.provider && String(account.providerAccountId) === String(key.providerAccountId)

const leaseValue = (lease: HeldLease): string => `${lease.fence} ${lease.holder}`

function checkTake(holder: string, durationMs: number): void {
  if (typeof holder !== "string" || !/^[\x21-\x7e]{1,64}$/.test(holder))
    throw new RangeError("redis: a lease's holder must be 1 to 64 printable characters without spaces")
  if (!Number.isSafeInteger(durationMs) || durationMs <= 0)
    throw new RangeError("redis: a lease's duration must be a positive integer of ms")
}

/**
 * The parts of `leaseLockedAccountStore` for Redis (exported for tests and custom stores; most apps call
 * {@link redisAccountStore}).
 *
 * @param client The ioredis client unstorage's Redis driver uses (`driver.getInstance()`), or one on the same
 *   server and database.
 * @param options The key layout and prefixes.
 * @returns The parts, each one script or one read.
 * @throws InvalidOptionsError for a client without the commands or an option of the wrong type.
 */
export function redisAccountStoreParts(
  client: RedisClientLike,
  options: RedisAccountStoreOptions = {},
): LeaseLockedStoreParts {
  for (const command of ["evalsha", "eval", "get", "mget", "exists", "scan"] as const)
    if (typeof (client as unknown as Record<string, unknown> | null)?.[command] !== "function")
      throw new InvalidOptionsError("client", `redisAccountStore: client has no ${command}(); pass an ioredis client`)
  const layout = options.layout ?? "unstorage"
  if (layout !== "unstorage" && layout !== "upstash")
    throw new InvalidOptionsError("layout", `redisAccountStore: layout must be "unstorage" or "upstash"`)
  if (layout === "upstash" && options.base !== undefined)
    throw new InvalidOptionsError("base", `redisAccountStore: base is unstorage's driver option; not with "upstash"`)
  const prefixes = { ...DEFAULT_PREFIXES, ...options.keyPrefixes }
  for (const [name, value] of Object.entries({ ...prefixes, base: options.base ?? "" }))
    if (typeof value !== "string")
      throw new InvalidOptionsError(`keyPrefixes.${name}`, `redisAccountStore: ${name} must be a string`)
  const leasePrefix = options.leasePrefix ?? "authjs-refresh:"
  if (typeof leasePrefix !== "string" || leasePrefix === "")
    throw new InvalidOptionsError("leasePrefix", "redisAccountStore: leasePrefix must be a non-empty string")

  const run = scriptRunner(client)
  /** A key as the adapter names it, then as it is in Redis. */
  const adapterKey = (text: string) => prefixes.baseKeyPrefix + text
  const redisKey = (text: string) => (layout === "upstash" ? text : unstorageKey(options.base ?? "", text))
  const accountKeyOf = (key: AccountKey) =>
    adapterKey(prefixes.accountKeyPrefix) + key.provider + ":" + key.providerAccountId
  const accountKey = (key: AccountKey) => redisKey(accountKeyOf(key))
  const byUserKey = (userId: string) => redisKey(adapterKey(prefixes.accountByUserIdPrefix) + userId)
  const userKey = (userId: string) => redisKey(adapterKey(prefixes.userKeyPrefix) + userId)

  /** One kind of lease ("lock" or "lease") on the account key. */
  function leaseKeys(kind: string) {
    return {
      lease: (key: AccountKey) => `${leasePrefix}${kind}:${accountKey(key)}`,
      fence: (key: AccountKey) => `${leasePrefix}${kind}-fence:${accountKey(key)}`,
    }
  }
  const lockKeys = leaseKeys("lock")
  const refreshKeys = leaseKeys("lease")

  async function take(kind: typeof lockKeys, key: AccountKey, holder: string, ms: number, withAccount: boolean) {
    checkTake(holder, ms)
    const sent = performance.now()
    const keys = [kind.lease(key), kind.fence(key), ...(withAccount ? [accountKey(key)] : [])]
    const [fence, left, seconds, micros, raw] = (await run(TAKE, keys, [holder, ms])) as [
      number,
      number,
      string,
      string,
      string | null | undefined,
    ]
    // Counted from before the take was sent, so the round trip counts against the holder.
    const remainingMs = Math.max(0, Math.floor(Number(left) - (performance.now() - sent)))
    const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
    const account = parseAccount(raw)
    const rows = account && sameKey(account, key) ? [storedRow(account)] : []
    return Number(fence) > 0
      ? { taken: true as const, lease: { fence: String(fence), holder }, remainingMs, rows, nowMs }
      : { taken: false as const, remainingMs: Number(left) >= 0 ? remainingMs : null, rows, nowMs }
  }

  const locks: AccountLockLeases = {
    async take(key, holder, durationMs, takeOptions) {
      if (takeOptions?.signal?.aborted) throw new Error("redis: the caller stopped waiting")
      const { rows: _rows, nowMs: _now, ...took } = await take(lockKeys, key, holder, durationMs, false)
      return took
    },
    async release(key, lease) {
      await run(RELEASE, [lockKeys.lease(key)], [leaseValue(lease)])
    },
  }

  const leases: AccountLeases = {
    async take(key, holder, durationMs, takeOptions): Promise<LeaseTake> {
      if (takeOptions?.signal?.aborted) throw new Error("redis: the caller stopped waiting")
      return take(refreshKeys, key, holder, durationMs, true)
    },
    async renew(key, lease, durationMs) {
      checkTake(lease.holder, durationMs)
      const left = Number(await run(RENEW, [refreshKeys.lease(key)], [leaseValue(lease), durationMs]))
      return left >= 0 ? { remainingMs: left } : null
    },
    async release(key, lease) {
      await run(RELEASE, [refreshKeys.lease(key)], [leaseValue(lease)])
    },
  }

  /**
   * Reads the account, lets `change` decide the new JSON from it, writes it with the fenced compare-and-set;
   * again (at most 5 times) when a write outside the lock (the bare adapter) changed it in between.
   */
  async function fencedWrite(
    key: AccountKey,
    lock: HeldLease,
    change: (
      current: Record<string, unknown> | undefined,
    ) => { account: Record<string, unknown>; index: boolean } | undefined,
  ): Promise<FencedWrite> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const raw = (await client.get(accountKey(key))) ?? ""
      const current = parseAccount(raw)
      const next = change(current && sameKey(current, key) ? current : undefined)
      const keys = [lockKeys.lease(key), accountKey(key)]
      // Nothing to write (no row of that owner): the same script only answers whether the lease holds.
      const args: string[] = [leaseValue(lock), raw, next ? JSON.stringify(next.account) : ""]
      if (next?.index) {
        // The adapter's pointer from the owner to the account: on a link, or when the owner changes.
        keys.push(byUserKey(String(next.account.userId)))
        args.push(accountKeyOf(key))
      }
      const answer = Number(await run(FENCED_SET, keys, args))
      if (answer === 0) return { held: false }
      if (answer === 1) return { held: true, ...(next ? { row: next.account } : {}) }
    }
    throw new Error("redis: the account kept changing outside the lock (5 attempts)")
  }

  /**
   * Every account key of the layout, one SCAN of the whole keyspace (the adapter keeps no index of accounts),
   * `COUNT` 1000 a round; the owners' index keys share the accounts' prefix and are left out by name.
   */
  async function allAccountKeys(): Promise<string[]> {
    const prefix = redisKey(adapterKey(prefixes.accountKeyPrefix))
    const byUser = redisKey(adapterKey(prefixes.accountByUserIdPrefix))
    const found = new Set<string>()
    let cursor = "0"
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", escapeGlob(prefix) + "*", "COUNT", 1000)
      cursor = next
      // SCAN may return a key twice: the set keeps each once.
      for (const key of keys) if (!key.startsWith(byUser)) found.add(key)
    } while (cursor !== "0")
    return [...found]
  }
  /** Whether `account` is the one stored under `redisKeyName` (not a copy left under another key). */
  const storedUnder = (redisKeyName: string, account: { provider?: unknown; providerAccountId?: unknown }) =>
    typeof account.provider === "string" &&
    (typeof account.providerAccountId === "string" || typeof account.providerAccountId === "number") &&
    accountKey({ provider: account.provider, providerAccountId: String(account.providerAccountId) }) === redisKeyName
  /** Keys in batches, so no one command carries the whole keyspace. */
  const batches = (keys: string[], size = 500): string[][] =>
    Array.from({ length: Math.ceil(keys.length / size) }, (_, i) => keys.slice(i * size, (i + 1) * size))

  return {
    name: "redis",
    linkAccountResult: "inserted-row",
    locks,
    leases,
    async readAll(key) {
      const account = parseAccount(await client.get(accountKey(key)))
      return account && sameKey(account, key) ? [storedRow(account)] : []
    },
    async userExists(userId: UserId) {
      return (await client.exists(userKey(String(userId)))) > 0
    },
    insert(row: AccountRow, lock: HeldLease) {
      // As the adapter's linkAccount lays it out: { ...account, id }.
      const account: Record<string, unknown> = {
        userId: row.userId,
        type: row.type,
        provider: row.provider,
        providerAccountId: row.providerAccountId,
        ...row.tokens,
        id: `${row.provider}:${row.providerAccountId}`,
      }
      return fencedWrite(row, lock, (current) => {
        // Written outside the lock since the core read none (the bare adapter): refuse, as a unique key would.
        if (current) throw new Error("redis: the account appeared outside the lock; nothing written")
        return { account, index: true }
      })
    },
    update(key, patch, scope, lock) {
      return fencedWrite(key, lock, (current) => {
        if (!current || String(current.userId) !== scope.userId) return undefined
        return {
          account: { ...current, ...patch.tokens, ...(patch.userId !== undefined ? { userId: patch.userId } : {}) },
          index: patch.userId !== undefined,
        }
      })
    },
    async findAccounts(userId, provider, readOptions) {
      // The adapter keeps no index of a user's accounts (only the last one linked): scan the provider's keys.
      const pattern = escapeGlob(redisKey(adapterKey(prefixes.accountKeyPrefix) + provider + ":")) + "*"
      const found: StoredAccountRow[] = []
      let cursor = "0"
      do {
        if (readOptions?.signal?.aborted) throw new Error("redis: the caller stopped waiting")
        const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1000)
        cursor = next
        const values = keys.length > 0 ? await client.mget(...keys) : []
        for (const raw of values) {
          const account = parseAccount(raw)
          if (account && account.provider === provider && String(account.userId) === userId)
            found.push(storedRow(account))
        }
      } while (cursor !== "0")
      return found.sort((a, b) => (a.providerAccountId < b.providerAccountId ? -1 : 1))
    },
    async scanAccounts(page) {
      // A scan of the whole keyspace per page (no index of accounts in key order): for `reencryptAccounts` and
      // `refreshExpiring`, jobs that page through every account anyway.
      const rows: StoredAccountRow[] = []
      for (const keys of batches(await allAccountKeys())) {
        const values = await client.mget(...keys)
        for (const [i, raw] of values.entries()) {
          const account = parseAccount(raw)
          if (account && storedUnder(keys[i]!, account)) rows.push(storedRow(account))
        }
      }
      // One row per key in this layout: no tie to break.
      return pageOfKeys(rows, page, () => 0)
    },
    async listReauthMarks(page): Promise<ReauthMark[]> {
      // Projected in Redis (a script per batch): the listing never reads a token into this process.
      const candidates: MarkCandidate[] = []
      for (const keys of batches(await allAccountKeys())) {
        const projected = (await run(PROJECT_MARKS, keys, [page.column])) as (string | false | null)[]
        for (const [i, json] of projected.entries()) {
          if (typeof json !== "string") continue
          const [provider, providerAccountId, userId, mark] = JSON.parse(json) as unknown[]
          const account = { provider, providerAccountId }
          if (!storedUnder(keys[i]!, account) || userId === undefined || userId === null) continue
          candidates.push({
            provider: provider as string,
            providerAccountId: String(providerAccountId),
            userId: String(userId),
            mark,
          })
        }
      }
      return reauthMarksPage(candidates, page)
    },
  }
}

/**
 * The account store for `@auth/unstorage-adapter` on unstorage's Redis driver (or, with `layout: "upstash"`,
 * for `@auth/upstash-redis-adapter`'s keys through a Redis-protocol client). A store without transactions:
 * pass `refresh: { coordination: "lease" }` to `withTokenSync` (lock mode is refused for it).
 *
 * @param client The ioredis client (unstorage's driver: `storage.getMount("").driver.getInstance()`).
 * @param options The driver's `base`, the adapter's key prefixes, the lease prefix and bounds.
 * @returns The store, to pass as `withTokenSync`'s second argument.
 * @throws InvalidOptionsError for a client without the commands used, or an option out of range.
 * @example
 * ```ts
 * const driver = redisDriver({ url, base: "app" })
 * const storage = createStorage({ driver })
 * const adapter = withTokenSync(
 *   UnstorageAdapter(storage),
 *   redisAccountStore(driver.getInstance(), { base: "app" }),
 *   { refresh: { coordination: "lease" } },
 * )
 * ```
 */
export function redisAccountStore(client: RedisClientLike, options: RedisAccountStoreOptions = {}): AccountStore {
  return leaseLockedAccountStore(redisAccountStoreParts(client, options), {
    ...(options.lockLeaseMs !== undefined ? { lockLeaseMs: options.lockLeaseMs } : {}),
    ...(options.lockTimeoutMs !== undefined ? { lockTimeoutMs: options.lockTimeoutMs } : {}),
  })
}
