/**
 * getAccessToken's fast path (refresh/fast-path.ts): the row a question names, the freshness rule, and the step
 * taken from a row read without a lock. The engine's kept tokens and memory are fakes that hold what the test
 * gives them (named `*Fake`); no database, no provider.
 */
import { describe, expect, test } from "@jest/globals"
import type { StoredView } from "../../src/account-sync.js"
import type { AdapterAccount } from "../../src/authjs-types.js"
import { AccountNotLinkedError, AmbiguousAccountError, RefreshTokenError } from "../../src/errors.js"
import type { TokenSet } from "../../src/policy/merge.js"
import type { StoredAccountRow } from "../../src/store.js"
import { accountRowOf, fastPathStep, freshTokensOf, type FastPathContext } from "../../src/refresh/fast-path.js"
import type { KeptTokens } from "../../src/refresh/issued-tokens.js"
import { RefusedTokenInterval } from "../../src/refresh/refused-token.js"

const NOW_MS = 1_700_000_000_000
const nowS = NOW_MS / 1000
const key = { provider: "acme", providerAccountId: "p1" }
const id = "acme\u001fp1"
const rowOf = (providerAccountId: string, tokens: TokenSet = {}): StoredAccountRow =>
  ({ userId: "u1", type: "oauth", provider: "acme", providerAccountId, tokens }) as StoredAccountRow
const viewOf = (tokens: TokenSet): StoredView => ({ row: rowOf("p1", tokens), tokens })
const live = { access_token: "a1", refresh_token: "r1", expires_at: nowS + 3_600 }
const expired = { access_token: "a1", refresh_token: "r1", expires_at: nowS - 10 }

/** The engine's parts as fakes: `kept` holds `entry`, `refused` names the refresh tokens known dead. */
function contextFake(options: { entry?: KeptTokens; writable?: boolean; refused?: string[]; expired?: boolean } = {}) {
  let entry = options.entry
  const dropped: string[] = []
  const context: FastPathContext = {
    kept: {
      get: () => entry,
      drop: (dropId) => {
        dropped.push(dropId)
        entry = undefined
      },
      accountOf: (kept) => ({ ...kept.tokens }) as unknown as AdapterAccount,
      writable: () => options.writable ?? true,
    },
    reauth: {
      knownRefused: (_id, tokens) => (options.refused ?? []).includes(tokens.refresh_token as string),
      markedError: () => new RefreshTokenError("acme", "marked"),
      expiredError: () => new RefreshTokenError("acme", "expired"),
    },
    refusedInterval: new RefusedTokenInterval(30_000, () => NOW_MS),
    freshTokens: freshTokensOf(60, () => NOW_MS),
    knownExpired: () => options.expired ?? false,
    fromKept: (_provider, kept) => ({
      accessToken: kept.tokens.access_token as string,
      account: {} as AdapterAccount,
      refreshed: false,
    }),
    toAdapterAccount: (view) => ({ providerAccountId: view.row.providerAccountId }) as unknown as AdapterAccount,
  }
  return { context, dropped }
}
const keptOf = (from: TokenSet, tokens: TokenSet): KeptTokens => ({
  from: { access_token: (from.access_token as string) ?? null, refresh_token: (from.refresh_token as string) ?? null },
  base: viewOf(from),
  tokens,
  attempts: 1,
  lastFailure: {},
})

describe("accountRowOf", () => {
  test("the one row, by providerAccountId when given", () => {
    const rows = [rowOf("p1"), rowOf("p2")]
    expect(accountRowOf([rowOf("p1")], "acme", undefined).providerAccountId).toBe("p1")
    expect(accountRowOf(rows, "acme", "p2").providerAccountId).toBe("p2")
  })

  test("none is AccountNotLinkedError, several AmbiguousAccountError", () => {
    expect(() => accountRowOf([], "acme", undefined)).toThrow(AccountNotLinkedError)
    expect(() => accountRowOf([rowOf("p1")], "acme", "p2")).toThrow(AccountNotLinkedError)
    expect(() => accountRowOf([rowOf("p1"), rowOf("p2")], "acme", undefined)).toThrow(AmbiguousAccountError)
  })
})

describe("freshTokensOf", () => {
  const fresh = freshTokensOf(60, () => NOW_MS)
  test("a non-empty access token that does not expire within the skew", () => {
    expect(fresh({ access_token: "a", expires_at: nowS + 61 })).toBe(true)
    expect(fresh({ access_token: "a", expires_at: nowS + 59 })).toBe(false)
    expect(fresh({ access_token: "", expires_at: nowS + 3_600 })).toBe(false)
    expect(fresh({ expires_at: nowS + 3_600 })).toBe(false)
  })
  test("judged at the clock given (the store's) when one is", () => {
    expect(fresh({ access_token: "a", expires_at: nowS + 61 }, NOW_MS + 10_000)).toBe(false)
  })
})

describe("fastPathStep", () => {
  test("a fresh row is served as stored", () => {
    const step = fastPathStep(contextFake().context, id, key, viewOf(live), undefined)
    expect(step).toEqual({
      step: "serve",
      result: { accessToken: "a1", account: { providerAccountId: "p1" }, refreshed: false },
    })
  })

  test("an expired row goes to the flight; a dead, expired or missing refresh token is refused without one", () => {
    expect(fastPathStep(contextFake().context, id, key, viewOf(expired), undefined)).toEqual({ step: "refresh" })
    const refused = contextFake({ refused: ["r1"] }).context
    expect(() => fastPathStep(refused, id, key, viewOf(expired), undefined)).toThrow(
      expect.objectContaining({ reason: "marked" }),
    )
    const past = contextFake({ expired: true }).context
    expect(() => fastPathStep(past, id, key, viewOf(expired), undefined)).toThrow(
      expect.objectContaining({ reason: "expired" }),
    )
    const none = { access_token: "a1", expires_at: nowS - 10 }
    expect(() => fastPathStep(contextFake().context, id, key, viewOf(none), undefined)).toThrow(
      expect.objectContaining({ reason: "missing_refresh_token" }),
    )
  })

  test("kept tokens the row moved past are dropped; kept tokens still current go to the flight to be written", () => {
    const moved = contextFake({ entry: keptOf({ access_token: "old", refresh_token: "r0" }, live) })
    expect(fastPathStep(moved.context, id, key, viewOf(live), undefined)).toMatchObject({ step: "serve" })
    expect(moved.dropped).toEqual([id])
    const current = contextFake({ entry: keptOf(expired, { access_token: "a2", expires_at: nowS + 3_600 }) })
    expect(fastPathStep(current.context, id, key, viewOf(expired), undefined)).toEqual({ step: "refresh" })
    expect(current.dropped).toEqual([])
  })

  test("kept tokens that can no longer be written are served from memory while fresh", () => {
    const kept = keptOf(expired, { access_token: "a2", expires_at: nowS + 3_600 })
    const { context } = contextFake({ entry: kept, writable: false })
    expect(fastPathStep(context, id, key, viewOf(expired), undefined)).toMatchObject({
      step: "serve",
      result: { accessToken: "a2" },
    })
  })

  test("a refused token still in the row goes to the refused token's flight, even while it looks fresh", () => {
    const step = fastPathStep(contextFake().context, id, key, viewOf(live), "a1")
    expect(step).toMatchObject({ step: "refused", refusal: { id, provider: "acme", refused: "a1" } })
  })

  test("a refused token the row no longer holds: the row is served", () => {
    expect(fastPathStep(contextFake().context, id, key, viewOf(live), "a0")).toMatchObject({ step: "serve" })
  })

  test("a refused, expired token whose refresh token is known dead is refused without a flight", () => {
    const { context } = contextFake({ refused: ["r1"] })
    expect(() => fastPathStep(context, id, key, viewOf(expired), "a1")).toThrow(
      expect.objectContaining({ reason: "marked" }),
    )
  })
})
