import { describe, expect, it } from "@jest/globals"
import {
  LONGEST_REFRESH_TOKEN_LIFETIME_SECONDS,
  readRefreshTokenExpiry,
  type RefreshTokenExpiry,
} from "../../src/policy/refresh-token-expiry.js"

// Received half a second into a second: the absolute time counts from the whole second it was received in.
const RECEIVED_MS = Date.UTC(2026, 11, 7, 3, 0, 0) + 500
const RECEIVED_S = Math.floor(RECEIVED_MS / 1000)
const SIX_MONTHS = 15_897_600 // GitHub Apps' refresh_token_expires_in

describe("readRefreshTokenExpiry", () => {
  it.each<[string, unknown, RefreshTokenExpiry]>([
    [
      "GitHub Apps: refresh_token_expires_in, counted from when the answer was received",
      { access_token: "a", refresh_token: "r", expires_in: 28_800, refresh_token_expires_in: SIX_MONTHS },
      { kind: "at", expiresAt: RECEIVED_S + SIX_MONTHS, field: "refresh_token_expires_in" },
    ],
    [
      "Keycloak online session: refresh_expires_in (the SSO session bound)",
      { access_token: "a", refresh_expires_in: 1800, "not-before-policy": 0, session_state: "s" },
      { kind: "at", expiresAt: RECEIVED_S + 1800, field: "refresh_expires_in" },
    ],
    [
      "Keycloak offline token: refresh_expires_in 0 is 'never', not unknown",
      { access_token: "a", refresh_token: "r", refresh_expires_in: 0, scope: "openid offline_access" },
      { kind: "never", field: "refresh_expires_in" },
    ],
    [
      "Keycloak's 0 with no refresh token in the answer ('Use refresh tokens' off) says nothing: unknown",
      { access_token: "a", refresh_expires_in: 0, "not-before-policy": 0 },
      { kind: "unknown" },
    ],
    [
      "Keycloak's 0 next to an empty refresh_token: unknown",
      { refresh_token: "", refresh_expires_in: 0 },
      { kind: "unknown" },
    ],
    [
      "a decimal string",
      { refresh_expires_in: "1800" },
      { kind: "at", expiresAt: RECEIVED_S + 1800, field: "refresh_expires_in" },
    ],
    [
      "the string '0' (Keycloak's 0 as text)",
      { refresh_token: "r", refresh_expires_in: "0" },
      { kind: "never", field: "refresh_expires_in" },
    ],
    [
      "a fraction is cut off",
      { refresh_token_expires_in: 60.9 },
      { kind: "at", expiresAt: RECEIVED_S + 60, field: "refresh_token_expires_in" },
    ],
    [
      "a fraction below one second is a (near) expiry, never 'never'",
      { refresh_expires_in: 0.5 },
      { kind: "at", expiresAt: RECEIVED_S, field: "refresh_expires_in" },
    ],
    [
      "an absurd lifetime is capped to ten years",
      { refresh_token_expires_in: 1e15 },
      { kind: "at", expiresAt: RECEIVED_S + LONGEST_REFRESH_TOKEN_LIFETIME_SECONDS, field: "refresh_token_expires_in" },
    ],
    [
      "both names: refresh_token_expires_in wins",
      { refresh_token: "r", refresh_token_expires_in: 100, refresh_expires_in: 0 },
      { kind: "at", expiresAt: RECEIVED_S + 100, field: "refresh_token_expires_in" },
    ],
    [
      "refresh_token_expires_in 0 is not documented as 'never': Keycloak's field still decides",
      { refresh_token_expires_in: 0, refresh_expires_in: 1800 },
      { kind: "at", expiresAt: RECEIVED_S + 1800, field: "refresh_expires_in" },
    ],
    ["refresh_token_expires_in 0 alone is unknown", { refresh_token_expires_in: 0 }, { kind: "unknown" }],
    ["no field at all (Google, oidc-provider)", { access_token: "a", expires_in: 3600 }, { kind: "unknown" }],
    ["null", { refresh_expires_in: null, refresh_token_expires_in: null }, { kind: "unknown" }],
    ["empty string", { refresh_expires_in: "" }, { kind: "unknown" }],
    ["negative", { refresh_expires_in: -1 }, { kind: "unknown" }],
    ["a word", { refresh_expires_in: "soon" }, { kind: "unknown" }],
    ["NaN", { refresh_expires_in: Number.NaN }, { kind: "unknown" }],
    ["Infinity", { refresh_token_expires_in: Number.POSITIVE_INFINITY }, { kind: "unknown" }],
    ["an array", { refresh_expires_in: [1800] }, { kind: "unknown" }],
    ["a boolean", { refresh_expires_in: false }, { kind: "unknown" }],
    ["not an object", "refresh_expires_in=1800", { kind: "unknown" }],
    ["null response", null, { kind: "unknown" }],
  ])("%s", (_label, response, expected) => {
    expect(readRefreshTokenExpiry(response, RECEIVED_MS)).toEqual(expected)
  })

  it("counts from the time it is given, not from the clock", () => {
    const later = RECEIVED_MS + 3_600_000
    expect(readRefreshTokenExpiry({ refresh_expires_in: 1800 }, later)).toEqual({
      kind: "at",
      expiresAt: RECEIVED_S + 3600 + 1800,
      field: "refresh_expires_in",
    })
  })

  it("refuses a receive time that is not a number (a programming error), with a message naming it", () => {
    expect(() => readRefreshTokenExpiry({ refresh_expires_in: 1800 }, Number.NaN)).toThrow(/receivedAtMs/)
  })
})
