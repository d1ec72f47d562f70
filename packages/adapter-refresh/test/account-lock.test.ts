/**
 * The account lock as the sync takes it (src/account-lock.ts), over a fake store: the lock wait published on
 * its channel, a store's failure wrapped, typed errors passed through, writes counted. No database.
 */
import diagnostics from "node:diagnostics_channel"
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals"
import { counting, underAccountLock, type WriteCounts } from "../src/account-lock.js"
import { AccountBusyError, AccountStoreError } from "../src/errors.js"
import { TOKEN_SYNC_CHANNELS, type LockWaitEvent } from "../src/observability.js"
import type { AccountStore, LockedAccount } from "../src/store.js"

const key = { provider: "acme", providerAccountId: "p1" }
const lockedAccount: LockedAccount = {
  readAll: async () => [],
  userExists: async () => true,
  insert: async () => undefined,
  update: async () => undefined,
}
const storeOf = (withAccountLock: AccountStore["withAccountLock"]): Pick<AccountStore, "name" | "withAccountLock"> => ({
  name: "fake",
  withAccountLock,
})

let events: LockWaitEvent[] = []
const listener = (event: unknown): void => void events.push(event as LockWaitEvent)
beforeEach(() => {
  events = []
  diagnostics.subscribe(TOKEN_SYNC_CHANNELS.lockWait, listener)
})
afterEach(() => void diagnostics.unsubscribe(TOKEN_SYNC_CHANNELS.lockWait, listener))

describe("underAccountLock", () => {
  test("runs the work under the lock and publishes the wait as acquired", async () => {
    const store = storeOf(async (_key, work) => work(lockedAccount))
    expect(await underAccountLock(store, key, async () => "done", undefined, "refresh")).toBe("done")
    expect(events).toEqual([
      { store: "fake", provider: "acme", purpose: "refresh", waitMs: expect.any(Number), outcome: "acquired" },
    ])
  })

  test("a lock not granted: the wait published as failed, the store's error wrapped", async () => {
    const cause = new Error("connection refused")
    const store = storeOf(async () => Promise.reject(cause))
    const failure = underAccountLock(store, key, async () => "never", undefined, "sync")
    await expect(failure).rejects.toBeInstanceOf(AccountStoreError)
    await expect(failure).rejects.not.toBe(cause)
    expect(events).toEqual([expect.objectContaining({ purpose: "sync", outcome: "failed" })])
  })

  test("a typed error from the work passes through; the wait was acquired, so no failed event", async () => {
    const busy = new AccountBusyError("acme", 10)
    const store = storeOf(async (_key, work) => work(lockedAccount))
    await expect(underAccountLock(store, key, async () => Promise.reject(busy), undefined, "sync")).rejects.toBe(busy)
    expect(events.map((event) => event.outcome)).toEqual(["acquired"])
  })

  test("with counts, the writes made under the lock are counted", async () => {
    const counts: WriteCounts = { inserts: 0, updates: 0 }
    const store = storeOf(async (_key, work) => work(lockedAccount))
    await underAccountLock(
      store,
      key,
      async (account) => {
        await account.insert({ ...key, userId: "u1", type: "oauth", tokens: {} })
        await account.update({ tokens: {} }, { userId: "u1" })
        await account.update({ tokens: {} }, { userId: "u1" })
        await account.readAll()
      },
      undefined,
      "sync",
      counts,
    )
    expect(counts).toEqual({ inserts: 1, updates: 2 })
  })

  test("counting passes every call through", async () => {
    const counts: WriteCounts = { inserts: 0, updates: 0 }
    const account = counting({ ...lockedAccount, userExists: async (userId) => userId === "u1" }, counts)
    expect(await account.userExists("u1")).toBe(true)
    expect(await account.userExists("u2")).toBe(false)
    expect(counts).toEqual({ inserts: 0, updates: 0 })
  })
})
