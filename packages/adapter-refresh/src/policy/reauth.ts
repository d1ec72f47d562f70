/**
 * Pure policy of the "needs re-authentication" mark (option `refresh.reauthColumn`).
 *
 * The merge policy never writes null (nothing stored is ever erased); this mark is the one explicit
 * exception: it is set under the account lock when the provider refuses the refresh token (to the OAuth
 * error it answered: "invalid_grant", or "invalid_scope" when the user withdrew consent), and must be cleared
 * again once the account holds working credentials. Any non-empty value is a mark.
 */
import type { TokenSet } from "./merge.js"

/** The value written into the mark column when the provider answers invalid_grant (invalid_scope writes that). */
export const REAUTH_MARK = "invalid_grant"

/** What wrote the incoming tokens. */
export type TokenWriteSource = "sign-in" | "refresh"

/**
 * The extra change a write must make to the mark column: `{ [column]: null }` to clear it, `{}` to leave it.
 *
 * - A successful refresh proves the refresh token works: clear.
 * - A sign-in clears only when it brings a NEW refresh token. A sign-in without one (Google's returning
 *   sign-ins) leaves the refused refresh token in place, so the account will still fail at expiry: keep.
 */
export function reauthMarkChange(
  stored: TokenSet,
  incoming: TokenSet,
  column: string,
  source: TokenWriteSource,
): TokenSet {
  const mark = stored[column]
  if (mark === null || mark === undefined || mark === "") return {}
  if (source === "refresh") return { [column]: null }
  const incomingRefresh = incoming.refresh_token
  const bringsNewRefreshToken =
    typeof incomingRefresh === "string" && incomingRefresh !== "" && incomingRefresh !== stored.refresh_token
  return bringsNewRefreshToken ? { [column]: null } : {}
}

/** Whether a stored token set carries the mark. */
export function isMarkedForReauth(stored: TokenSet, column: string | undefined): boolean {
  if (!column) return false
  const mark = stored[column]
  return mark !== null && mark !== undefined && mark !== ""
}
