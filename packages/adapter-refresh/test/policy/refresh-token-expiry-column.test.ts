/**
 * The refresh-token expiry column's pure rules (option `refresh.refreshTokenExpiryColumn`): its values, what a
 * write does to it, when a stored token is dead, and the keep-alive decision.
 */
import { describe, expect, it } from "@jest/globals"
import {
  isRefreshTokenExpired,
  keepAliveDecision,
  REFRESH_TOKEN_NEVER_EXPIRES,
  refreshMovedExpiry,
  refreshTokenExpiryChange,
  refreshTokenExpiryValue,
  storedRefreshTokenExpiry,
  type KeepAliveInput,
} from "../../src/policy/refresh-token-expiry.js"
import { setRefreshTokenExpiry } from "../../src/account-sync.js"
import type { TokenSet } from "../../src/policy/merge.js"

const COLUMN = "refresh_token_expires_at"
const NOW_MS = Date.UTC(2026, 11, 7, 3, 0, 0) + 500
const NOW_S = Math.floor(NOW_MS / 1000)

describe("column values", () => {
  it("a time is stored as epoch seconds, never as the far-future sentinel, unknown as nothing", () => {
    expect(refreshTokenExpiryValue({ kind: "at", expiresAt: NOW_S + 60, field: "refresh_expires_in" })).toBe(NOW_S + 60)
    expect(refreshTokenExpiryValue({ kind: "never", field: "refresh_expires_in" })).toBe(REFRESH_TOKEN_NEVER_EXPIRES)
    expect(refreshTokenExpiryValue({ kind: "unknown" })).toBeUndefined()
    expect(new Date(REFRESH_TOKEN_NEVER_EXPIRES * 1000).toISOString()).toBe("9999-12-31T23:59:59.000Z")
  })

  it.each<[string, unknown, ReturnType<typeof storedRefreshTokenExpiry>]>([
    ["a number", NOW_S, { kind: "at", expiresAt: NOW_S }],
    ["node-postgres' BIGINT string", String(NOW_S), { kind: "at", expiresAt: NOW_S }],
    ["Prisma's bigint", BigInt(NOW_S), { kind: "at", expiresAt: NOW_S }],
    ["the sentinel", REFRESH_TOKEN_NEVER_EXPIRES, { kind: "never" }],
    ["the sentinel as a string", String(REFRESH_TOKEN_NEVER_EXPIRES), { kind: "never" }],
    ["NULL", null, { kind: "unknown" }],
    ["undefined", undefined, { kind: "unknown" }],
    ["negative", -1, { kind: "unknown" }],
    ["fractional", 1.5, { kind: "unknown" }],
    ["text", "soon", { kind: "unknown" }],
  ])("reads %s", (_name, value, expected) => {
    expect(storedRefreshTokenExpiry(value)).toEqual(expected)
  })
})

describe("isRefreshTokenExpired", () => {
  it("is dead from its expiry second on, by the library's clock, with no skew", () => {
    expect(isRefreshTokenExpired(NOW_S, NOW_MS)).toBe(true)
    expect(isRefreshTokenExpired(NOW_S - 1, NOW_MS)).toBe(true)
    expect(isRefreshTokenExpired(NOW_S + 1, NOW_MS)).toBe(false)
  })
  it("never and unknown are not dead", () => {
    expect(isRefreshTokenExpired(REFRESH_TOKEN_NEVER_EXPIRES, NOW_MS)).toBe(false)
    expect(isRefreshTokenExpired(null, NOW_MS)).toBe(false)
    expect(isRefreshTokenExpired("garbage", NOW_MS)).toBe(false)
  })
})

describe("what a write does to the column", () => {
  const stored: TokenSet = { refresh_token: "old", [COLUMN]: NOW_S + 100 }

  it("setRefreshTokenExpiry: an answer's expiry is taken only next to a refresh token; its own column value never", () => {
    const keycloak = { refresh_token: "new", refresh_expires_in: 1800, [COLUMN]: 1 }
    const tokens: TokenSet = { refresh_token: "new", [COLUMN]: 1 }
    setRefreshTokenExpiry(tokens, keycloak, COLUMN, NOW_MS)
    expect(tokens[COLUMN]).toBe(NOW_S + 1800)

    const offline: TokenSet = { refresh_token: "new" }
    setRefreshTokenExpiry(offline, { refresh_token: "new", refresh_expires_in: 0 }, COLUMN, NOW_MS)
    expect(offline[COLUMN]).toBe(REFRESH_TOKEN_NEVER_EXPIRES)

    // "Use refresh tokens" off: no refresh token, Keycloak's primitive 0; GitHub's field without a token.
    const none: TokenSet = { access_token: "a" }
    setRefreshTokenExpiry(none, { access_token: "a", refresh_token_expires_in: 600 }, COLUMN, NOW_MS)
    expect(COLUMN in none).toBe(false)

    const unknown: TokenSet = { refresh_token: "new", [COLUMN]: 5 }
    setRefreshTokenExpiry(unknown, { refresh_token: "new" }, COLUMN, NOW_MS)
    expect(COLUMN in unknown).toBe(false)
  })

  it("no refresh token in the answer: the stored expiry stays", () => {
    expect(refreshTokenExpiryChange(stored, { access_token: "a" }, COLUMN)).toEqual({})
  })
  it("a new refresh token with its expiry: the expiry goes through the merge (no extra change)", () => {
    expect(refreshTokenExpiryChange(stored, { refresh_token: "new", [COLUMN]: NOW_S + 900 }, COLUMN)).toEqual({})
  })
  it("a new refresh token without an expiry: unknown (null), the old expiry described the old token", () => {
    expect(refreshTokenExpiryChange(stored, { refresh_token: "new" }, COLUMN)).toEqual({ [COLUMN]: null })
  })
  it("the same refresh token again without an expiry: the stored expiry stays", () => {
    expect(refreshTokenExpiryChange(stored, { refresh_token: "old" }, COLUMN)).toEqual({})
  })
  it("nothing stored: nothing to clear", () => {
    expect(
      refreshTokenExpiryChange({ refresh_token: "old", [COLUMN]: null }, { refresh_token: "new" }, COLUMN),
    ).toEqual({})
  })
})

describe("refreshMovedExpiry", () => {
  it("a capped session (the same bound, a second apart) did not move; an idle extension did", () => {
    expect(refreshMovedExpiry(NOW_S + 100, NOW_S + 100)).toBe(false)
    expect(refreshMovedExpiry(NOW_S + 100, NOW_S + 101)).toBe(false)
    expect(refreshMovedExpiry(NOW_S + 100, String(NOW_S + 100))).toBe(false)
    expect(refreshMovedExpiry(NOW_S + 100, NOW_S + 1800)).toBe(true)
  })
  it("unknown or never on either side is not a cap", () => {
    expect(refreshMovedExpiry(null, NOW_S)).toBe(true)
    expect(refreshMovedExpiry(NOW_S, null)).toBe(true)
    expect(refreshMovedExpiry(REFRESH_TOKEN_NEVER_EXPIRES, REFRESH_TOKEN_NEVER_EXPIRES)).toBe(true)
  })
})

describe("keepAliveDecision", () => {
  const base: KeepAliveInput = {
    nowMs: NOW_MS,
    accessExpiresAt: NOW_S + 60,
    refreshTokenExpiresAt: undefined,
    unusedForSeconds: 3600,
    refreshTokenWithinSeconds: 600,
    cappedAt: undefined,
  }
  it.each<[string, Partial<KeepAliveInput>, ReturnType<typeof keepAliveDecision>]>([
    ["no column, fresh access token", {}, "wait"],
    ["no column, idle long enough", { accessExpiresAt: NOW_S - 3600 }, "refresh-idle"],
    ["no column, no expiry", { accessExpiresAt: null }, "unknown-age"],
    ["refresh token expiring within the window", { refreshTokenExpiresAt: NOW_S + 600 }, "refresh-before-expiry"],
    [
      "... even with no access-token expiry",
      { refreshTokenExpiresAt: NOW_S + 10, accessExpiresAt: null },
      "refresh-before-expiry",
    ],
    ["refresh token far from its expiry", { refreshTokenExpiresAt: NOW_S + 601 }, "wait"],
    ["refresh token dead", { refreshTokenExpiresAt: NOW_S, accessExpiresAt: NOW_S - 9999 }, "expired"],
    ["never: only the idle rule", { refreshTokenExpiresAt: REFRESH_TOKEN_NEVER_EXPIRES }, "wait"],
    [
      "never and idle",
      { refreshTokenExpiresAt: REFRESH_TOKEN_NEVER_EXPIRES, accessExpiresAt: NOW_S - 3600 },
      "refresh-idle",
    ],
    ["capped at this expiry", { refreshTokenExpiresAt: NOW_S + 30, cappedAt: NOW_S + 30 }, "capped"],
    [
      "capped, even when idle",
      { refreshTokenExpiresAt: NOW_S + 30, cappedAt: NOW_S + 30, accessExpiresAt: NOW_S - 3600 },
      "capped",
    ],
    [
      "a later expiry than the capped one (a new sign-in)",
      { refreshTokenExpiresAt: NOW_S + 300, cappedAt: NOW_S + 30 },
      "refresh-before-expiry",
    ],
  ])("%s", (_name, input, expected) => {
    expect(keepAliveDecision({ ...base, ...input })).toBe(expected)
  })
})
