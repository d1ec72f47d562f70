import { describe, expect, test } from "@jest/globals"
import { tokenColumns } from "../src/policy/merge.js"
import { MAX_STORED_EXPIRES_AT, readTokenResponse, wellFormedText } from "../src/refresh/token-response.js"
import { endpointAllowed, safeOAuthErrorCode } from "../src/refresh/provider.js"
import { Semaphore, SlotWaitTimeout } from "../src/refresh/coordination.js"
import { AbandonedWait, boundedStart } from "../src/bounded-wait.js"

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

  const expiresDecimalStringsAcceptedTitle =
    "expires_in: decimal strings accepted; non-numeric and negative dropped (floor stored); absurd capped to ten years"
  test(expiresDecimalStringsAcceptedTitle, () => {
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

  const expiresOrNoExpiryTitle =
    "expires_in 0 or no expiry at all: the floor (skew + minimum refresh interval), so no refresh on every call"
  test(expiresOrNoExpiryTitle, () => {
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

  const extrasOnlyConfiguredColumnsTitle =
    "extras: only configured columns, string or finite number; the reserved mark column never from the provider"
  test(extrasOnlyConfiguredColumnsTitle, () => {
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

describe("untrusted provider text and endpoints", () => {
  test("OAuth error codes: RFC 6749 §5.2 characters only, at most 64", () => {
    expect(safeOAuthErrorCode("invalid_grant")).toBe("invalid_grant")
    expect(safeOAuthErrorCode("server_error")).toBe("server_error")
    for (const bad of ['bad"quote', "back\\slash", "new\nline", "é", "x".repeat(65), "", 42, undefined])
      expect(safeOAuthErrorCode(bad)).toBeUndefined()
  })

  test("discovered endpoints: https anywhere, plain http only on loopback unless allowed", () => {
    expect(endpointAllowed("https://idp.example.com/token", false)).toBe(true)
    expect(endpointAllowed("http://127.0.0.1:3000/token", false)).toBe(true)
    expect(endpointAllowed("http://localhost/token", false)).toBe(true)
    expect(endpointAllowed("http://[::1]:8080/token", false)).toBe(true)
    expect(endpointAllowed("http://idp.example.com/token", false)).toBe(false)
    expect(endpointAllowed("http://10.0.0.1/token", false)).toBe(false)
    expect(endpointAllowed("http://idp.example.com/token", true)).toBe(true)
    for (const bad of ["ftp://x/token", "javascript:alert(1)", "not a url", undefined])
      expect(endpointAllowed(bad, true)).toBe(false)
  })
})

describe("coordination primitives", () => {
  test("Semaphore: at most `limit` at once, first come first served, bounded wait", async () => {
    const slots = new Semaphore(2)
    let active = 0
    let peak = 0
    const order: number[] = []
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        slots.run(1_000, async () => {
          active++
          peak = Math.max(peak, active)
          order.push(i)
          await new Promise((resolve) => setTimeout(resolve, 10))
          active--
        }),
      ),
    )
    expect(peak).toBe(2)
    expect(order).toEqual([0, 1, 2, 3, 4, 5])
    const release = await slots.acquire(10)
    const release2 = await slots.acquire(10)
    await expect(slots.acquire(20)).rejects.toBeInstanceOf(SlotWaitTimeout)
    release()
    release2()
    ;(await slots.acquire(10))()
  })

  const boundedStartStartThatComesTitle =
    "boundedStart: a start that comes too late is refused (AbandonedWait), the caller already has its typed error"
  test(boundedStartStartThatComesTitle, async () => {
    let lateError: unknown
    const started = Date.now()
    await expect(
      boundedStart(
        30,
        () => new Error("timed out"),
        async (begin) => {
          await new Promise((resolve) => setTimeout(resolve, 80))
          try {
            begin()
          } catch (error) {
            lateError = error
            throw error
          }
          return "ran"
        },
      ),
    ).rejects.toThrow("timed out")
    expect(Date.now() - started).toBeLessThan(75)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(lateError).toBeInstanceOf(AbandonedWait)
    await expect(
      boundedStart(
        50,
        () => new Error("timed out"),
        async (begin) => (begin(), "ran"),
      ),
    ).resolves.toBe("ran")
  })
})
