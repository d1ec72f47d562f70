/**
 * `getAccessToken({ refusedAccessToken })`: the app says "the API answered 401 to this access token" (RFC 6750
 * §3.1 `invalid_token`: revoked, the user changed their password, the provider rotated keys), so the token
 * must be replaced before its stored expiry. Three rules, each here:
 *
 *   - only while the stored access token is still the refused one, compared under the coordination (the
 *     lock or the lease, `done` of the refresh mode): when another process replaced it, that token is
 *     returned and the provider is not called; the flight and the account lock (or lease) give the same
 *     one-refresh guarantee as an expiry;
 *   - an interval (`refresh.refusedTokenIntervalSeconds`): a refresh for a refused token starts it; while it
 *     runs, another one for the same account in this process is refused with AccessTokenRefusedError
 *     (`retryAfterMs`), so a provider that keeps issuing tokens the API refuses is not hammered. It is kept
 *     per process (nothing shared to store): N processes send at most N such refreshes per interval, each
 *     one for a token the stored row still held;
 *   - the refused token is never handed back (not even when the provider issues it again) and is kept in
 *     no error, event or map: the flight is the account's, and the interval map holds times only.
 */
import { AccessTokenRefusedError, type TokenSyncError } from "../errors.js"
import type { TokenSet } from "../policy/merge.js"
import { BoundedMap, MAX_REFUSED_TOKENS } from "./bounded-map.js"
import type { RefreshMode } from "./engine-types.js"

/** Default `refresh.refusedTokenIntervalSeconds`. */
export const DEFAULT_REFUSED_TOKEN_INTERVAL_SECONDS = 30

/**
 * Per-process memory of when each account was last refreshed for a refused token (times only). Bounded like
 * the engine's other memories: an evicted entry allows one more refresh for a refused token.
 */
export class RefusedTokenInterval {
  readonly #started = new BoundedMap<string, number>(MAX_REFUSED_TOKENS)

  constructor(
    readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  /** How long until a refresh for a refused token of `id` may run again, in ms (0: now). */
  remainingMs(id: string): number {
    const started = this.#started.get(id)
    if (started === undefined) return 0
    const left = started + this.intervalMs - this.now()
    if (left <= 0) this.#started.delete(id)
    return Math.max(0, left)
  }

  start(id: string): void {
    if (this.intervalMs > 0) this.#started.set(id, this.now())
  }
}

/** What `refusedModeOf` takes from the engine. */
export interface RefusedContext {
  id: string
  provider: string
  refused: string
  interval: RefusedTokenInterval
  freshTokens(tokens: TokenSet): boolean
}

/** Whether `tokens` hold the refused access token, unexpired: a refresh now is one for the refusal alone. */
export const holdsRefused = (context: RefusedContext, tokens: TokenSet): boolean =>
  tokens.access_token === context.refused && context.freshTokens(tokens)

/** The interval as an error, when it still holds for the account. */
export function intervalError(context: RefusedContext): AccessTokenRefusedError | undefined {
  const remaining = context.interval.remainingMs(context.id)
  return remaining > 0 ? new AccessTokenRefusedError(context.provider, "interval", remaining) : undefined
}

/**
 * getAccessToken's mode for a refused token: nothing to do once the row (read under the lock or the lease)
 * holds a fresh token that is not the refused one. Before a request for the refusal alone (the refused token
 * has not expired), the interval is checked and started; a refresh due anyway (the token expires) is an
 * ordinary one and neither checks nor starts it.
 */
export function refusedModeOf(base: RefreshMode, context: RefusedContext): RefreshMode {
  return {
    ...base,
    done: (current, stored) => current.access_token !== context.refused && base.done(current, stored),
    beforeSend(current): TokenSyncError | undefined {
      if (!holdsRefused(context, current)) return undefined
      const error = intervalError(context)
      if (!error) context.interval.start(context.id)
      return error
    },
  }
}

/** The error for a flight that ended on the refused token anyway (the provider issued it again). */
export const reissuedError = (context: RefusedContext): AccessTokenRefusedError =>
  new AccessTokenRefusedError(
    context.provider,
    "reissued",
    context.interval.remainingMs(context.id) || context.interval.intervalMs,
  )
