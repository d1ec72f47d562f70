/**
 * The engine's types: the public `refresh` options and `getAccessToken`'s parameters and result, and the
 * shapes its parts (lock-refresh.ts, lease-refresh.ts, refused-token.ts) share. A module of its own so those
 * parts need not import engine.ts, and so the public types read apart from the orchestration.
 */
import type { AdapterAccount } from "../authjs-types.js"
import type { StoredView } from "../account-sync.js"
import type { RefreshPersistError, TokenSyncError } from "../errors.js"
import type { TokenSet } from "../policy/merge.js"
import type { AccountKey } from "../store.js"
import type { TokenCacheOptions } from "../cache/token-cache.js"
import type { KeptTokens } from "./issued-tokens.js"
import type { ProviderClient, RefreshProviderConfig } from "./provider.js"
import type { RevocationOptions } from "./revocation.js"
import type { TokenResponseReading } from "./token-response.js"

/** The `refresh` option of {@link withTokenSync}: which providers to refresh, and how. */
export interface RefreshOptions {
  /** The provider objects the app gives Auth.js (only those whose tokens should be refreshed). */
  providers: readonly RefreshProviderConfig[]
  /** Refresh when the access token expires within this many seconds. Default 60. */
  skewSeconds?: number
  /**
   * Shortest time between two refreshes of one account, in seconds. After a refresh the stored
   * `expires_at` is never earlier than now + `skewSeconds` + this, so a provider answering
   * `expires_in: 0`, or no expiry at all, is asked again after this interval, not on every call.
   * Default 60.
   */
  minRefreshIntervalSeconds?: number
  /**
   * Longest wait for the account lock (another caller's refresh, an app transaction holding the lock or
   * the row), in ms, via `lock_timeout`. A pooled connection plus the lock is bounded at twice this.
   * In lease mode also the longest wait for another process's lease (polled). Default 10 000.
   */
  lockTimeoutMs?: number
  /** Longest a single request to the provider may take, in ms. Default 10 000. */
  requestTimeoutMs?: number
  /**
   * Shortest time between two refreshes of one account for a refused access token (`getAccessToken`'s
   * `refusedAccessToken`), in seconds, kept per process. Meanwhile such a call throws
   * `AccessTokenRefusedError` with `retryAfterMs`, so a provider whose tokens the API keeps refusing is not
   * hammered. A refresh due anyway (the token expires) is not limited by it. Default 30; 0 turns it off.
   */
  refusedTokenIntervalSeconds?: number
  /**
   * Most refreshes this process runs at once. Each holds one pooled connection while the provider
   * answers, so keep it below your pool size: the rest of the pool stays free for the application's own
   * queries during a storm of expiries. Default 4. Lock mode only: lease mode holds no connection while the
   * provider answers (see `providerConcurrency`).
   */
  maxConcurrentRefreshes?: number
  /** Longest wait for one of those refresh slots, in ms. Default 30 000. */
  queueTimeoutMs?: number
  /**
   * How processes exclude each other's refreshes of one account:
   * - "lock" (default): a transaction holding the account's lock for the whole request to the provider;
   *   needs no migration; `maxConcurrentRefreshes` caps it;
   * - "lease": a lease row per account (the table `authjs_refresh_lease`, see the README's migration),
   *   taken and released in short statements; nothing is held while the provider answers, so no
   *   per-process cap applies. Needs a store with `leases`.
   */
  coordination?: "lock" | "lease"
  /**
   * Lease mode: what a lease keeps beyond one request's bound (`requestTimeoutMs`), in ms, for the write of
   * the answer and for pauses. The lease lasts `requestTimeoutMs + leaseMarginMs + 2000`. Default 5 000.
   */
  leaseMarginMs?: number
  /**
   * Lease mode: how much longer than `requestTimeoutMs` a refresh request already sent keeps waiting for its
   * answer, its lease renewed meanwhile, before it is abandoned. A busy provider may answer late, and an answer
   * abandoned takes its rotated refresh token with it: the grant is lost. Default twice `requestTimeoutMs`;
   * 0 abandons the request at `requestTimeoutMs`. Lock mode always abandons it there.
   */
  lateAnswerMs?: number
  /**
   * Lease mode: most of the refreshes' own statements (a TAKE and its read, a renewal, the write, a RELEASE)
   * this process has in flight at once. A burst of expiries then takes at most that many of the app's pooled
   * connections at a time; the rest serve the app, and each statement waits its turn (bounded by
   * `lockTimeoutMs`). The read of a fresh token is the caller's own and is not counted. Default 4.
   */
  maxConcurrentStatements?: number
  /**
   * Most refreshes of one provider this process runs at once, by provider id (for providers with rate
   * limits); waits for a slot are bounded by `queueTimeoutMs`. Default: no limit per provider; lease mode's
   * admission (64 per process to start, adapted to how long refreshes take, 2 to 64) applies to all of them.
   */
  providerConcurrency?: Readonly<Record<string, number>>
  /**
   * Extra attempts when a request certainly did not reach the provider's grant processing (connection
   * refused, DNS failure, HTTP 429/503). Timeouts and other failures are never retried: the provider
   * may have rotated the refresh token already, and re-sending the old one would trigger reuse
   * detection and revoke the grant. Default 2.
   */
  retries?: number
  /** First backoff delay in ms, doubled per retry (plus jitter). Default 200. */
  backoffMs?: number
  /**
   * A text column of the account table that holds the "needs re-authentication" mark (the OAuth error the
   * provider refused the refresh with: "invalid_grant", or "invalid_scope"), shared by every process. Without
   * it the mark lives in a per-process memory cache. Either way `TOKEN_SYNC_CHANNELS.reauth` reports it.
   */
  reauthColumn?: string
  /**
   * An integer column (BIGINT) of the account table that holds when the stored refresh token dies, in epoch
   * seconds, as the provider said (`refresh_token_expires_in`, Keycloak's `refresh_expires_in`), counted from when
   * the answer was received; `REFRESH_TOKEN_NEVER_EXPIRES` for "never" (Keycloak's offline tokens), NULL when
   * unknown. Written by sign-ins and refreshes. With it, `getAccessToken` on a refresh token past that time throws
   * `RefreshTokenError` (reason "expired") without a request, and `refreshExpiring`'s keep-alive mode refreshes
   * before it. Without it, a dead refresh token is found when the provider refuses it.
   */
  refreshTokenExpiryColumn?: string
  /** Allow plain-http issuers/token endpoints other than localhost/127.0.0.1. Default false. */
  allowInsecureRequests?: boolean
  /**
   * Opt-in: answer `getAccessToken` for a fresh token this process read recently from memory, with no
   * database round trip (see cache/token-cache.ts; `{}` for the defaults). Pair it with
   * `invalidation: pgNotifyInvalidation(...)` on PostgreSQL so other processes' writes are heard within
   * milliseconds; without a channel, another process's write may go unseen for `maxAgeMs` (default 1 s).
   */
  cache?: TokenCacheOptions
  /**
   * Opt-in, per provider: revoke the stored refresh token at the provider (RFC 7009) after `unlinkAccount`
   * or `deleteUser` deleted its row, and optionally the access token on sign-out. Best effort, bounded,
   * never failing the call it follows; outcomes on `TOKEN_SYNC_CHANNELS.revocation`.
   */
  revocation?: RevocationOptions
}

/** Whose token `getAccessToken` returns: a user and a provider id. */
export interface GetAccessTokenParams {
  userId: string | number
  /** The provider id, e.g. "google". */
  provider: string
  /** Needed only when the user has several accounts at the provider. */
  providerAccountId?: string
  /**
   * Scopes the caller needs, as an array or one space-delimited string (RFC 6749 §3.3: case-sensitive,
   * order-free). When the stored grant lacks one, `getAccessToken` throws `InsufficientScopeError` naming
   * the missing scopes, with no request to the provider: a refresh cannot widen a grant (RFC 6749 §6).
   * The check runs on the stored scope before any refresh, and again on the scope a refresh answer
   * reports, which may be narrower (RFC 6749 §5.1). An unknown stored scope (null) passes. Google's long
   * names for `email` and `profile`, and GitHub's comma-separated, nested scopes, count as what they grant.
   * @see RFC 6749 §3.3, §5.1, §6
   */
  scopes?: readonly string[] | string
  /**
   * The access token an API just refused (HTTP 401, RFC 6750 §3.1 `invalid_token`: revoked, password changed,
   * keys rotated), as it was sent. Refreshes before the stored expiry, but only while the stored access token
   * is still this one, compared under the account's lock or lease: when another caller or process replaced
   * it, that token is returned with no request to the provider. Across processes, one refresh per refused
   * token. Never returns the refused token: within `refresh.refusedTokenIntervalSeconds` of this process's
   * last refresh for a refused token of the account, or when the provider issues the same token again, it
   * throws `AccessTokenRefusedError` with `retryAfterMs`. The token appears in no error and no event.
   * @see RFC 6750 §3.1
   */
  refusedAccessToken?: string
}

/**
 * What `getAccessToken` resolves to.
 *
 * @see [RFC 6750 §2.1](https://www.rfc-editor.org/rfc/rfc6750#section-2.1) (sending `accessToken` as a Bearer token)
 */
export interface AccessTokenResult {
  accessToken: string
  /** The stored account after the call, tokens decoded (with unwritten issued tokens merged in). */
  account: AdapterAccount
  /** Whether this call (or the in-process flight it joined) refreshed the token at the provider. */
  refreshed: boolean
  /**
   * Set when the provider issued tokens that the database has not stored (yet): the access token is
   * valid, but other processes do not see it. Report it; later calls retry the write a bounded number of times.
   */
  persistError?: RefreshPersistError
  /** Fields of the provider's answer that were malformed and not written (names only). */
  droppedFields?: string[]
}

/** What `createRefreshEngine` returns: `getAccessToken` and what the background refresher and revocation use. */
export interface RefreshEngine {
  getAccessToken(params: GetAccessTokenParams): Promise<AccessTokenResult>
  /**
   * For the background refresher: refreshes the account when, under its lock, the row still holds the
   * tokens `seen` (what the caller read outside the lock); "unchanged-elsewhere" when it does not (another
   * worker, a getAccessToken or a sign-in wrote it meanwhile: this expiry is handled). Failures throw
   * like getAccessToken's; a lock not granted within `lockTimeoutMs` throws RefreshLockTimeoutError. The
   * stored account comes back with the outcome.
   */
  refreshIfUnchanged(
    key: AccountKey,
    userId: string,
    seen: TokenSet,
    lockTimeoutMs: number,
  ): Promise<{ outcome: "refreshed" | "unchanged-elsewhere"; account: AdapterAccount }>
  /** The configured provider ids. */
  readonly providerIds: readonly string[]
  /** Whether the provider already refused the row's refresh token (mark column or this process's memory). */
  knownRefused(key: AccountKey, tokens: TokenSet): boolean
  /** The provider's client (its discovery is cached there), for revocation to share. */
  clientOf(providerId: string): ProviderClient | undefined
}

/**
 * What a locked refresh is for: when it has nothing to do (getAccessToken: the row is fresh; background:
 * the row moved on since it was read) and how long it waits for the lock.
 */
export interface RefreshMode {
  /** `nowMs`: the store's clock in lease mode (epoch ms); the process's otherwise. */
  done(current: TokenSet, stored: StoredView, nowMs?: number): boolean
  lockOptions: { lockTimeoutMs: number; transactionTimeoutMs: number }
  /** Lease mode: wait for another holder (getAccessToken), or take once and report busy (refreshExpiring). */
  leaseWait: boolean
  /** Last check before a request, on the row read under the coordination: an error stops it (refused-token.ts). */
  beforeSend?(current: TokenSet): TokenSyncError | undefined
}

/** How a refresh (or its re-check) ended: the result to serve, or the error to throw. */
export type Outcome = { ok: true; result: AccessTokenResult } | { ok: false; error: TokenSyncError }

/** What the row read before a request holds: the view, kept tokens it applies to, and the token to send. */
export interface Checked {
  stored: StoredView
  entry: KeptTokens | undefined
  current: TokenSet
  refreshToken: string
}

/** The provider's answer as read: the columns to write, the access token, the fields dropped. */
export type Answer = TokenResponseReading

/** Which account an answer or a refusal is about, for the reauth event. */
export interface AccountRef {
  userId: unknown
  providerAccountId: unknown
}

/** One refresh under the mode's coordination (lock-refresh.ts, lease-refresh.ts); `onIssued` gets issued tokens. */
export type CoordinatedRefresh = (
  key: AccountKey,
  userId: string,
  client: ProviderClient,
  onIssued: (entry: KeptTokens) => void,
  mode: RefreshMode,
) => Promise<Outcome>
