/**
 * getAccessToken's fast path: what to do with the row read without a lock. Serve it (fresh), serve tokens kept
 * in memory that can no longer be written, refuse at once (a refresh token known dead or past its expiry, or
 * none: no lock and no provider request), or go to the account's flight, the refused token's when the row
 * still holds it. Decided here from the read, so every branch is tested with fakes, without a database.
 */
import type { StoredView } from "../account-sync.js"
import type { AdapterAccount } from "../authjs-types.js"
import { AccountNotLinkedError, AmbiguousAccountError, RefreshTokenError } from "../errors.js"
import type { TokenSet } from "../policy/merge.js"
import { isExpiring } from "../policy/expiry.js"
import type { AccountKey, StoredAccountRow } from "../store.js"
import type { AccessTokenResult } from "./engine-types.js"
import { sameVersion, type KeptTokens, type KeptTokenStore } from "./issued-tokens.js"
import type { ReauthMemory } from "./reauth-memory.js"
import type { RefusedContext, RefusedTokenInterval } from "./refused-token.js"

/**
 * The freshness rule of every token the engine serves: a non-empty access token that does not expire within
 * `skewSeconds` of `nowMs` (the store's clock where one was read, lease mode; else this process's `now`).
 */
export const freshTokensOf =
  (skewSeconds: number, now: () => number) =>
  (tokens: TokenSet, nowMs: number = now()): boolean =>
    typeof tokens.access_token === "string" &&
    tokens.access_token !== "" &&
    !isExpiring(tokens.expires_at as number | null, nowMs, skewSeconds)

/** The one row the question names: `AccountNotLinkedError` for none, `AmbiguousAccountError` for several. */
export function accountRowOf(
  rows: readonly StoredAccountRow[],
  provider: string,
  providerAccountId: string | undefined,
): StoredAccountRow {
  const candidates =
    providerAccountId === undefined ? rows : rows.filter((row) => row.providerAccountId === providerAccountId)
  const row = candidates[0]
  if (!row) throw new AccountNotLinkedError(provider)
  if (candidates.length > 1) throw new AmbiguousAccountError(provider, candidates.length)
  return row
}

/** What the fast path decided: an answer, the refused token's flight, or the account's flight. */
export type FastPathStep =
  { step: "serve"; result: AccessTokenResult } | { step: "refused"; refusal: RefusedContext } | { step: "refresh" }

/** What the fast path reads besides the row: the engine's kept tokens, memory, clock rules and interval. */
export interface FastPathContext {
  kept: Pick<KeptTokenStore, "get" | "drop" | "accountOf" | "writable">
  reauth: Pick<ReauthMemory, "knownRefused" | "markedError" | "expiredError">
  refusedInterval: RefusedTokenInterval
  freshTokens(tokens: TokenSet): boolean
  /** The refresh token's stored expiry has passed (refresh.refreshTokenExpiryColumn). */
  knownExpired(tokens: TokenSet): boolean
  fromKept(provider: string, entry: KeptTokens, refreshed: boolean): AccessTokenResult
  toAdapterAccount(view: StoredView): AdapterAccount
}

/**
 * The step for the account `key` (`id`), whose row reads as `view`; `refused` is the caller's refused access
 * token. Drops kept tokens the row moved past (a sign-in, another process). Throws the refusals it decides.
 */
export function fastPathStep(
  context: FastPathContext,
  id: string,
  key: AccountKey,
  view: StoredView,
  refused: string | undefined,
): FastPathStep {
  const { kept, reauth, freshTokens } = context
  let entry = kept.get(id)
  if (entry && !sameVersion(entry.from, view.tokens)) {
    kept.drop(id) // the row moved on: the kept tokens are outdated
    entry = undefined
  }
  const current = entry ? (kept.accountOf(entry) as unknown as TokenSet) : view.tokens
  if (refused !== undefined && current.access_token === refused) {
    // Still the refused token: refresh under the coordination, which compares again and checks the interval
    // there (refused-token.ts); this read may be older than a refresh that just replaced the token.
    if (!entry && !freshTokens(view.tokens) && reauth.knownRefused(id, view.tokens))
      throw reauth.markedError(key, view, view.tokens)
    const interval = context.refusedInterval
    return { step: "refused", refusal: { id, provider: key.provider, refused, interval, freshTokens } }
  }
  if (!entry) {
    if (freshTokens(view.tokens)) {
      const accessToken = view.tokens.access_token as string
      return { step: "serve", result: { accessToken, account: context.toAdapterAccount(view), refreshed: false } }
    }
    // Known dead refresh token: fail without a lock or a provider request (no hammering).
    if (reauth.knownRefused(id, view.tokens)) throw reauth.markedError(key, view, view.tokens)
    if (context.knownExpired(view.tokens)) throw reauth.expiredError(key, view, view.tokens)
    if (!view.tokens.refresh_token) throw new RefreshTokenError(key.provider, "missing_refresh_token")
  } else if (!kept.writable(entry) && freshTokens(current)) {
    // No more writes for these tokens: serve them from memory until they expire.
    return { step: "serve", result: context.fromKept(key.provider, entry, false) }
  }
  // Expired (or kept tokens to write): the account's flight.
  return { step: "refresh" }
}
