import { describe, expect, it } from "@jest/globals"
import { InvalidAccountInputError } from "../../src/errors.js"
import {
  MILLISECONDS_THRESHOLD,
  expiresAtToSeconds,
  isExpiring,
  resolveExpiresAt,
  storedExpiresAt,
} from "../../src/policy/expiry.js"

const NOW_MS = Date.UTC(2026, 10, 27, 12, 0, 0)
const NOW_S = NOW_MS / 1000

describe("expiresAtToSeconds", () => {
  it.each([
    ["seconds", NOW_S + 3600, NOW_S + 3600],
    ["fractional seconds, cut off as Prisma does for an Int column", NOW_S + 3600.9, NOW_S + 3600],
    ["milliseconds", NOW_MS + 3_600_000, NOW_S + 3600],
    ["milliseconds with a remainder, cut off", NOW_MS + 3_600_999, NOW_S + 3600],
    ["a numeric string of seconds (node-postgres bigint)", String(NOW_S + 60), NOW_S + 60],
    ["a numeric string of milliseconds", String(NOW_MS), NOW_S],
    ["a bigint", BigInt(NOW_S), NOW_S],
    // Auth.js's own adapter suite links with expires_at: 2592000 and every bare adapter stores it.
    ["one month in seconds, a 1970 date (Auth.js's adapter-suite fixture)", 2_592_000, 2_592_000],
    ["zero", 0, 0],
    ["a negative number", -5, -5],
    ["a negative fraction, cut off towards zero as Prisma does", -2.5, -2],
    ["a 1990 time in seconds", 631_152_000, 631_152_000],
    ["a time past 2200 in seconds (bigint columns take it)", 7_258_118_400 * 10, 72_581_184_000],
    [
      "the last second below the milliseconds threshold, as seconds",
      MILLISECONDS_THRESHOLD - 1,
      MILLISECONDS_THRESHOLD - 1,
    ],
    ["the milliseconds threshold itself, as milliseconds (1978-01-11)", MILLISECONDS_THRESHOLD, 253_402_300],
    ["microseconds, read as milliseconds (no other unit is guessed)", NOW_MS * 1000, NOW_MS],
  ])("reads %s", (_label, input, expected) => {
    expect(expiresAtToSeconds(input)).toBe(expected)
  })

  it.each([
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["-Infinity", Number.NEGATIVE_INFINITY],
    ["a number whose seconds are beyond exact integers", 1e300],
    ["a word", "tomorrow"],
    ["an ISO date string", "2026-11-27T12:00:00Z"],
    ["an object", { at: NOW_S }],
    ["a Date", new Date(NOW_MS)],
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
    expect(() => resolveExpiresAt({ expires_in: value }, NOW_MS)).toThrow(
      expect.objectContaining({ field: "expires_in" }) as unknown as Error,
    )
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
    [2_592_000, 2_592_000],
    // Written in milliseconds by older code (or a bare adapter given Date.now() + ...): read as milliseconds.
    [1_764_244_800_000, 1_764_244_800],
    ["1764244800123", 1_764_244_800],
  ])("reads %p as %p", (input, expected) => {
    expect(storedExpiresAt(input)).toBe(expected)
  })

  it("reads an old row's milliseconds as a near expiry, not one in the year 57 000", () => {
    const stored = storedExpiresAt(String(NOW_MS + 30_000))
    expect(stored).toBe(NOW_S + 30)
    expect(isExpiring(stored, NOW_MS, 60)).toBe(true)
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
