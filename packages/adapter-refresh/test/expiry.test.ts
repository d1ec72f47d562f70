import { describe, expect, it } from "@jest/globals"
import { InvalidAccountInputError } from "../src/errors.js"
import { expiresAtToSeconds, isExpiring, resolveExpiresAt, storedExpiresAt } from "../src/policy/expiry.js"

const NOW_MS = Date.UTC(2026, 10, 27, 12, 0, 0)
const NOW_S = NOW_MS / 1000

describe("expiresAtToSeconds", () => {
  it.each([
    ["seconds", NOW_S + 3600, NOW_S + 3600],
    ["fractional seconds, floored", NOW_S + 3600.9, NOW_S + 3600],
    ["milliseconds", NOW_MS + 3_600_000, NOW_S + 3600],
    ["milliseconds with a remainder, floored", NOW_MS + 3_600_999, NOW_S + 3600],
    ["a numeric string of seconds (node-postgres bigint)", String(NOW_S + 60), NOW_S + 60],
    ["a numeric string of milliseconds", String(NOW_MS), NOW_S],
    ["a bigint", BigInt(NOW_S), NOW_S],
    ["the earliest sane second", 946_684_800, 946_684_800],
    ["the latest sane second", 7_258_118_400, 7_258_118_400],
  ])("reads %s", (_label, input, expected) => {
    expect(expiresAtToSeconds(input)).toBe(expected)
  })

  it.each([
    ["zero", 0],
    ["a negative number", -5],
    ["a 1990 time in seconds", 631_152_000],
    ["a time past 2200 in milliseconds", 7_258_118_400_001 * 10],
    ["microseconds", NOW_MS * 1000],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["a word", "tomorrow"],
    ["an ISO date string", "2026-11-27T12:00:00Z"],
    ["an object", { at: NOW_S }],
    ["a boolean", true],
  ])("refuses %s with a typed error naming the field", (_label, input) => {
    let thrown: unknown
    try {
      expiresAtToSeconds(input)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(InvalidAccountInputError)
    expect((thrown as InvalidAccountInputError).field).toBe("expires_at")
    expect((thrown as InvalidAccountInputError).code).toBe("INVALID_ACCOUNT_INPUT")
  })

  it("does not echo the offending value in the message", () => {
    expect(() => expiresAtToSeconds("s3cr3t-looking-value")).toThrow(InvalidAccountInputError)
    try {
      expiresAtToSeconds("s3cr3t-looking-value")
    } catch (error) {
      expect(String((error as Error).message)).not.toContain("s3cr3t")
    }
  })
})

describe("resolveExpiresAt", () => {
  it("prefers expires_at over expires_in", () => {
    expect(resolveExpiresAt({ expires_at: NOW_S + 100, expires_in: 5 }, NOW_MS)).toBe(NOW_S + 100)
  })
  it("derives from expires_in when expires_at is absent, null or empty", () => {
    expect(resolveExpiresAt({ expires_in: 3599 }, NOW_MS)).toBe(NOW_S + 3599)
    expect(resolveExpiresAt({ expires_at: null, expires_in: "3600" }, NOW_MS)).toBe(NOW_S + 3600)
    expect(resolveExpiresAt({ expires_at: "", expires_in: 0 }, NOW_MS)).toBe(NOW_S)
  })
  it("returns undefined when the input carries no expiry", () => {
    expect(resolveExpiresAt({}, NOW_MS)).toBeUndefined()
    expect(resolveExpiresAt({ expires_at: null, expires_in: null }, NOW_MS)).toBeUndefined()
  })
  it.each([[-1], [315_360_001], ["soon"], [Number.NaN]])("refuses expires_in %p", (value) => {
    expect(() => resolveExpiresAt({ expires_in: value }, NOW_MS)).toThrow(expect.objectContaining({ field: "expires_in" }) as unknown as Error)
  })
})

describe("storedExpiresAt", () => {
  it.each([
    [null, null],
    [undefined, null],
    ["", null],
    ["1764244800", 1_764_244_800],
    [1_764_244_800, 1_764_244_800],
    [BigInt(1_764_244_800), 1_764_244_800],
    ["garbage", null],
  ])("reads %p as %p", (input, expected) => {
    expect(storedExpiresAt(input)).toBe(expected)
  })
})

describe("isExpiring", () => {
  it.each([
    ["unknown expiry is never expiring", null, 60, false],
    ["well before the skew window", NOW_S + 3600, 60, false],
    ["just outside the skew window", NOW_S + 61, 60, false],
    ["exactly at the skew boundary", NOW_S + 60, 60, true],
    ["inside the skew window", NOW_S + 30, 60, true],
    ["already expired", NOW_S - 1, 60, true],
    ["no skew, expiring this instant", NOW_S, 0, true],
    ["no skew, one second left", NOW_S + 1, 0, false],
  ])("%s", (_label, expiresAt, skew, expected) => {
    expect(isExpiring(expiresAt, NOW_MS, skew)).toBe(expected)
  })
})
