/**
 * The steps both coordination modes share (refresh/outcomes.ts), over an in-memory context: the checks on the
 * row read under the lock or lease, the reading of an answer, and the outcomes served. No database and no
 * provider: the kept tokens, the sync and the clock are fakes.
 */
import { describe, expect, test } from "@jest/globals"
import type { StoredView } from "../../src/account-sync.js"
import type { AdapterAccount } from "../../src/authjs-types.js"
import {
  AccessTokenRefusedError,
  AccountNotLinkedError,
  ProviderUnavailableError,
  RefreshPersistError,
  RefreshTokenError,
} from "../../src/errors.js"
import type { TokenSet } from "../../src/policy/merge.js"
import type { RefreshMode } from "../../src/refresh/engine-types.js"
import { versionOf, type KeptTokens } from "../../src/refresh/issued-tokens.js"
import {
  answered,
  checkStored,
  failed,
  fromKept,
  issuedEntry,
  readAnswer,
  success,
  type OutcomeContext,
} from "../../src/refresh/outcomes.js"
import { ReauthMemory } from "../../src/refresh/reauth-memory.js"

const key = { provider: "acme", providerAccountId: "p1" }
const id = "acme\u001fp1"
const NOW = 1_700_000_000_000
const nowSeconds = NOW / 1000

const viewOf = (tokens: TokenSet, userId = "u1"): StoredView =>
  ({
    row: { userId, type: "oauth", provider: "acme", providerAccountId: "p1", tokens },
    tokens,
  }) as unknown as StoredView
const accountOf = (view: StoredView): AdapterAccount =>
  ({ ...view.row, ...view.tokens, tokens: undefined }) as unknown as AdapterAccount

/** A context over plain maps: kept tokens by id, a fixed clock. */
function contextOf(reauthColumn?: string) {
  const keptById = new Map<string, KeptTokens>()
  const context: OutcomeContext = {
    sync: { columns: ["access_token", "refresh_token", "expires_at", "scope"], toAdapterAccount: accountOf },
    kept: {
      get: (kid) => keptById.get(kid),
      drop: (kid) => void keptById.delete(kid),
      accountOf: (entry) => accountOf({ row: entry.base.row, tokens: { ...entry.base.tokens, ...entry.tokens } }),
    },
    reauth: new ReauthMemory("test-store", reauthColumn),
    reauthColumn,
    skewSeconds: 60,
    minRefreshIntervalSeconds: 60,
    now: () => NOW,
  }
  return { context, keptById }
}

const freshMode: RefreshMode = {
  done: (current) => typeof current.expires_at === "number" && current.expires_at > nowSeconds + 60,
  lockOptions: { lockTimeoutMs: 1, transactionTimeoutMs: 1 },
  leaseWait: true,
}
const expired: TokenSet = { access_token: "a1", refresh_token: "r1", expires_at: nowSeconds - 10 }
const fresh: TokenSet = { access_token: "a2", refresh_token: "r2", expires_at: nowSeconds + 3600 }

describe("checkStored", () => {
  test("no row, or another user's row: not linked", () => {
    const { context } = contextOf()
    for (const stored of [null, viewOf(expired, "u2")]) {
      const checked = checkStored(context, id, key, "u1", stored, freshMode)
      expect("outcome" in checked && !checked.outcome.ok && checked.outcome.error).toBeInstanceOf(AccountNotLinkedError)
    }
  })

  test("a fresh row (another process refreshed meanwhile) is served as is, not refreshed", () => {
    const { context } = contextOf()
    const checked = checkStored(context, id, key, "u1", viewOf(fresh), freshMode)
    expect(checked).toEqual({
      outcome: { ok: true, result: expect.objectContaining({ accessToken: "a2", refreshed: false }) },
    })
  })

  test("an expired row: what to send, read from the row", () => {
    const { context } = contextOf()
    const stored = viewOf(expired)
    expect(checkStored(context, id, key, "u1", stored, freshMode)).toEqual({
      stored,
      entry: undefined,
      current: expired,
      refreshToken: "r1",
    })
  })

  test("kept tokens apply while the row holds what they were refreshed from, and are dropped once it moved on", () => {
    const { context, keptById } = contextOf()
    const stored = viewOf(expired)
    const entry = issuedEntry(stored, { access_token: "k", refresh_token: "rk", expires_at: nowSeconds + 3600 })
    keptById.set(id, entry)
    const checked = checkStored(context, id, key, "u1", stored, freshMode)
    // Fresh through the kept tokens: served from them, with the persist error saying they are not stored.
    expect("outcome" in checked && checked.outcome.ok && checked.outcome.result).toMatchObject({
      accessToken: "k",
      refreshed: false,
      persistError: expect.any(RefreshPersistError),
    })

    const moved = viewOf({ ...expired, access_token: "other", refresh_token: "r9" })
    const after = checkStored(context, id, key, "u1", moved, freshMode)
    expect(keptById.has(id)).toBe(false)
    expect(after).toMatchObject({ entry: undefined, refreshToken: "r9" })
  })

  test("a refresh token known dead is not sent; none at all is missing; beforeSend may stop it", () => {
    const { context } = contextOf()
    context.reauth.rememberRefused(id, "r1")
    const dead = checkStored(context, id, key, "u1", viewOf(expired), freshMode)
    expect("outcome" in dead && !dead.outcome.ok && dead.outcome.error).toMatchObject({ reason: "marked" })

    const missing = checkStored(context, id, key, "u1", viewOf({ ...expired, refresh_token: null }), freshMode)
    expect("outcome" in missing && !missing.outcome.ok && missing.outcome.error).toMatchObject({
      reason: "missing_refresh_token",
    })

    const stop = new AccessTokenRefusedError("acme", "interval", 5)
    const stopped = checkStored(context, "other", key, "u1", viewOf(expired), { ...freshMode, beforeSend: () => stop })
    expect(stopped).toEqual({ outcome: { ok: false, error: stop } })
  })
})

describe("answers and outcomes", () => {
  test("readAnswer reads the body with the skew and interval floor, over kept tokens, never the reserved column", () => {
    const { context } = contextOf("reauth")
    context.sync = { ...context.sync, columns: [...context.sync.columns, "reauth"] }
    const body = { access_token: "n", expires_in: 0, token_type: "Bearer", reauth: "x" }
    const reading = readAnswer(context, { body, idTokenValid: true }, undefined)
    expect(reading.accessToken).toBe("n")
    // expires_in 0: no earlier than now + skew + the shortest interval.
    expect(reading.tokens.expires_at).toBe(nowSeconds + 120)
    expect(reading.tokens.reauth).toBeUndefined()

    const entry = issuedEntry(viewOf(expired), { refresh_token: "kept-rt", scope: "a" })
    const over = readAnswer(context, { body: { access_token: "n2", expires_in: 3600 }, idTokenValid: true }, entry)
    expect(over.tokens).toMatchObject({ access_token: "n2", refresh_token: "kept-rt", scope: "a" })
  })

  test("issuedEntry remembers the version refreshed from; fromKept serves it with a persist error", () => {
    const { context } = contextOf()
    const stored = viewOf(expired)
    const entry = issuedEntry(stored, { access_token: "k" })
    expect(entry).toEqual({
      from: versionOf(expired),
      base: stored,
      tokens: { access_token: "k" },
      attempts: 0,
      lastFailure: {},
    })
    const result = fromKept(context, "acme", entry, true)
    expect(result).toMatchObject({ accessToken: "k", refreshed: true })
    expect(result.persistError).toBeInstanceOf(RefreshPersistError)
  })

  test("answered: success with dropped fields; no access token is a malformed answer", () => {
    const account = { provider: "acme", access_token: "n" } as unknown as AdapterAccount
    const reading = { tokens: {}, accessToken: "n", dropped: ["scope"], expirySource: "provider" } as const
    expect(answered(account, { ...reading, dropped: [...reading.dropped] })).toEqual(
      success(account, true, { droppedFields: ["scope"] }),
    )
    expect(answered(account, { ...reading, dropped: [] })).toEqual({
      ok: true,
      result: { accessToken: "n", account, refreshed: true },
    })
    const none = answered(account, { ...reading, accessToken: undefined, dropped: [] })
    expect(!none.ok && none.error).toBeInstanceOf(ProviderUnavailableError)
  })

  test("failed: a dead grant is marked and remembered; another failure is the provider unavailable", async () => {
    const { context } = contextOf()
    const checked = { stored: viewOf(expired), entry: undefined, current: expired, refreshToken: "r1" }
    const marks: string[] = []
    const mark = async (value: string): Promise<void> => void marks.push(value)

    const dead = await failed(
      context,
      key,
      checked,
      { ok: false, failure: { kind: "invalid_grant" }, attempts: 1 },
      mark,
    )
    expect(!dead.ok && dead.error).toBeInstanceOf(RefreshTokenError)
    expect(marks).toEqual(["invalid_grant"])
    expect(context.reauth.knownRefused(id, expired)).toBe(true)

    const scope = { kind: "oauth_error", oauthError: "invalid_scope", status: 400, retrySafe: false } as const
    await failed(context, key, checked, { ok: false, failure: scope, attempts: 1 }, mark)
    expect(marks).toEqual(["invalid_grant", "invalid_scope"])

    const down = await failed(
      context,
      key,
      checked,
      { ok: false, failure: { kind: "timeout", retrySafe: false }, attempts: 1 },
      mark,
    )
    expect(!down.ok && down.error).toBeInstanceOf(ProviderUnavailableError)
    expect(marks).toHaveLength(2)
  })

  test("failed with a column: the mark is the column's, not this process's memory", async () => {
    const { context } = contextOf("reauth")
    const checked = { stored: viewOf(expired), entry: undefined, current: expired, refreshToken: "r1" }
    await failed(context, key, checked, { ok: false, failure: { kind: "invalid_grant" }, attempts: 1 }, async () => {})
    expect(context.reauth.knownRefused(id, expired)).toBe(false)
  })
})
