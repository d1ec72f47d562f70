import { InvalidAccountInputError } from "../errors.js"

/**
 * Pure expiry policy. Stored `expires_at` is epoch SECONDS (what Auth.js and the official schemas use).
 * Inputs arrive in seconds (Auth.js), milliseconds (hand-written code calling `Date.now() + ...`), or
 * only as `expires_in` (raw token responses), and drivers read `bigint` columns back as strings.
 *
 * The wrapper must accept whatever the bare adapters accept, so any finite number is an `expires_at`,
 * stored as given: Auth.js's own adapter tests link with `expires_at: 2592000` (a 1970 date), and every
 * official adapter stores it. The one rewrite: a value that can only be milliseconds (see
 * `MILLISECONDS_THRESHOLD`) becomes seconds, on write and on read, so a row written in milliseconds by
 * older code is not taken for a token valid until the year 57 000.
 */

/**
 * 10000-01-01T00:00:00Z in epoch seconds. At or above it a number is read as milliseconds: as seconds it
 * would be a date no clock, token or SQL timestamp literal means (five-digit years), while as milliseconds
 * the same threshold is 1978-01-11, before any token this library will meet (`Date.now()` is ~1.8e12).
 * Below it a number is seconds, whatever date it makes (1970 included).
 */
export const MILLISECONDS_THRESHOLD = 253_402_300_800
/** Longest lifetime accepted in `expires_in`: ten years. */
export const LONGEST_SANE_EXPIRES_IN_SECONDS = 315_360_000

/** A finite number from a number, bigint or plain decimal string; undefined for anything else. */
function toFiniteNumber(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined
  if (typeof value === "bigint") return Number(value)
  if (typeof value === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value)
  return undefined
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null || value === ""
}

/**
 * A finite number of epoch seconds or milliseconds as whole epoch seconds: milliseconds (at or above
 * `MILLISECONDS_THRESHOLD`) are divided by 1000; a fraction is cut off towards zero, as Prisma does
 * when it writes a fractional number to an `Int` column (the three official schemas store integers;
 * node-postgres and Kysely would send the fraction and have PostgreSQL refuse it).
 */
function wholeSeconds(n: number): number {
  return Math.trunc(n >= MILLISECONDS_THRESHOLD ? n / 1000 : n)
}

/**
 * Reads an absolute expiry given in seconds or milliseconds and returns integer epoch seconds.
 * Refused (typed error, before any I/O): anything that is not a finite number, a bigint or a decimal
 * string (NaN, Infinity, words, dates, objects), and a value whose seconds are not a safe integer
 * (no column type stores it faithfully).
 */
export function expiresAtToSeconds(value: unknown, field = "expires_at"): number {
  const n = toFiniteNumber(value)
  if (n === undefined)
    throw new InvalidAccountInputError(field, "must be a finite number of epoch seconds or milliseconds")
  const seconds = wholeSeconds(n)
  if (!Number.isSafeInteger(seconds)) throw new InvalidAccountInputError(field, "is too large to be stored exactly")
  return seconds
}

/**
 * The absolute expiry to store for an incoming token set, or undefined when it carries none.
 * `expires_at` wins over `expires_in` (Auth.js derives one from the other, so both agree when both exist).
 */
export function resolveExpiresAt(
  input: { expires_at?: unknown; expires_in?: unknown },
  nowMs: number,
): number | undefined {
  if (!isAbsent(input.expires_at)) return expiresAtToSeconds(input.expires_at)
  if (isAbsent(input.expires_in)) return undefined
  const lifetime = toFiniteNumber(input.expires_in)
  if (lifetime === undefined || lifetime < 0 || lifetime > LONGEST_SANE_EXPIRES_IN_SECONDS) {
    throw new InvalidAccountInputError("expires_in", "must be a number of seconds between 0 and ten years")
  }
  return Math.floor(nowMs / 1000) + Math.floor(lifetime)
}

/**
 * Reads a stored `expires_at` (number, bigint or numeric string, or null) back as epoch seconds. A value
 * that can only be milliseconds (written by older code, or by a bare adapter given `Date.now() + ...`)
 * is read as milliseconds, by the same rule as on write.
 */
export function storedExpiresAt(value: unknown): number | null {
  if (isAbsent(value)) return null
  const n = toFiniteNumber(value)
  return n === undefined ? null : wholeSeconds(n)
}

/**
 * Whether an access token expiring at `expiresAt` (epoch seconds) must be refreshed now, given a skew.
 * A token with no known expiry is treated as valid: there is nothing to compare against, and refreshing
 * on every call would hammer the provider.
 */
export function isExpiring(expiresAt: number | null, nowMs: number, skewSeconds: number): boolean {
  if (expiresAt === null) return false
  return expiresAt * 1000 - skewSeconds * 1000 <= nowMs
}

/**
 * A token response's lifetime field (`expires_in`, `refresh_token_expires_in`, ...) as a non-negative number of
 * seconds, from a number or a plain decimal string (some providers send strings); undefined otherwise.
 * Callers floor and cap it as their field requires.
 */
export function lifetimeSeconds(value: unknown): number | undefined {
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string" && /^\s*\d+(\.\d+)?\s*$/.test(value)
        ? Number(value)
        : NaN
  return Number.isFinite(n) && n >= 0 ? n : undefined
}
