/**
 * Pure policy: when does the refresh token itself die, as the provider said in a token response.
 *
 * Providers give it as a lifetime relative to the answer, under two names:
 * - `refresh_token_expires_in` (GitHub Apps: about six months; Auth.js's docs add the same name to the account);
 * - `refresh_expires_in` (Keycloak: the SSO session bound, i.e. the earlier of "now + SSO Session Idle" and
 *   "session start + SSO Session Max"; `0` for an offline token, which does not expire. Keycloak 26.x,
 *   services/.../protocol/oidc/TokenManager.java, `AccessTokenResponseBuilder.build()` writes the field only
 *   when the refresh token has an `exp`, and the field is a primitive `long`, so no `exp` reads as `0`).
 *
 * A lifetime means nothing without the time it was counted from, so it is turned into an ABSOLUTE time (epoch
 * seconds) from the moment the response was received. The refresh-token
 * expiry column (`refresh.refreshTokenExpiryColumn`) stores it; the rules for writing and judging that column
 * are the pure functions below.
 */
import { lifetimeSeconds } from "./expiry.js"
import type { TokenSet } from "./merge.js"

/** Longest refresh-token lifetime taken: ten years. Longer lifetimes are capped to it. */
export const LONGEST_REFRESH_TOKEN_LIFETIME_SECONDS = 315_360_000

/**
 * When a refresh token expires, read from a token response:
 * - `at`: it expires at `expiresAt` (integer epoch seconds); `field` names where that came from;
 * - `never`: the provider said it does not expire (Keycloak's `refresh_expires_in: 0`, an offline token);
 * - `unknown`: the response says nothing usable (absent, null, empty, negative, not a number).
 *
 * "never" and "unknown" differ: a column would store "never" as its own value and "unknown" as null.
 */
export type RefreshTokenExpiry =
  | { kind: "at"; expiresAt: number; field: "refresh_token_expires_in" | "refresh_expires_in" }
  | { kind: "never"; field: "refresh_expires_in" }
  | { kind: "unknown" }

/** The absolute expiry of a lifetime counted from `receivedAt` (epoch seconds): fraction cut off, capped. */
function expiresAt(receivedAt: number, lifetime: number): number {
  return receivedAt + Math.min(Math.floor(lifetime), LONGEST_REFRESH_TOKEN_LIFETIME_SECONDS)
}

/**
 * Reads the refresh token's expiry from a token response (a sign-in's raw account, as Auth.js hands it to
 * `events.signIn`, or a refresh grant's answer) received at `receivedAtMs` (epoch milliseconds).
 *
 * - `refresh_token_expires_in` wins when it holds a positive lifetime. Its `0` is not "never" (no provider
 *   documents it so): it reads as unknown, so nothing is ever treated as expired on a guess.
 * - `refresh_expires_in`: a positive lifetime gives `at`; exactly `0` gives `never` (Keycloak's offline token),
 *   but only next to a `refresh_token`: Keycloak's field is a primitive that stays 0 when no refresh token was
 *   built (a client with "Use refresh tokens" off, client_credentials), and that 0 says nothing.
 * - Fractions are cut off, lifetimes above ten years are capped to ten years, decimal strings are accepted.
 *
 * Never throws on the response's content (it is provider text); throws a `TypeError` only when
 * `receivedAtMs` is not a finite number, which is a programming error.
 *
 * @returns The expiry as a {@link RefreshTokenExpiry}.
 */
export function readRefreshTokenExpiry(response: unknown, receivedAtMs: number): RefreshTokenExpiry {
  if (!Number.isFinite(receivedAtMs)) throw new TypeError("receivedAtMs must be a finite number of epoch milliseconds")
  if (typeof response !== "object" || response === null) return { kind: "unknown" }
  const body = response as Record<string, unknown>
  const receivedAt = Math.floor(receivedAtMs / 1000)

  const github = lifetimeSeconds(body.refresh_token_expires_in)
  if (github !== undefined && github > 0) {
    return { kind: "at", expiresAt: expiresAt(receivedAt, github), field: "refresh_token_expires_in" }
  }
  const keycloak = lifetimeSeconds(body.refresh_expires_in)
  // Exactly 0 (not a fraction that rounds to it) next to a refresh token is Keycloak's "no exp": an offline token.
  if (keycloak === 0) {
    const carriesRefreshToken = typeof body.refresh_token === "string" && body.refresh_token !== ""
    return carriesRefreshToken ? { kind: "never", field: "refresh_expires_in" } : { kind: "unknown" }
  }
  if (keycloak !== undefined) {
    return { kind: "at", expiresAt: expiresAt(receivedAt, keycloak), field: "refresh_expires_in" }
  }
  return { kind: "unknown" }
}

/**
 * The value the refresh-token expiry column (option `refresh.refreshTokenExpiryColumn`) holds for "never
 * expires": 9999-12-31T23:59:59Z in epoch seconds. The column is an integer of epoch seconds (BIGINT), like
 * `expires_at`; NULL is "unknown". A far-future sentinel sorts after every real expiry (a real one is capped
 * at ten years from now), so `WHERE refresh_token_expires_at < <now>` lists the dead ones without a special case.
 */
export const REFRESH_TOKEN_NEVER_EXPIRES = 253_402_300_799

/** A stored refresh-token expiry, read from the column: a time, "never", or unknown (NULL, malformed). */
export type StoredRefreshTokenExpiry = { kind: "at"; expiresAt: number } | { kind: "never" } | { kind: "unknown" }

/**
 * The column value for an expiry read from a response: epoch seconds, the "never" sentinel, or undefined
 * (unknown: nothing to write from this answer).
 */
export function refreshTokenExpiryValue(expiry: RefreshTokenExpiry): number | undefined {
  if (expiry.kind === "at") return expiry.expiresAt
  if (expiry.kind === "never") return REFRESH_TOKEN_NEVER_EXPIRES
  return undefined
}

/**
 * Reads the column as stored. Drivers return a BIGINT as a number, a decimal string (node-postgres) or a
 * bigint (Prisma): all are accepted. Anything else (NULL, a negative or fractional value, text) is unknown.
 */
export function storedRefreshTokenExpiry(value: unknown): StoredRefreshTokenExpiry {
  const n =
    typeof value === "number"
      ? value
      : typeof value === "bigint"
        ? Number(value)
        : typeof value === "string" && /^\d{1,15}$/.test(value)
          ? Number(value)
          : NaN
  if (!Number.isSafeInteger(n) || n < 0) return { kind: "unknown" }
  return n >= REFRESH_TOKEN_NEVER_EXPIRES ? { kind: "never" } : { kind: "at", expiresAt: n }
}

/**
 * Whether the stored refresh token is known dead at `nowMs` (epoch ms, the library's clock): its stored expiry
 * has passed. No skew is applied: a refresh token still alive by our clock is sent (the provider refuses it if
 * its clock disagrees), so a live grant is never given up on a guess. "never" and unknown are not dead.
 */
export function isRefreshTokenExpired(stored: unknown, nowMs: number): boolean {
  const expiry = storedRefreshTokenExpiry(stored)
  return expiry.kind === "at" && expiry.expiresAt <= Math.floor(nowMs / 1000)
}

/**
 * The change a write makes to the expiry column, under the merge rules of the refresh token it describes.
 * `incoming[column]` holds the expiry read from the same answer (absent when unknown); the caller has already
 * dropped it when the answer carried no refresh token.
 *
 * - no refresh token in the answer: the stored token and its expiry stay (`{}`);
 * - an expiry in the answer: it is written (through the normal merge);
 * - a NEW refresh token and no expiry: the old expiry does not describe it: `{ [column]: null }` (unknown), the
 *   one null this column is written with;
 * - the same refresh token again and no expiry: the stored expiry still holds (`{}`).
 */
export function refreshTokenExpiryChange(stored: TokenSet, incoming: TokenSet, column: string): TokenSet {
  const incomingRefresh = incoming.refresh_token
  if (typeof incomingRefresh !== "string" || incomingRefresh === "") return {}
  if (incoming[column] !== undefined && incoming[column] !== null) return {}
  const storedValue = stored[column]
  if (storedValue === null || storedValue === undefined) return {}
  return incomingRefresh !== stored.refresh_token ? { [column]: null } : {}
}

/**
 * Below this many seconds, a refresh that pushed the refresh token's expiry later counts as not moving it:
 * the provider's clock and ours round to different seconds (a capped Keycloak session answers the same
 * bound, seen one second apart).
 */
export const REFRESH_TOKEN_EXPIRY_MOVE_SECONDS = 5

/**
 * Whether a refresh moved the refresh token's expiry later (`before` and `after` as stored, column values).
 * False when both are times and `after` is not at least {@link REFRESH_TOKEN_EXPIRY_MOVE_SECONDS} later: the
 * provider caps the token's life (Keycloak's "SSO Session Max"), and refreshing again will not extend it.
 * Anything else (unknown, "never" on either side) is not a cap.
 */
export function refreshMovedExpiry(before: unknown, after: unknown): boolean {
  const b = storedRefreshTokenExpiry(before)
  const a = storedRefreshTokenExpiry(after)
  if (b.kind !== "at" || a.kind !== "at") return true
  return a.expiresAt - b.expiresAt >= REFRESH_TOKEN_EXPIRY_MOVE_SECONDS
}

/** What `refreshExpiring`'s keep-alive mode does with one account, by {@link keepAliveDecision}. */
export type KeepAliveDecision =
  | "refresh-idle" // the access token expired at least `unusedForSeconds` ago: the refresh token sat unused
  | "refresh-before-expiry" // the refresh token's own expiry is within `refreshTokenWithinSeconds`
  | "wait" // nothing to do yet
  | "unknown-age" // no stored access-token expiry, no refresh-token expiry due: cannot judge
  | "expired" // the refresh token's stored expiry has passed: only the user can help
  | "capped" // a refresh here no longer moved its expiry: refreshing again would not extend it

/** What {@link keepAliveDecision} is given: the row's stored values and the pass's settings. */
export interface KeepAliveInput {
  /** The library's clock, epoch ms. */
  nowMs: number
  /** The stored access-token expiry (`expires_at`, epoch seconds), null when unknown. */
  accessExpiresAt: number | null
  /** The refresh-token expiry column's stored value (undefined without the column). */
  refreshTokenExpiresAt: unknown
  unusedForSeconds: number
  /** Refresh when the refresh token expires within this many seconds. */
  refreshTokenWithinSeconds: number
  /** The stored expiry a refresh of this account last left unmoved (this process's memory), if any. */
  cappedAt: number | undefined
}

/**
 * Pure keep-alive policy. Refresh before the refresh token dies, or when it has sat unused long enough; but
 * never once it is dead (the provider would refuse it), nor while its expiry is the one a refresh here already
 * failed to move (Keycloak's SSO Session Max: every pass would refresh again, for nothing).
 */
export function keepAliveDecision(input: KeepAliveInput): KeepAliveDecision {
  const expiry = storedRefreshTokenExpiry(input.refreshTokenExpiresAt)
  const nowSeconds = Math.floor(input.nowMs / 1000)
  if (expiry.kind === "at") {
    if (expiry.expiresAt <= nowSeconds) return "expired"
    if (input.cappedAt !== undefined && expiry.expiresAt <= input.cappedAt) return "capped"
    if (expiry.expiresAt - nowSeconds <= input.refreshTokenWithinSeconds) return "refresh-before-expiry"
  }
  if (input.accessExpiresAt === null) return "unknown-age"
  return input.accessExpiresAt * 1000 <= input.nowMs - input.unusedForSeconds * 1000 ? "refresh-idle" : "wait"
}
