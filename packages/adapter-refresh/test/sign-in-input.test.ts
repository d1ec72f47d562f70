/**
 * What a sign-in takes from its input (src/sign-in-input.ts): fields checked by mode, the id as typed, and the
 * columns that are the library's own never taken as given. Pure; no database.
 */
import { describe, expect, test } from "@jest/globals"
import { InvalidAccountInputError } from "../src/errors.js"
import { REFRESH_TOKEN_NEVER_EXPIRES } from "../src/policy/refresh-token-expiry.js"
import { signInInputOf, type SignInInputSettings } from "../src/sign-in-input.js"

const NOW_MS = 1_700_000_000_000
const settings: SignInInputSettings = {
  columns: ["access_token", "refresh_token", "expires_at", "needs_reauth", "rt_expires_at"],
  reauthColumn: "needs_reauth",
  expiryColumn: "rt_expires_at",
  now: () => NOW_MS,
}
const base = { provider: "acme", providerAccountId: "p1" }

describe("signInInputOf", () => {
  test("a link needs userId and type; a sync needs neither", () => {
    expect(() => signInInputOf({ ...base, type: "oauth" }, "link", settings)).toThrow(InvalidAccountInputError)
    expect(() => signInInputOf({ ...base, userId: "u1" }, "link", settings)).toThrow(/"type"/)
    expect(signInInputOf({ ...base }, "sync", settings)).toMatchObject({ key: base, userId: undefined })
    expect(() => signInInputOf({ provider: "acme" }, "sync", settings)).toThrow(/providerAccountId/)
  })

  test("the id as text for the policy, as typed for the store", () => {
    const input = signInInputOf({ ...base, userId: 7, type: "oauth" }, "link", settings)
    expect(input.userId).toBe("7")
    expect(input.callerUserId).toBe(7)
  })

  test("the mark and the expiry column are never taken from the input; the expiry comes from the answer", () => {
    const input = signInInputOf(
      {
        ...base,
        access_token: "a1",
        refresh_token: "r1",
        needs_reauth: "x",
        rt_expires_at: 1,
        refresh_token_expires_in: 100,
      },
      "sync",
      settings,
    )
    expect(input.incoming).toEqual({ access_token: "a1", refresh_token: "r1", rt_expires_at: NOW_MS / 1000 + 100 })
  })

  test("no expiry without a refresh token next to it; Keycloak's 0 is never", () => {
    expect(signInInputOf({ ...base, access_token: "a1", refresh_expires_in: 100 }, "sync", settings).incoming).toEqual({
      access_token: "a1",
    })
    const never = signInInputOf({ ...base, refresh_token: "r1", refresh_expires_in: 0 }, "sync", settings)
    expect(never.incoming.rt_expires_at).toBe(REFRESH_TOKEN_NEVER_EXPIRES)
  })
})
