import { describe, expect, test } from "@jest/globals"
import { tokenColumns } from "../../src/policy/merge.js"
import { MAX_STORED_EXPIRES_AT, readTokenResponse, wellFormedText } from "../../src/refresh/token-response.js"

const NOW_MS = 1_800_000_000_000
const NOW = NOW_MS / 1000
const columns = tokenColumns(["refresh_expires_in", "refresh_error"])
const read = (body: Record<string, unknown>, extra: Partial<Parameters<typeof readTokenResponse>[1]> = {}) =>
  readTokenResponse(body, {
    columns,
    nowMs: NOW_MS,
    minFreshSeconds: 120,
    idTokenValid: true,
    reservedColumn: "refresh_error",
    ...extra,
  })

describe("readTokenResponse: a refresh answer is read field by field", () => {
  test("a well-formed answer is kept as is (token_type lower-cased like Auth.js stores it)", () => {
    const reading = read({
      access_token: "at",
      refresh_token: "rt",
      id_token: "h.p.s",
      scope: "openid",
      token_type: "Bearer",
      expires_in: 3600,
    })
    expect(reading).toEqual({
      tokens: {
        access_token: "at",
        refresh_token: "rt",
        id_token: "h.p.s",
        scope: "openid",
        token_type: "bearer",
        expires_at: NOW + 3600,
      },
      accessToken: "at",
      dropped: [],
      expirySource: "provider",
    })
  })
  test("expires_in: decimal strings accepted; non-numeric and negative dropped (floor stored); absurd capped to ten years", () => {
    expect(read({ access_token: "at", expires_in: "3600" }).tokens.expires_at).toBe(NOW + 3600)
    for (const odd of ["soon", -5, Number.NaN, { n: 1 }, true]) {
      const reading = read({ access_token: "at", expires_in: odd })
      expect(reading.tokens.expires_at).toBe(NOW + 120)
      expect(reading.dropped).toEqual(["expires_in"])
      expect(reading.expirySource).toBe("floor")
    }
    expect(read({ access_token: "at", expires_in: 1e15 }).tokens.expires_at).toBe(
      Math.min(NOW + 315_360_000, MAX_STORED_EXPIRES_AT),
    )
  })
  test("expires_in 0 or no expiry at all: the floor (skew + minimum refresh interval), so no refresh on every call", () => {
    expect(read({ access_token: "at", expires_in: 0 }).tokens.expires_at).toBe(NOW + 120)
    expect(read({ access_token: "at" }).tokens.expires_at).toBe(NOW + 120)
    expect(read({ access_token: "at" }).expirySource).toBe("floor")
  })

  test("a provider expires_at: epoch seconds or milliseconds accepted, a string dropped", () => {
    expect(read({ access_token: "at", expires_at: NOW + 500 }).tokens.expires_at).toBe(NOW + 500)
    expect(read({ access_token: "at", expires_at: (NOW + 500) * 1000 }).tokens.expires_at).toBe(NOW + 500)
    expect(read({ access_token: "at", expires_at: "tomorrow" }).dropped).toEqual(["expires_at"])
  })

  test("the stored expiry never exceeds a 32-bit column", () => {
    expect(read({ access_token: "at", expires_at: 7_000_000_000 }).tokens.expires_at).toBe(MAX_STORED_EXPIRES_AT)
  })

  test("malformed text fields are dropped by name: NUL, lone surrogates, non-strings, over-long", () => {
    const reading = read({
      access_token: "at",
      refresh_token: "rt",
      scope: "openid\u0000x",
      token_type: "Bearer\uD800",
      session_state: 42,
      id_token: "x".repeat(70_000),
    })
    expect(reading.tokens).toEqual({ access_token: "at", refresh_token: "rt", expires_at: NOW + 120 })
    expect(reading.dropped.sort()).toEqual(["id_token", "scope", "session_state", "token_type"])
  })

  test("an id_token that failed validation is dropped; the refresh token is kept", () => {
    const reading = read({ access_token: "at", refresh_token: "rt", id_token: "h.p.s" }, { idTokenValid: false })
    expect(reading.tokens.refresh_token).toBe("rt")
    expect(reading.tokens.id_token).toBeUndefined()
    expect(reading.dropped).toEqual(["id_token"])
  })
  test("extras: only configured columns, string or finite number; the reserved mark column never from the provider", () => {
    const reading = read({
      access_token: "at",
      refresh_expires_in: 1800,
      refresh_error: null,
      "not-before-policy": 0,
      other: { a: 1 },
    })
    expect(reading.tokens).toEqual({ access_token: "at", refresh_expires_in: 1800, expires_at: NOW + 120 })
    expect(read({ access_token: "at", refresh_error: "x" }).tokens.refresh_error).toBeUndefined()
    expect(read({ access_token: "at", refresh_expires_in: { a: 1 } }).dropped).toEqual(["refresh_expires_in"])
  })

  test("no usable access token: reported, the refresh token still kept", () => {
    const reading = read({ access_token: "\u0000", refresh_token: "rt" })
    expect(reading.accessToken).toBeUndefined()
    expect(reading.tokens.refresh_token).toBe("rt")
  })

  test("wellFormedText", () => {
    expect(wellFormedText("ok")).toBe("ok")
    expect(wellFormedText("\uD83D\uDE00")).toBe("\uD83D\uDE00") // a surrogate pair is fine
    for (const bad of ["", "a\u0000", "\uDC00a", 5, null]) expect(wellFormedText(bad)).toBeUndefined()
  })
})
