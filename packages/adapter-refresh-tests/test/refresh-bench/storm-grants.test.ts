import { describe, expect, test } from "@jest/globals"
import type { IssuedToken } from "../../src/harness/oidc-provider.js"
import { stormOutlastedItsToken } from "../../src/refresh-bench/storm-grants.js"

const token = (issuedAt: number, ttlSeconds: number): IssuedToken => ({
  kind: "access_token",
  value: `at-${issuedAt}`,
  grantId: "g",
  accountId: "a",
  gty: "authorization_code refresh_token",
  issuedAt,
  expiresAt: Math.floor(issuedAt / 1000) + ttlSeconds,
})

describe("stormOutlastedItsToken", () => {
  test("one grant is never 'outlasted' (the storm's normal result)", () => {
    expect(stormOutlastedItsToken([token(10_000, 3)])).toBe(false)
  })
  test("a second grant sent after the first grant's token expired answered an expiry of its own", () => {
    expect(stormOutlastedItsToken([token(10_000, 3), token(13_000, 3)])).toBe(true)
  })
  test("control: a second grant while the first grant's token was still valid is a double refresh", () => {
    expect(stormOutlastedItsToken([token(10_000, 3), token(12_999, 3)])).toBe(false)
  })
  test("control: one early grant among later ones makes the whole storm a double refresh", () => {
    expect(stormOutlastedItsToken([token(10_000, 3), token(13_000, 3), token(13_500, 3)])).toBe(false)
  })
  test("a grant whose expiry the provider did not record cannot be judged outlasted", () => {
    expect(stormOutlastedItsToken([{ ...token(10_000, 3), expiresAt: undefined }, token(20_000, 3)])).toBe(false)
  })
})
