/**
 * Pure reading of a refresh grant's successful answer (RFC 6749 §5.1), tolerant by design.
 *
 * Once a rotating provider has answered 200 with new tokens, the refresh token it sent is the only one
 * that still works (§6: the old one MUST be discarded; reuse revokes the grant at Okta, Auth0, Keycloak,
 * oidc-provider). Refusing the whole answer because of one odd field would throw the grant away. So every
 * field is judged on its own: a well-formed value is kept, anything else is dropped (by name, never by
 * value) and the rest is written. Provider text is untrusted: bounded lengths, no NUL (PostgreSQL `text`
 * refuses it) and no lone surrogates (they would be re-encoded, silently changing the token).
 */
import { expiresAtToSeconds, lifetimeSeconds } from "../policy/expiry.js"
import { unstorableStringReason, type TokenSet } from "../policy/merge.js"

/** Longest token-column value accepted from a provider, in UTF-16 code units. Real JWTs are a few KB. */
export const MAX_PROVIDER_TEXT_LENGTH = 65_536
/** Longest lifetime taken from `expires_in`: ten years. Longer values are capped to it. */
export const MAX_LIFETIME_SECONDS = 315_360_000
/** Largest expiry written: the top of a 32-bit integer column (Prisma's `Int`), 2038-01-19. */
export const MAX_STORED_EXPIRES_AT = 2_147_483_647

/** The string itself when it is non-empty, bounded, free of NUL and well-formed UTF-16; else undefined. */
export function wellFormedText(value: unknown, maxLength = MAX_PROVIDER_TEXT_LENGTH): string | undefined {
  if (typeof value !== "string" || value === "" || value.length > maxLength) return undefined
  // The same storability rule sign-in input passes (policy/merge.ts), here a reason to drop, not to throw.
  return unstorableStringReason(value) === undefined ? value : undefined
}

/** A lifetime in whole seconds, capped; undefined when negative or not a number. */
function lifetimeOf(value: unknown): number | undefined {
  const n = lifetimeSeconds(value)
  return n === undefined ? undefined : Math.min(Math.floor(n), MAX_LIFETIME_SECONDS)
}

export interface TokenResponseOptions {
  /** The token columns the account table has (standard ones plus configured extras). */
  columns: readonly string[]
  nowMs: number
  /**
   * The stored expiry is never earlier than this many seconds after now (skew + minimum refresh
   * interval): `expires_in: 0`, or no expiry at all, would otherwise make every later call refresh.
   */
  minFreshSeconds: number
  /** Whether the id_token passed validation (oauth4webapi); an unvalidated one is dropped. */
  idTokenValid: boolean
  /** A column that is ours (the re-authentication mark): never taken from the provider. */
  reservedColumn?: string | undefined
}

export interface TokenResponseReading {
  /** The columns to write: only well-formed values; `expires_at` always set. */
  tokens: TokenSet
  /** The new access token, when the answer carried a well-formed one. */
  accessToken: string | undefined
  /** Names of the fields that were present but not written (never their values). */
  dropped: string[]
  /** Whether the expiry came from the provider (`expires_in`/`expires_at`) or is the documented floor. */
  expirySource: "provider" | "floor"
}

const TEXT_COLUMNS = new Set(["access_token", "refresh_token", "id_token", "scope", "token_type", "session_state"])

/**
 * What to write for a successful refresh answer `body` (a parsed JSON object).
 *
 * Expiry: `expires_in` (number or decimal string, capped at ten years), else a provider `expires_at` in
 * epoch seconds or milliseconds, else none. The stored `expires_at` is then
 * `min(max(now + lifetime, now + minFreshSeconds), 2^31 - 1)`: with no usable expiry, the token counts
 * as fresh for the minimum refresh interval and is refreshed after it.
 */
export function readTokenResponse(body: Record<string, unknown>, options: TokenResponseOptions): TokenResponseReading {
  const nowSeconds = Math.floor(options.nowMs / 1000)
  const tokens: TokenSet = {}
  const dropped: string[] = []
  const present = (field: string): boolean => body[field] !== undefined && body[field] !== null && body[field] !== ""

  for (const column of options.columns) {
    if (column === "expires_at" || column === options.reservedColumn || !present(column)) continue
    const value = body[column]
    if (TEXT_COLUMNS.has(column)) {
      const text = column === "id_token" && !options.idTokenValid ? undefined : wellFormedText(value)
      // RFC 6749 §5.1: token_type is case-insensitive; Auth.js (through oauth4webapi) stores it lower-cased.
      if (text !== undefined) tokens[column] = column === "token_type" ? text.toLowerCase() : text
      else dropped.push(column)
      continue
    }
    // A configured extra column: a well-formed string or a finite number.
    if (typeof value === "number" && Number.isFinite(value)) tokens[column] = value
    else if (wellFormedText(value) !== undefined) tokens[column] = value as string
    else dropped.push(column)
  }

  let expiresAt: number | undefined
  if (present("expires_in")) {
    const lifetime = lifetimeOf(body.expires_in)
    if (lifetime !== undefined) expiresAt = nowSeconds + lifetime
    else dropped.push("expires_in")
  }
  if (expiresAt === undefined && present("expires_at")) {
    try {
      expiresAt = expiresAtToSeconds(body.expires_at)
    } catch {
      dropped.push("expires_at")
    }
  }
  const floor = nowSeconds + options.minFreshSeconds
  tokens.expires_at = Math.min(Math.max(expiresAt ?? floor, floor), MAX_STORED_EXPIRES_AT)

  const accessToken = typeof tokens.access_token === "string" ? tokens.access_token : undefined
  return {
    tokens,
    accessToken,
    dropped,
    expirySource: expiresAt === undefined || expiresAt < floor ? "floor" : "provider",
  }
}
