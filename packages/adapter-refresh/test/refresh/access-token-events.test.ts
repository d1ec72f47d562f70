/**
 * What one getAccessToken call publishes (refresh/access-token-events.ts), on the real diagnostics channels:
 * its outcome (cached, refreshed, fresh, not persisted) and, when it fails, the failure with its code. No
 * database: `serve` is the call's answer, given.
 */
import diagnostics from "node:diagnostics_channel"
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals"
import type { AdapterAccount } from "../../src/authjs-types.js"
import { AccountNotLinkedError, RefreshPersistError } from "../../src/errors.js"
import { TOKEN_SYNC_CHANNELS } from "../../src/observability.js"
import { observeAccessToken } from "../../src/refresh/access-token-events.js"
import type { AccessTokenResult } from "../../src/refresh/engine-types.js"

const params = { userId: "u1", provider: "acme" }
const resultOf = (extra: Partial<AccessTokenResult> = {}): AccessTokenResult => ({
  accessToken: "at",
  account: { provider: "acme" } as AdapterAccount,
  refreshed: false,
  ...extra,
})

let accessTokens: unknown[] = []
let failures: unknown[] = []
const onAccessToken = (event: unknown): void => void accessTokens.push(event)
const onFailure = (event: unknown): void => void failures.push(event)
beforeEach(() => {
  accessTokens = []
  failures = []
  diagnostics.subscribe(TOKEN_SYNC_CHANNELS.accessToken, onAccessToken)
  diagnostics.subscribe(TOKEN_SYNC_CHANNELS.failure, onFailure)
})
afterEach(() => {
  diagnostics.unsubscribe(TOKEN_SYNC_CHANNELS.accessToken, onAccessToken)
  diagnostics.unsubscribe(TOKEN_SYNC_CHANNELS.failure, onFailure)
})

describe("observeAccessToken", () => {
  test("publishes each outcome and returns the result", async () => {
    const fresh = resultOf()
    expect(await observeAccessToken("fake", params, async () => ({ result: fresh, cached: false }))).toBe(fresh)
    await observeAccessToken("fake", params, async () => ({ result: resultOf(), cached: true }))
    await observeAccessToken("fake", params, async () => ({ result: resultOf({ refreshed: true }), cached: false }))
    const unwritten = resultOf({ refreshed: true, persistError: new RefreshPersistError("acme", {}, 1, 3) })
    await observeAccessToken("fake", params, async () => ({ result: unwritten, cached: false }))
    const base = { store: "fake", provider: "acme", durationMs: expect.any(Number) }
    expect(accessTokens).toEqual([
      { ...base, outcome: "fresh", notPersisted: false },
      { ...base, outcome: "cached", notPersisted: false },
      { ...base, outcome: "refreshed", notPersisted: false },
      { ...base, outcome: "refreshed", notPersisted: true },
    ])
    expect(failures).toEqual([])
  })

  test("a failure is published on both channels with its code, and thrown as it was", async () => {
    const error = new AccountNotLinkedError("acme")
    await expect(observeAccessToken("fake", params, () => Promise.reject(error))).rejects.toBe(error)
    expect(accessTokens).toEqual([
      {
        store: "fake",
        provider: "acme",
        outcome: "failed",
        notPersisted: false,
        durationMs: expect.any(Number),
        errorCode: "ACCOUNT_NOT_LINKED",
      },
    ])
    expect(failures).toEqual([
      {
        operation: "access-token",
        store: "fake",
        provider: "acme",
        errorCode: "ACCOUNT_NOT_LINKED",
        errorName: "AccountNotLinkedError",
      },
    ])
  })
})
