/**
 * The pure parts of the refused-token path (refresh/refused-token.ts): the per-process interval on an
 * injected clock, and the refresh mode's compare and interval check. The database and provider side is
 * tested end to end in the tests package (test/refresh/refused-token.test.ts).
 */
import { describe, expect, test } from "@jest/globals"
import { AccessTokenRefusedError } from "../../src/errors.js"
import type { TokenSet } from "../../src/policy/merge.js"
import type { RefreshMode } from "../../src/refresh/engine-types.js"
import { refusedModeOf, RefusedTokenInterval, reissuedError } from "../../src/refresh/refused-token.js"

const base: RefreshMode = {
  done: (current) => typeof current.access_token === "string",
  lockOptions: { lockTimeoutMs: 1, transactionTimeoutMs: 1 },
  leaseWait: true,
}
const stored = undefined as never

describe("refused token: the interval and the mode", () => {
  test("the interval holds for intervalMs after a start, per account, then frees itself", () => {
    let now = 1_000
    const interval = new RefusedTokenInterval(30_000, () => now)
    expect(interval.remainingMs("a")).toBe(0)
    interval.start("a")
    now += 10_000
    expect(interval.remainingMs("a")).toBe(20_000)
    expect(interval.remainingMs("b")).toBe(0)
    now += 20_000
    expect(interval.remainingMs("a")).toBe(0)
  })

  test("an interval of 0 never holds", () => {
    const interval = new RefusedTokenInterval(0, () => 5)
    interval.start("a")
    expect(interval.remainingMs("a")).toBe(0)
  })

  test("done only once the row holds another token; beforeSend checks and starts the interval for a fresh refused token", () => {
    let now = 0
    const interval = new RefusedTokenInterval(1_000, () => now)
    const fresh = (tokens: TokenSet): boolean => tokens.expires_at === "later"
    const context = { id: "a", provider: "p", refused: "R", interval, freshTokens: fresh }
    const mode = refusedModeOf(base, context)
    expect(mode.done({ access_token: "R", expires_at: "later" } as TokenSet, stored)).toBe(false)
    expect(mode.done({ access_token: "N", expires_at: "later" } as TokenSet, stored)).toBe(true)
    // An expiring refused token is an ordinary refresh: no interval checked or started.
    expect(mode.beforeSend!({ access_token: "R", expires_at: "soon" } as TokenSet)).toBeUndefined()
    expect(interval.remainingMs("a")).toBe(0)
    expect(mode.beforeSend!({ access_token: "R", expires_at: "later" } as TokenSet)).toBeUndefined()
    now = 400
    const error = mode.beforeSend!({ access_token: "R", expires_at: "later" } as TokenSet)
    expect(error).toBeInstanceOf(AccessTokenRefusedError)
    expect(error).toMatchObject({ code: "ACCESS_TOKEN_REFUSED", reason: "interval", retryAfterMs: 600 })
    expect(reissuedError(context)).toMatchObject({ reason: "reissued", providerCalled: true, retryAfterMs: 600 })
  })
})
