/**
 * A store failure before the provider was called (refresh/store-failure.ts): the lock timeout and a start that
 * never came as `RefreshLockTimeoutError` with what was waited for, typed errors unchanged, the rest wrapped.
 * No database.
 */
import { describe, expect, test } from "@jest/globals"
import { AccountNotLinkedError, AccountStoreError, RefreshLockTimeoutError } from "../../src/errors.js"
import { StartTimeout } from "../../src/refresh/coordination.js"
import { storeFailureOf } from "../../src/refresh/store-failure.js"

const storeError = storeFailureOf("fake", 1_000)

describe("storeFailureOf", () => {
  test("the store's lock timeout is a lock wait, bounded by the caller's lock bound", () => {
    const busy = new AccountStoreError("fake", "withAccountLock", undefined, { lockTimeout: true })
    expect(storeError(busy, "acme")).toMatchObject({ provider: "acme", lockTimeoutMs: 1_000, waitedFor: "lock" })
    expect(storeError(busy, "acme", 50)).toMatchObject({ lockTimeoutMs: 50, waitedFor: "lock" })
    expect(storeError(busy, "acme")).toBeInstanceOf(RefreshLockTimeoutError)
  })

  test("a start that never came is a wait for a connection or the lock, twice the lock bound", () => {
    const error = storeError(new StartTimeout(), "acme", 300)
    expect(error).toBeInstanceOf(RefreshLockTimeoutError)
    expect(error).toMatchObject({ lockTimeoutMs: 600, waitedFor: "connection_or_lock" })
  })

  test("typed errors pass unchanged; anything else is an AccountStoreError naming the store", () => {
    const typed = new AccountNotLinkedError("acme")
    expect(storeError(typed, "acme")).toBe(typed)
    const wrapped = storeError(new Error("connection reset"), "acme")
    expect(wrapped).toBeInstanceOf(AccountStoreError)
    expect(wrapped).toMatchObject({ store: "fake", lockTimeout: false })
  })
})
