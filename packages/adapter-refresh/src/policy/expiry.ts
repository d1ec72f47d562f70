import { InvalidAccountInputError } from "../errors.js"

/**
 * Pure expiry policy. Stored `expires_at` is always integer epoch SECONDS (what Auth.js and the
 * official schemas use). Inputs arrive in seconds (Auth.js), milliseconds (hand-written code calling
 * `Date.now() + ...`), or only as `expires_in` (raw token responses), and drivers read `bigint`
 * columns back as strings.
 */

/** 2000-01-01T00:00:00Z and 2200-01-01T00:00:00Z: anything outside is not an expiry time. */
export const EARLIEST_SANE_EXPIRY_SECONDS = 946_684_800
export const LATEST_SANE_EXPIRY_SECONDS = 7_258_118_400
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
 * Interprets an absolute expiry given in seconds or milliseconds and returns integer epoch seconds.
 * A number is read as seconds when it lies in the sane window, as milliseconds when it divided by
 * 1000 does; the two windows cannot overlap, so the reading is never ambiguous.
 */
export function expiresAtToSeconds(value: unknown, field = "expires_at"): number {
  const n = toFiniteNumber(value)
  if (n === undefined) throw new InvalidAccountInputError(field, "must be a number of epoch seconds or milliseconds")
  if (n >= EARLIEST_SANE_EXPIRY_SECONDS && n <= LATEST_SANE_EXPIRY_SECONDS) return Math.floor(n)
  const seconds = n / 1000
  if (seconds >= EARLIEST_SANE_EXPIRY_SECONDS && seconds <= LATEST_SANE_EXPIRY_SECONDS) return Math.floor(seconds)
  throw new InvalidAccountInputError(field, "is not a plausible time (expected epoch seconds or milliseconds between 2000 and 2200)")
}

/**
 * The absolute expiry to store for an incoming token set, or undefined when it carries none.
 * `expires_at` wins over `expires_in` (Auth.js derives one from the other, so both agree when both exist).
 */
export function resolveExpiresAt(input: { expires_at?: unknown; expires_in?: unknown }, nowMs: number): number | undefined {
  if (!isAbsent(input.expires_at)) return expiresAtToSeconds(input.expires_at)
  if (isAbsent(input.expires_in)) return undefined
  const lifetime = toFiniteNumber(input.expires_in)
  if (lifetime === undefined || lifetime < 0 || lifetime > LONGEST_SANE_EXPIRES_IN_SECONDS) {
    throw new InvalidAccountInputError("expires_in", "must be a number of seconds between 0 and ten years")
  }
  return Math.floor(nowMs / 1000) + Math.floor(lifetime)
}

/** Reads a stored `expires_at` (number, bigint or numeric string, or null) back as seconds. */
export function storedExpiresAt(value: unknown): number | null {
  if (isAbsent(value)) return null
  const n = toFiniteNumber(value)
  return n === undefined ? null : Math.floor(n)
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
