/**
 * leaseLockedAccountStore (lease-locked-store.ts) without a database: the composer's own logic over in-memory
 * parts (one process; what holds across processes is proven by the kit on the autocommit reference store,
 * packages/adapter-refresh-tests/test/cells/autocommit-pg). Fenced writes, bounded polling, the typed busy
 * and lost values, release on every path, and the refusal of lock mode.
 */
import { describe, expect, test } from "@jest/globals"
import {
  AccountLockLostError,
  AccountStoreError,
  InvalidOptionsError,
  leaseLockedAccountStore,
  withTokenSync,
  type AccountKey,
  type AccountLeases,
  type AccountLockLeases,
  type HeldLease,
  type LeaseLockedStoreParts,
} from "../src/index.js"

const KEY: AccountKey = { provider: "p", providerAccountId: "a" }

/** In-memory parts: one lock lease per key on the process clock, fenced writes recorded. */
function memoryParts() {
  const locks = new Map<string, { fence: number; holder: string; until: number }>()
  const writes: { kind: string; fence: string }[] = []
  const calls = { takes: 0, releases: 0 }
  const id = (key: AccountKey) => `${key.provider}/${key.providerAccountId}`
  const holds = (key: AccountKey, lease: HeldLease) => {
    const lock = locks.get(id(key))
    return !!lock && String(lock.fence) === lease.fence && lock.holder === lease.holder && lock.until > Date.now()
  }
  const lockLeases: AccountLockLeases = {
    async take(key, holder, durationMs) {
      calls.takes++
      const lock = locks.get(id(key))
      if (lock && lock.until > Date.now()) return { taken: false, remainingMs: lock.until - Date.now() }
      const fence = (lock?.fence ?? 0) + 1
      locks.set(id(key), { fence, holder, until: Date.now() + durationMs })
      return { taken: true, lease: { fence: String(fence), holder }, remainingMs: durationMs }
    },
    async release(key, lease) {
      calls.releases++
      if (holds(key, lease)) locks.get(id(key))!.until = 0
    },
  }
  const leases: AccountLeases = {
    take: async () => ({ taken: false, remainingMs: null, rows: [], nowMs: Date.now() }),
    renew: async () => null,
    release: async () => undefined,
  }
  const parts: LeaseLockedStoreParts = {
    name: "memory",
    linkAccountResult: "inserted-row",
    locks: lockLeases,
    leases,
    readAll: async () => [],
    userExists: async () => true,
    async insert(row, lease) {
      if (!holds(row, lease)) return { held: false }
      writes.push({ kind: "insert", fence: lease.fence })
      return { held: true, row: { id: 1 } }
    },
    async update(key, _patch, _scope, lease) {
      if (!holds(key, lease)) return { held: false }
      writes.push({ kind: "update", fence: lease.fence })
      return { held: true }
    },
    findAccounts: async () => [],
  }
  /** Another process holds the key's lock lease for `ms`. */
  const holdElsewhere = (ms: number) => locks.set(id(KEY), { fence: 99, holder: "other", until: Date.now() + ms })
  return { parts, writes, calls, holdElsewhere, locks }
}

const row = (key: AccountKey = KEY) => ({ ...key, userId: "u1", type: "oidc", tokens: { access_token: "at.secret" } })

describe("leaseLockedAccountStore", () => {
  test("runs the work under the key's lock lease, its writes carry that fence, and releases it after", async () => {
    const { parts, writes, calls, locks } = memoryParts()
    const store = leaseLockedAccountStore(parts)
    expect(store.coordination).toBe("lease")
    expect(store.leases).toBe(parts.leases)
    const inserted = await store.withAccountLock(KEY, async (account) => {
      const result = await account.insert(row())
      await account.update({ tokens: { access_token: "at.2" } }, { userId: "u1" })
      return result
    })
    expect(inserted).toEqual({ id: 1 })
    expect(writes).toEqual([
      { kind: "insert", fence: "1" },
      { kind: "update", fence: "1" },
    ])
    expect(calls).toEqual({ takes: 1, releases: 1 })
    // Released: the next take gets it at once, with a larger fence.
    expect(locks.get("p/a")!.until).toBe(0)
    await store.withAccountLock(KEY, (account) => account.update({ tokens: {} }, { userId: "u1" }))
    expect(writes.at(-1)).toEqual({ kind: "update", fence: "2" })
  })

  test("releases when the work throws, and rethrows the same error", async () => {
    const { parts, calls } = memoryParts()
    const store = leaseLockedAccountStore(parts)
    const boom = new Error("boom")
    await expect(store.withAccountLock(KEY, async () => Promise.reject(boom))).rejects.toBe(boom)
    expect(calls.releases).toBe(1)
  })

  test("a lock lease held elsewhere past lockTimeoutMs: the typed busy value, after polling, within the bound", async () => {
    const { parts, calls, holdElsewhere } = memoryParts()
    holdElsewhere(10_000)
    const store = leaseLockedAccountStore(parts)
    const started = performance.now()
    const error = await store.withAccountLock(KEY, async () => "ran", { lockTimeoutMs: 150 }).catch((e: unknown) => e)
    const waited = performance.now() - started
    expect(error).toBeInstanceOf(AccountStoreError)
    expect((error as AccountStoreError).lockTimeout).toBe(true)
    expect(error).not.toBeInstanceOf(AccountLockLostError)
    expect(calls.takes).toBeGreaterThan(2)
    expect(waited).toBeGreaterThanOrEqual(140)
    expect(waited).toBeLessThan(1_000)
  })

  test("lockTimeoutMs 0 takes once and does not wait", async () => {
    const { parts, calls, holdElsewhere } = memoryParts()
    holdElsewhere(10_000)
    const error = await leaseLockedAccountStore(parts)
      .withAccountLock(KEY, async () => "ran", { lockTimeoutMs: 0 })
      .catch((e: unknown) => e)
    expect((error as AccountStoreError).lockTimeout).toBe(true)
    expect(calls.takes).toBe(1)
  })

  test("a lease that ends elsewhere within the wait is taken (polling follows the remaining time)", async () => {
    const { parts, holdElsewhere } = memoryParts()
    holdElsewhere(120)
    const started = performance.now()
    const result = await leaseLockedAccountStore(parts).withAccountLock(KEY, async () => "ran", {
      lockTimeoutMs: 2_000,
    })
    expect(result).toBe("ran")
    expect(performance.now() - started).toBeLessThan(1_000)
  })

  test("a write after the lock lease ended is refused: AccountLockLostError, nothing written, no token in the message", async () => {
    const { parts, writes } = memoryParts()
    const store = leaseLockedAccountStore(parts, { lockLeaseMs: 50 })
    const error = await store
      .withAccountLock(KEY, async (account) => {
        await new Promise((resolve) => setTimeout(resolve, 120)) // stalled past the lease
        await account.update({ tokens: { access_token: "at.secret" } }, { userId: "u1" })
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AccountLockLostError)
    expect(error).toBeInstanceOf(AccountStoreError)
    expect((error as AccountLockLostError).lockLost).toBe(true)
    expect((error as AccountLockLostError).lockTimeout).toBe(false)
    expect((error as AccountLockLostError).code).toBe("ACCOUNT_STORE_FAILED")
    expect(String((error as Error).message)).not.toContain("at.secret")
    expect(writes).toEqual([])
  })

  test("an insert of another key than the locked one is refused before it is sent", async () => {
    const { parts, writes } = memoryParts()
    const error = await leaseLockedAccountStore(parts)
      .withAccountLock(KEY, (account) => account.insert(row({ provider: "p", providerAccountId: "other" })))
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RangeError)
    expect(writes).toEqual([])
  })

  test("a LockedAccount kept past its callback refuses to run", async () => {
    const { parts, writes } = memoryParts()
    const kept = await leaseLockedAccountStore(parts).withAccountLock(KEY, async (account) => account)
    await expect(kept.update({ tokens: {} }, { userId: "u1" })).rejects.toThrow(/after its withAccountLock/)
    expect(writes).toEqual([])
  })

  test("a caller that stopped waiting (signal aborted) gets nothing taken", async () => {
    const { parts, calls } = memoryParts()
    const controller = new AbortController()
    controller.abort()
    await expect(
      leaseLockedAccountStore(parts).withAccountLock(KEY, async () => "ran", { signal: controller.signal }),
    ).rejects.toThrow()
    expect(calls.takes).toBe(0)
  })

  test("refuses missing parts, one namespace for both leases, and options out of range, with InvalidOptionsError", () => {
    const { parts } = memoryParts()
    const bad: [Partial<LeaseLockedStoreParts>, string][] = [
      [{ name: "" }, "parts.name"],
      [{ update: undefined as never }, "parts.update"],
      [{ locks: undefined as never }, "parts.locks"],
      [{ leases: undefined as never }, "parts.leases"],
      [{ locks: parts.leases as unknown as AccountLockLeases }, "parts.locks"],
    ]
    for (const [change, option] of bad) {
      const error = (() => {
        try {
          leaseLockedAccountStore({ ...parts, ...change })
        } catch (e) {
          return e
        }
      })()
      expect(error).toBeInstanceOf(InvalidOptionsError)
      expect((error as InvalidOptionsError).option).toBe(option)
    }
    expect(() => leaseLockedAccountStore(parts, { lockLeaseMs: 0 })).toThrow(InvalidOptionsError)
    expect(() => leaseLockedAccountStore(parts, { lockTimeoutMs: -1 })).toThrow(InvalidOptionsError)
  })

  test("withTokenSync refuses lock mode for such a store at construction, and takes lease mode", () => {
    const { parts } = memoryParts()
    const store = leaseLockedAccountStore(parts)
    const adapter = { linkAccount: async () => undefined, getUserByAccount: async () => null }
    const provider = {
      id: "op",
      type: "oidc" as const,
      issuer: "https://op.example.test",
      clientId: "c",
      clientSecret: "s",
    }
    for (const coordination of [undefined, "lock"] as const) {
      const error = (() => {
        try {
          withTokenSync(adapter, store, {
            refresh: { providers: [provider], ...(coordination ? { coordination } : {}) },
          })
        } catch (e) {
          return e
        }
      })()
      expect(error).toBeInstanceOf(InvalidOptionsError)
      expect((error as InvalidOptionsError).option).toBe("refresh.coordination")
    }
    expect(() =>
      withTokenSync(adapter, store, { refresh: { providers: [provider], coordination: "lease" } }),
    ).not.toThrow()
    // Without refresh nothing runs a request under the lock: sign-ins only.
    expect(() => withTokenSync(adapter, store)).not.toThrow()
  })
})
