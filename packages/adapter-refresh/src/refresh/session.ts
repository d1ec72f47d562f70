/**
 * Helpers for the Auth.js `session` and `jwt` callbacks: turn getAccessToken's typed failures into the
 * `error` string the client checks (`session.error === "RefreshTokenError"` -> sign in again).
 */
import {
  AccountNotLinkedError,
  ProviderUnavailableError,
  RefreshLockTimeoutError,
  RefreshTokenError,
} from "../errors.js"
import type { AccessTokenResult, GetAccessTokenParams } from "./engine-types.js"

/** "RefreshTokenError": the user must sign in again. "RefreshUnavailableError": try again later. */
export type SessionTokenError = "RefreshTokenError" | "RefreshUnavailableError"

/** What {@link getSessionAccessToken} resolves to, ready to copy into a session or JWT. */
export interface SessionAccessToken {
  /** A valid access token, or null (not linked, or an error). */
  accessToken: string | null
  /** Epoch seconds, when known. */
  expiresAt: number | null
  error: SessionTokenError | null
}

/**
 * The error string for a session, for a `catch` around your own `getAccessToken` call.
 *
 * @param error What `getAccessToken` threw.
 * @returns "RefreshTokenError" (sign in again), "RefreshUnavailableError" (try later), or null when `error`
 *   is not a refresh failure: then rethrow it.
 */
export function sessionErrorOf(error: unknown): SessionTokenError | null {
  if (error instanceof RefreshTokenError) return "RefreshTokenError"
  if (error instanceof ProviderUnavailableError || error instanceof RefreshLockTimeoutError)
    return "RefreshUnavailableError"
  return null
}

/**
 * Calls `adapter.getAccessToken` and never throws for expected outcomes: a refused refresh token becomes
 * `error: "RefreshTokenError"`, a provider outage `error: "RefreshUnavailableError"`, an unlinked account
 * `accessToken: null`. Anything else (a database failure) is rethrown.
 *
 * @param adapter The adapter `withTokenSync` returned.
 * @param params Whose token: `{ userId, provider }` (and `providerAccountId` when the user has several).
 * @returns The token and its expiry, or `accessToken: null` with the error string the client checks.
 * @throws {@link AccountStoreError} and any other failure that is not a refresh outcome.
 * @see [RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2) (`invalid_grant`).
 * @example
 * ```ts
 * callbacks: {
 *   async session({ session, user }) {
 *     const token = await getSessionAccessToken(adapter, { userId: user.id, provider: "google" })
 *     return { ...session, accessToken: token.accessToken, error: token.error }
 *   },
 * }
 * ```
 */
export async function getSessionAccessToken(
  adapter: { getAccessToken(params: GetAccessTokenParams): Promise<AccessTokenResult> },
  params: GetAccessTokenParams,
): Promise<SessionAccessToken> {
  try {
    const { accessToken, account } = await adapter.getAccessToken(params)
    return { accessToken, expiresAt: typeof account.expires_at === "number" ? account.expires_at : null, error: null }
  } catch (error) {
    if (error instanceof AccountNotLinkedError) return { accessToken: null, expiresAt: null, error: null }
    const sessionError = sessionErrorOf(error)
    if (sessionError) return { accessToken: null, expiresAt: null, error: sessionError }
    throw error
  }
}
