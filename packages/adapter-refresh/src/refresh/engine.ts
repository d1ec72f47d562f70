/**
 * `getAccessToken`: a valid access token on demand, with exactly one refresh per expiry reaching the
 * provider however many callers in however many processes ask at once.
 *
 * Coordination, from cheap to strong:
 *   1. Fast path: ONE unlocked read (`findAccounts`). A fresh token is returned without any lock.
 *   2. In-process single-flight: callers in one process asking for the same account share one promise,
 *      so they share one database connection and one wait.
 *   3. Across processes: `withAccountLock` (a transaction holding `pg_advisory_xact_lock` on the account
 *      key, the same lock sign-in syncs take). Under it the row is re-read and the expiry re-checked: if
 *      another process refreshed meanwhile, its token is returned and the provider is not called. Else
 *      the provider is called while the lock is held (bounded by `requestTimeoutMs`), the response is
 *      merged through the sign-in merge policy and committed. A sign-in landing meanwhile waits for the
 *      lock, so it is applied after the refresh and an older refresh result never overwrites it.
 */
import type { AdapterAccount } from "../authjs-types.js"
import type { AccountSync, StoredView } from "../account-sync.js"
import {
  AccountNotLinkedError,
  AccountStoreError,
  AmbiguousAccountError,
  InvalidAccountInputError,
  ProviderUnavailableError,
  RefreshLockTimeoutError,
  RefreshNotConfiguredError,
  RefreshTokenError,
  TokenSyncError,
} from "../errors.js"
import { isExpiring } from "../policy/expiry.js"
import { incomingTokens, type TokenSet } from "../policy/merge.js"
import type { AccountKey, AccountStore } from "../store.js"
import { ProviderClient, resolveProvider, type GrantFailure, type RefreshProviderConfig } from "./provider.js"
import { isMarkedForReauth, REAUTH_MARK } from "../policy/reauth.js"

export interface RefreshOptions {
  /** The provider objects the app gives Auth.js (only those whose tokens should be refreshed). */
  providers: readonly RefreshProviderConfig[]
  /** Refresh when the access token expires within this many seconds. Default 60. */
  skewSeconds?: number
  /** Longest wait for another caller's refresh (the account lock), in ms. Default 10 000. */
  lockTimeoutMs?: number
  /** Longest a single request to the provider may take, in ms. Default 10 000. */
  requestTimeoutMs?: number
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
   * A text column of the account table that holds the "needs re-authentication" mark ("invalid_grant"),
   * shared by every process. Without it the mark lives in a per-process memory cache.
   */
  reauthColumn?: string
  /** Allow plain-http issuers/token endpoints other than localhost/127.0.0.1. Default false. */
  allowInsecureRequests?: boolean
}

export interface GetAccessTokenParams {
  userId: string | number
  /** The provider id, e.g. "google". */
  provider: string
  /** Needed only when the user has several accounts at the provider. */
  providerAccountId?: string
}

export interface AccessTokenResult {
  accessToken: string
  /** The stored account after the call, tokens decoded. */
  account: AdapterAccount
  /** Whether this call (or the in-process flight it joined) refreshed the token at the provider. */
  refreshed: boolean
}

export interface RefreshEngine {
  getAccessToken(params: GetAccessTokenParams): Promise<AccessTokenResult>
}

/** Tokens the provider issued that the database has not accepted yet, and what the row held before. */
interface PendingWrite {
  from: { access_token: TokenSet[string]; refresh_token: TokenSet[string] }
  tokens: TokenSet
}

type Outcome = { ok: true; result: AccessTokenResult } | { ok: false; error: TokenSyncError }

const PERSIST_ATTEMPTS = 3
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function nonNegativeInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidAccountInputError(`refresh.${name}`, "must be a non-negative integer")
  return value
}

function failureDetails(failure: GrantFailure): ConstructorParameters<typeof ProviderUnavailableError>[1] {
  switch (failure.kind) {
    case "invalid_grant":
      return { kind: "oauth_error", oauthError: "invalid_grant" }
    case "oauth_error":
      return { kind: "oauth_error", status: failure.status, oauthError: failure.oauthError }
    case "http_status":
      return { kind: "http_status", status: failure.status }
    case "timeout":
      return { kind: "timeout" }
    case "network":
      return { kind: "network", detail: failure.detail }
    case "malformed_response":
      return { kind: "malformed_response", detail: failure.detail }
    case "discovery":
      return { kind: "discovery", detail: failure.detail }
  }
}

const retrySafe = (failure: GrantFailure): boolean =>
  failure.kind === "discovery" || ("retrySafe" in failure && failure.retrySafe)

export function createRefreshEngine(store: AccountStore, sync: AccountSync, options: RefreshOptions, now: () => number = Date.now): RefreshEngine {
  const skewSeconds = nonNegativeInteger(options.skewSeconds, 60, "skewSeconds")
  const lockTimeoutMs = nonNegativeInteger(options.lockTimeoutMs, 10_000, "lockTimeoutMs") || 10_000
  const requestTimeoutMs = nonNegativeInteger(options.requestTimeoutMs, 10_000, "requestTimeoutMs") || 10_000
  const retries = nonNegativeInteger(options.retries, 2, "retries")
  const backoffMs = nonNegativeInteger(options.backoffMs, 200, "backoffMs")
  const reauthColumn = options.reauthColumn
  // The transaction must outlive the lock wait plus every attempt and backoff under the lock.
  const transactionTimeoutMs = lockTimeoutMs + (retries + 1) * requestTimeoutMs + backoffMs * 2 ** (retries + 1) + 5_000
  const lockOptions = { lockTimeoutMs, transactionTimeoutMs }

  // Fail at start-up, not at the first expiry, on a provider that cannot be refreshed.
  const clients = new Map<string, ProviderClient>()
  for (const provider of options.providers) {
    const resolved = resolveProvider(provider, options.allowInsecureRequests === true)
    clients.set(resolved.id, new ProviderClient(resolved))
  }

  const flights = new Map<string, Promise<AccessTokenResult>>()
  /** Per-process "needs re-authentication" memory: key -> the refresh token the provider refused. */
  const refused = new Map<string, string>()
  const pending = new Map<string, PendingWrite>()

  const idOf = (key: AccountKey): string => `${key.provider}\u001f${key.providerAccountId}`

  const fresh = (view: StoredView): boolean =>
    typeof view.tokens.access_token === "string" &&
    view.tokens.access_token !== "" &&
    !isExpiring(view.tokens.expires_at as number | null, now(), skewSeconds)

  const success = (account: AdapterAccount, refreshed: boolean): Outcome => ({
    ok: true,
    result: { accessToken: account.access_token as string, account, refreshed },
  })

  /** Whether the provider already refused the stored refresh token (mark column or memory). */
  const knownRefused = (id: string, view: StoredView): boolean =>
    isMarkedForReauth(view.tokens, reauthColumn) ||
    (refused.has(id) && refused.get(id) === view.tokens.refresh_token)

  function storeError(error: unknown, provider: string): unknown {
    // SQLSTATE 55P03 is lock_not_available: our lock_timeout expired while another caller held the lock.
    if (error instanceof AccountStoreError && error.sqlState === "55P03") {
      return new RefreshLockTimeoutError(provider, lockTimeoutMs)
    }
    if (error instanceof TokenSyncError) return error
    return new AccountStoreError(store.name, "a token refresh", error)
  }

  async function grant(client: ProviderClient, refreshToken: string): Promise<{ ok: true; tokens: TokenSet } | { ok: false; failure: GrantFailure; attempts: number }> {
    for (let attempt = 1; ; attempt++) {
      const result = await client.refresh(refreshToken, requestTimeoutMs)
      if (result.ok) {
        // Through the same validation as a sign-in; the mark column is ours, never the provider's.
        const tokens = incomingTokens({ ...result.tokens }, sync.columns, now())
        if (reauthColumn) delete tokens[reauthColumn]
        return { ok: true, tokens }
      }
      if (attempt > retries || !retrySafe(result.failure)) return { ok: false, failure: result.failure, attempts: attempt }
      await sleep(backoffMs * 2 ** (attempt - 1) + Math.floor(Math.random() * backoffMs))
    }
  }

  /**
   * Writes tokens the provider issued but the database refused, in fresh transactions, and only while
   * the row still holds what they were refreshed from: otherwise a newer sign-in won and they are dropped.
   * Returns null when they were superseded.
   */
  async function persistPending(key: AccountKey, userId: string, id: string): Promise<AdapterAccount | null> {
    let lastError: unknown
    for (let attempt = 0; attempt < PERSIST_ATTEMPTS; attempt++) {
      if (attempt > 0) await sleep(100 * 2 ** (attempt - 1))
      const write = pending.get(id)
      if (!write) return null
      try {
        return await sync.withStoredAccount(
          key,
          async (stored, locked) => {
            if (!stored || stored.tokens.access_token !== write.from.access_token || stored.tokens.refresh_token !== write.from.refresh_token) {
              pending.delete(id)
              return null
            }
            const account = await sync.writeMerged(locked, stored, write.tokens, "refresh")
            return account
          },
          lockOptions,
          userId,
        ).then((account) => {
          pending.delete(id)
          return account
        })
      } catch (error) {
        lastError = error
      }
    }
    // Still pending: kept in memory, and the next getAccessToken for this account writes it first.
    throw storeError(lastError, key.provider)
  }

  async function refreshUnderLock(key: AccountKey, userId: string, client: ProviderClient): Promise<AccessTokenResult> {
    const id = idOf(key)
    let issued: PendingWrite | undefined
    let outcome: Outcome
    try {
      outcome = await sync.withStoredAccount(
        key,
        async (stored, locked): Promise<Outcome> => {
          if (!stored || stored.row.userId !== userId) return { ok: false, error: new AccountNotLinkedError(key.provider) }
          const from = { access_token: stored.tokens.access_token ?? null, refresh_token: stored.tokens.refresh_token ?? null }

          // Tokens a previous refresh in this process could not persist go in first (if still current).
          const left = pending.get(id)
          if (left) {
            pending.delete(id)
            if (left.from.access_token === from.access_token && left.from.refresh_token === from.refresh_token) {
              issued = left
              return success(await sync.writeMerged(locked, stored, left.tokens, "refresh"), true)
            }
          }

          // Another process (or a sign-in) refreshed while we waited for the lock.
          if (fresh(stored)) return success(sync.toAdapterAccount(stored), false)
          if (knownRefused(id, stored)) return { ok: false, error: new RefreshTokenError(key.provider, "marked") }
          const refreshToken = stored.tokens.refresh_token
          if (typeof refreshToken !== "string" || refreshToken === "") {
            return { ok: false, error: new RefreshTokenError(key.provider, "missing_refresh_token") }
          }

          const result = await grant(client, refreshToken)
          if (!result.ok) {
            if (result.failure.kind === "invalid_grant") {
              // Mark, never wipe: the tokens stay for inspection and a later sign-in replaces them.
              if (reauthColumn) await sync.writeMark(locked, stored, reauthColumn, REAUTH_MARK)
              else refused.set(id, refreshToken)
              return { ok: false, error: new RefreshTokenError(key.provider, "invalid_grant") }
            }
            return { ok: false, error: new ProviderUnavailableError(key.provider, failureDetails(result.failure), result.attempts) }
          }
          // From here on the provider may have rotated the refresh token: these tokens must not be lost.
          issued = { from, tokens: result.tokens }
          return success(await sync.writeMerged(locked, stored, result.tokens, "refresh"), true)
        },
        lockOptions,
        userId,
      )
    } catch (error) {
      if (!issued) throw storeError(error, key.provider)
      // The write (or the commit) failed after the provider issued new tokens: retry in a fresh transaction.
      pending.set(id, issued)
      const account = await persistPending(key, userId, id)
      if (account) return { accessToken: account.access_token as string, account, refreshed: true }
      // Superseded by a newer write (a sign-in): start over from what is stored now.
      return refreshUnderLock(key, userId, client)
    }
    if (!outcome.ok) throw outcome.error
    if (outcome.result.refreshed) refused.delete(id)
    return outcome.result
  }

  return {
    async getAccessToken(params) {
      if (typeof params !== "object" || params === null) throw new InvalidAccountInputError("params", "must be an object")
      const userId = typeof params.userId === "number" && Number.isSafeInteger(params.userId) ? String(params.userId) : params.userId
      if (typeof userId !== "string" || userId === "") throw new InvalidAccountInputError("userId", "must be a non-empty string")
      if (typeof params.provider !== "string" || params.provider === "") throw new InvalidAccountInputError("provider", "must be a non-empty string")
      const client = clients.get(params.provider)
      if (!client) throw new RefreshNotConfiguredError(params.provider, "it is not in refresh.providers")

      // Fast path: one unlocked round trip.
      let rows
      try {
        rows = await store.findAccounts(userId, params.provider)
      } catch (error) {
        throw storeError(error, params.provider)
      }
      const candidates = params.providerAccountId === undefined ? rows : rows.filter((row) => row.providerAccountId === params.providerAccountId)
      const row = candidates[0]
      if (!row) throw new AccountNotLinkedError(params.provider)
      if (candidates.length > 1) throw new AmbiguousAccountError(params.provider, candidates.length)
      const key: AccountKey = { provider: row.provider, providerAccountId: row.providerAccountId }
      const id = idOf(key)
      const view = await sync.viewOf(row)
      if (!pending.has(id)) {
        if (fresh(view)) return { accessToken: view.tokens.access_token as string, account: sync.toAdapterAccount(view), refreshed: false }
        // Known dead refresh token: fail without a lock or a provider request (no hammering).
        if (knownRefused(id, view)) throw new RefreshTokenError(key.provider, "marked")
        if (!view.tokens.refresh_token) throw new RefreshTokenError(key.provider, "missing_refresh_token")
      }

      // Expired: one flight per account per process.
      let flight = flights.get(id)
      if (!flight) {
        flight = refreshUnderLock(key, userId, client).finally(() => flights.delete(id))
        flights.set(id, flight)
      }
      return flight
    },
  }
}
