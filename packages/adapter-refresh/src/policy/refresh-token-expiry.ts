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
 * seconds) from the moment the response was received. This is the building block of the refresh-token
 * expiry column (issue 19, part 3); no column is written here.
 */
import { lifetimeSeconds } from "./expiry.js"

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
