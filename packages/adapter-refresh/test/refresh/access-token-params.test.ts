/**
 * getAccessToken's parameter checks (refresh/access-token-params.ts): each wrong field is refused by name before
 * anything is read, and a numeric user id becomes its text. No database.
 */
import { describe, expect, test } from "@jest/globals"
import { InvalidAccountInputError } from "../../src/errors.js"
import { checkAccessTokenParams } from "../../src/refresh/access-token-params.js"
import type { GetAccessTokenParams } from "../../src/refresh/engine-types.js"

const fieldOf = (params: unknown): string | undefined => {
  try {
    checkAccessTokenParams(params as GetAccessTokenParams)
    return undefined
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidAccountInputError)
    return (error as InvalidAccountInputError).field
  }
}

describe("checkAccessTokenParams", () => {
  test("returns the user id as text; a safe integer id becomes its decimal form", () => {
    expect(checkAccessTokenParams({ userId: "u1", provider: "acme" })).toBe("u1")
    expect(checkAccessTokenParams({ userId: 7, provider: "acme" })).toBe("7")
  })

  test("refuses each wrong field by name", () => {
    expect(fieldOf(null)).toBe("params")
    expect(fieldOf("u1")).toBe("params")
    expect(fieldOf({ userId: "", provider: "acme" })).toBe("userId")
    expect(fieldOf({ userId: 1.5, provider: "acme" })).toBe("userId")
    expect(fieldOf({ userId: 2 ** 60, provider: "acme" })).toBe("userId")
    expect(fieldOf({ userId: "u1", provider: "" })).toBe("provider")
    expect(fieldOf({ userId: "u1" })).toBe("provider")
    expect(fieldOf({ userId: "u1", provider: "acme", refusedAccessToken: "" })).toBe("refusedAccessToken")
    expect(fieldOf({ userId: "u1", provider: "acme", refusedAccessToken: 5 })).toBe("refusedAccessToken")
  })

  test("a refused token given as a non-empty string passes", () => {
    expect(fieldOf({ userId: "u1", provider: "acme", refusedAccessToken: "at" })).toBeUndefined()
  })
})
