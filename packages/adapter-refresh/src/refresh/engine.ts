/**
 * `getAccessToken`: a valid access token on demand, with exactly one refresh per expiry reaching the
 * provider however many callers in however many processes ask at once.
 *
 * Three parts, each in its own module:
 *   - coordination (coordination.ts): in-process single-flight per account, a per-process cap on
 *     concurrent refreshes (`maxConcurrentRefreshes`, below the pool size, so a storm of expiries cannot
 *     take every pooled connection), and a bound on every wait;
 *   - the grant (provider.ts, token-response.ts): one refresh_token request, its answer read tolerantly;
 *   - the persistence of issued tokens (issued-tokens.ts): kept in memory when the database refuses them.
 * Its types, settings, re-authentication memory and the steps both modes share live in engine-types.ts,
 * engine-settings.ts, reauth-memory.ts and outcomes.ts.
 *
 * Across processes, lock mode (lock-refresh.ts): `withAccountLock` (a transaction holding
 * `pg_advisory_xact_lock` on the account key, the same lock sign-in syncs take). Under it the row is re-read
 * and the expiry re-checked: if another process refreshed meanwhile, its token is returned and the provider
 * is not called. Else the provider is
 * called while the lock is held (bounded by `requestTimeoutMs`) and the answer is merged and committed.
 * A sign-in landing meanwhile waits for the lock, so an older refresh result never overwrites it.
 * `coordination: "lease"` instead holds a lease row while the provider answers, and no connection or
 * transaction (lease-refresh.ts); `maxConcurrentRefreshes` does not apply there.
 */
import type { AccountSync, StoredView } from "../account-sync.js"
import {
  AccountNotLinkedError,
  AccountStoreError,
  AmbiguousAccountError,
  InsufficientScopeError,
  InvalidAccountInputError,
  InvalidOptionsError,
  RefreshLockTimeoutError,
  RefreshNotConfiguredError,
  RefreshTokenError,
  TokenSyncError,
} from "../errors.js"
import { isExpiring } from "../policy/expiry.js"
import { missingScopes, requiredScopesOf, scopeDialectOf, type ScopeDialect } from "../policy/scopes.js"
import type { TokenSet } from "../policy/merge.js"
import type { AccountKey, AccountLeases, AccountStore } from "../store.js"
import { createLeaseRefresh } from "./lease-refresh.js"
import { createLockRefresh } from "./lock-refresh.js"
import { createKeptRefresh } from "./kept-refresh.js"
import { boundedRead } from "../bounded-wait.js"
import { SingleFlight, StartTimeout } from "./coordination.js"
import { KeptTokenStore, sameVersion, versionOf } from "./issued-tokens.js"
import { ProviderClient, resolveProvider, type LateAnswer } from "./provider.js"
import { sendGrant } from "./grant.js"
import { elapsedMs, errorCodeOf, errorNameOf, providerOf, publish } from "../observability.js"
import { accountIdOf, TokenCache } from "../cache/token-cache.js"
import { refusedModeOf, reissuedError, RefusedTokenInterval, type RefusedContext } from "./refused-token.js"
import type {
  AccessTokenResult,
  AccountRef,
  GetAccessTokenParams,
  RefreshEngine,
  RefreshMode,
  RefreshOptions,
} from "./engine-types.js"
import { engineSettingsOf } from "./engine-settings.js"
import { ReauthMemory } from "./reauth-memory.js"
import {
  answered,
  checkStored as checkStoredOf,
  failed as failedOf,
  fromKept as fromKeptOf,
  issuedEntry,
  knownExpired,
  readAnswer as readAnswerOf,
  success,
  type OutcomeContext,
} from "./outcomes.js"

/** Throws InsufficientScopeError when the scope given lacks a required one (and publishes the reauth event). */
type ScopeCheck = (account: AccountRef, storedScope: unknown, source: "stored" | "refresh") => void

/** The store's leases, required by `coordination: "lease"`: refused at construction without them. */
function leasesOf(store: AccountStore): AccountLeases {
  if (store.leases) return store.leases
  throw new InvalidOptionsError(
    "refresh.coordination",
    `withTokenSync: refresh.coordination "lease" needs a store with leases (AccountStore.leases), ` +
      `which the ${store.name} account store does not provide; use "lock" or a store that has them.`,
  )
}

export function createRefreshEngine(
  store: AccountStore,
  sync: AccountSync,
  options: RefreshOptions,
  now: () => number = Date.now,
  cache?: TokenCache<AccessTokenResult>,
): RefreshEngine {
  // Every numeric option was checked (non-negative integer) by checkTokenSyncOptions before this runs.
  const {
    skewSeconds,
    minRefreshIntervalSeconds,
    lockTimeoutMs,
    requestTimeoutMs,
    maxConcurrentRefreshes,
    queueTimeoutMs,
    retries,
    backoffMs,
    reauthColumn,
    lockOptions,
    leaseSettings,
    startBoundMs,
    refusedTokenIntervalMs,
  } = engineSettingsOf(options)
  const expiryColumn = options.refreshTokenExpiryColumn
  if (store.coordination === "lease" && options.coordination !== "lease")
    throw new InvalidOptionsError(
      "refresh.coordination",
      `withTokenSync: the ${store.name} account store's lock is a lease (AccountStore.coordination "lease"), ` +
        `which may end while a provider request runs inside it, as lock mode runs it; set ` +
        `refresh.coordination: "lease" (the request then runs outside the lock, under a refresh lease).`,
    )
  const leases = options.coordination === "lease" ? leasesOf(store) : undefined

  // Fail at start-up, not at the first expiry, on a provider that cannot be refreshed.
  const clients = new Map<string, ProviderClient>()
  const dialects = new Map<string, ScopeDialect>()
  for (const provider of options.providers) {
    const resolved = resolveProvider(provider, options.allowInsecureRequests === true)
    clients.set(resolved.id, new ProviderClient(resolved))
    dialects.set(resolved.id, scopeDialectOf(resolved))
  }

  /** One flight per account; its meta is the flight's lock bound (ms). */
  const flights = new SingleFlight<AccessTokenResult, number>()
  const kept = new KeptTokenStore(sync, lockOptions, startBoundMs)
  const reauth = new ReauthMemory(store.name, reauthColumn)
  const refusedInterval = new RefusedTokenInterval(refusedTokenIntervalMs, now)

  const idOf = (key: AccountKey): string => `${key.provider}\u001f${key.providerAccountId}`

  /** `nowMs`: the store's clock where one was read (lease mode), else this process's. */
  const freshTokens = (tokens: TokenSet, nowMs: number = now()): boolean =>
    typeof tokens.access_token === "string" &&
    tokens.access_token !== "" &&
    !isExpiring(tokens.expires_at as number | null, nowMs, skewSeconds)

  // The steps both modes share (outcomes.ts), bound to this engine's kept tokens, memory and settings.
  const outcomes: OutcomeContext = {
    sync,
    kept,
    reauth,
    reauthColumn,
    expiryColumn,
    skewSeconds,
    minRefreshIntervalSeconds,
    now,
  }
  const fromKept = fromKeptOf.bind(undefined, outcomes)
  const checkStored = checkStoredOf.bind(undefined, outcomes)
  const failed = failedOf.bind(undefined, outcomes)
  const readAnswer = readAnswerOf.bind(undefined, outcomes)

  /** A store failure BEFORE the provider was called, as a typed error. */
  function storeError(error: unknown, provider: string, lockWaitMs: number = lockTimeoutMs): unknown {
    // The database gave up waiting for the lock (55P03, 1205, SQLITE_BUSY) while another caller held it.
    if (error instanceof AccountStoreError && error.lockTimeout)
      return new RefreshLockTimeoutError(provider, lockWaitMs, "lock")
    if (error instanceof StartTimeout)
      return new RefreshLockTimeoutError(provider, 2 * lockWaitMs, "connection_or_lock")
    if (error instanceof TokenSyncError) return error
    return new AccountStoreError(store.name, "a token refresh", error)
  }

  const grant = (
    client: ProviderClient,
    refreshToken: string,
    beforeAttempt?: (attempt: number) => Promise<void>,
    lateAnswer?: LateAnswer,
  ) =>
    sendGrant(
      client,
      refreshToken,
      { storeName: store.name, requestTimeoutMs, retries, backoffMs },
      beforeAttempt,
      lateAnswer,
    )

  /** getAccessToken's mode: nothing to do once the row holds a fresh token. */
  const onDemand: RefreshMode = {
    done: (current, _stored, nowMs) => freshTokens(current, nowMs),
    lockOptions,
    leaseWait: true,
  }

  const leaseRefresh =
    leases &&
    createLeaseRefresh({
      store,
      sync,
      leases,
      reauthColumn,
      settings: { ...leaseSettings, queueTimeoutMs, startBoundMs, lockTimeoutMs },
      providerConcurrency: options.providerConcurrency,
      checkStored: (key, userId, stored, mode, nowMs) => checkStored(idOf(key), key, userId, stored, mode, nowMs),
      grant,
      failed,
      readAnswer,
      issuedEntry,
      answered,
      success,
      freshTokens,
    })

  const lockRefresh = createLockRefresh({
    sync,
    reauthColumn,
    settings: { maxConcurrentRefreshes, queueTimeoutMs },
    checkStored: (key, userId, stored, mode) => checkStored(idOf(key), key, userId, stored, mode),
    grant,
    failed,
    readAnswer,
    issuedEntry,
    answered,
  })

  const { refresh, slowPath } = createKeptRefresh({
    kept,
    leaseRefresh,
    lockRefresh,
    reauth,
    queueTimeoutMs,
    onDemand,
    freshTokens,
    fromKept,
    storeError,
  })

  /** `getAccessToken`, reported on the access-token (and, when it fails, failure) channel. */
  async function observed(params: GetAccessTokenParams): Promise<AccessTokenResult> {
    const started = performance.now()
    const provider = providerOf(params)
    try {
      const served = await getAccessTokenOnce(params)
      const result = served.result
      publish("accessToken", () => ({
        store: store.name,
        provider,
        outcome: served.cached ? "cached" : result.refreshed ? "refreshed" : "fresh",
        notPersisted: result.persistError !== undefined,
        durationMs: elapsedMs(started),
      }))
      return result
    } catch (error) {
      const errorCode = errorCodeOf(error)
      publish("accessToken", () => ({
        store: store.name,
        provider,
        outcome: "failed",
        notPersisted: false,
        durationMs: elapsedMs(started),
        errorCode,
      }))
      publish("failure", () => ({
        operation: "access-token",
        store: store.name,
        provider,
        errorCode,
        errorName: errorNameOf(error),
      }))
      throw error
    }
  }

  /** Whether a cached answer may still be served: the same freshness rule as the stored row's. */
  const cachedFresh = (result: AccessTokenResult): boolean => freshTokens(result.account as unknown as TokenSet)
  /** The cache holds and hands out copies: a caller changing its result must not change another caller's. */
  const copyOf = (result: AccessTokenResult, refreshed = result.refreshed): AccessTokenResult => ({
    ...result,
    account: { ...result.account },
    refreshed,
  })

  async function getAccessTokenOnce(
    params: GetAccessTokenParams,
  ): Promise<{ result: AccessTokenResult; cached: boolean }> {
    if (typeof params !== "object" || params === null) throw new InvalidAccountInputError("params", "must be an object")
    const userId =
      typeof params.userId === "number" && Number.isSafeInteger(params.userId) ? String(params.userId) : params.userId
    if (typeof userId !== "string" || userId === "")
      throw new InvalidAccountInputError("userId", "must be a non-empty string")
    if (typeof params.provider !== "string" || params.provider === "")
      throw new InvalidAccountInputError("provider", "must be a non-empty string")
    if (
      params.refusedAccessToken !== undefined &&
      (typeof params.refusedAccessToken !== "string" || params.refusedAccessToken === "")
    )
      throw new InvalidAccountInputError("refusedAccessToken", "must be a non-empty string (the token the API refused)")
    const client = clients.get(params.provider)
    if (!client) throw new RefreshNotConfiguredError(params.provider, "it is not in refresh.providers")
    const required = requiredScopesOf(params.scopes)
    const scopeCheck = required.length ? scopeCheckOf(params.provider, required) : undefined
    if (!cache) {
      const result = await resolveAccessToken(params, userId, client, scopeCheck)
      scopeCheck?.(result.account, result.account.scope, result.refreshed ? "refresh" : "stored")
      return { result, cached: false }
    }

    const cacheKey = TokenCache.keyOf(userId, params.provider, params.providerAccountId)
    // A hit answers only the question it was stored for: this user's account at this provider.
    const answers = (result: AccessTokenResult): boolean =>
      String(result.account.userId) === userId &&
      result.account.provider === params.provider &&
      (params.providerAccountId === undefined || result.account.providerAccountId === params.providerAccountId)
    // A refused token is checked against the database, never against what this process cached.
    const hit =
      params.refusedAccessToken === undefined
        ? cache.get(cacheKey, (result) => answers(result) && cachedFresh(result))
        : undefined
    if (hit) {
      scopeCheck?.(hit.account, hit.account.scope, "stored")
      return { result: copyOf(hit, false), cached: true }
    }
    // The ticket is taken before the read: an invalidation arriving during it voids the result.
    const ticket = cache.beginRead(userId)
    let result: AccessTokenResult
    try {
      result = await resolveAccessToken(params, userId, client, scopeCheck)
    } catch (error) {
      cache.endRead(ticket)
      throw error
    }
    // Only what the database holds is shared: never tokens kept in memory after a refused write. And only
    // under the user id as the database stores it ("7", not "007"; a uuid in lower case): the trigger's
    // NOTIFY and every invalidation name that form, so an entry under another spelling would go unheard.
    if (result.persistError === undefined && answers(result)) {
      cache.put(
        ticket,
        cacheKey,
        accountIdOf(result.account.provider, result.account.providerAccountId),
        copyOf(result),
      )
    } else {
      cache.endRead(ticket)
    }
    // After the cache took the result: the tokens are valid for other callers, only not for these scopes.
    scopeCheck?.(result.account, result.account.scope, result.refreshed ? "refresh" : "stored")
    return { result, cached: false }
  }

  /** Throws InsufficientScopeError when a known stored scope lacks one of `required` (see policy/scopes.ts). */
  function scopeCheckOf(provider: string, required: readonly string[]): ScopeCheck {
    const dialect = dialects.get(provider)
    return (account, storedScope, source) => {
      const missing = missingScopes(required, storedScope, dialect)
      if (!missing?.length) return
      reauth.reportReauth(provider, account, { reason: "scopes_missing", missingScopes: missing, scopeSource: source })
      throw new InsufficientScopeError(provider, missing, source)
    }
  }

  async function resolveAccessToken(
    params: GetAccessTokenParams,
    userId: string,
    client: ProviderClient,
    scopeCheck: ScopeCheck | undefined,
  ): Promise<AccessTokenResult> {
    // Fast path: one unlocked round trip, bounded (a pool the app has exhausted must not hang us).
    let rows
    try {
      rows = await boundedRead(
        startBoundMs,
        () => new StartTimeout(),
        (signal) => store.findAccounts(userId, params.provider, { signal }),
      )
    } catch (error) {
      throw storeError(error, params.provider)
    }
    const candidates =
      params.providerAccountId === undefined
        ? rows
        : rows.filter((row) => row.providerAccountId === params.providerAccountId)
    const row = candidates[0]
    if (!row) throw new AccountNotLinkedError(params.provider)
    if (candidates.length > 1) throw new AmbiguousAccountError(params.provider, candidates.length)
    const key: AccountKey = { provider: row.provider, providerAccountId: row.providerAccountId }
    const id = idOf(key)
    const view: StoredView = await sync.viewOf(row)
    // Before any refresh: a refresh cannot add scopes the grant lacks (RFC 6749 §6), so no request is sent.
    scopeCheck?.(view.row, view.tokens.scope, "stored")

    let entry = kept.get(id)
    if (entry && !sameVersion(entry.from, view.tokens)) {
      kept.drop(id) // the row moved on (a sign-in, another process): the kept tokens are outdated
      entry = undefined
    }
    const refusal: RefusedContext | undefined =
      params.refusedAccessToken === undefined
        ? undefined
        : { id, provider: key.provider, refused: params.refusedAccessToken, interval: refusedInterval, freshTokens }
    const current = entry ? (kept.accountOf(entry) as unknown as TokenSet) : view.tokens
    if (refusal && current.access_token === refusal.refused) {
      // Still the refused token: refresh under the coordination, which compares again and checks the interval
      // there (refused-token.ts); this read may be older than a refresh that just replaced the token.
      if (!entry && !freshTokens(view.tokens) && reauth.knownRefused(id, view.tokens))
        throw reauth.markedError(key, view, view.tokens)
      return refusedFlight(id, refusal, refusedModeOf(onDemand, refusal), (mode, fresh) =>
        slowPath(key, userId, client, mode, fresh),
      )
    }
    if (!entry) {
      if (freshTokens(view.tokens))
        return {
          accessToken: view.tokens.access_token as string,
          account: sync.toAdapterAccount(view),
          refreshed: false,
        }
      // Known dead refresh token: fail without a lock or a provider request (no hammering).
      if (reauth.knownRefused(id, view.tokens)) throw reauth.markedError(key, view, view.tokens)
      if (knownExpired(outcomes, view.tokens)) throw reauth.expiredError(key, view, view.tokens)
      if (!view.tokens.refresh_token) throw new RefreshTokenError(key.provider, "missing_refresh_token")
    } else if (!kept.writable(entry) && freshTokens(kept.accountOf(entry) as unknown as TokenSet)) {
      // No more writes for these tokens: serve them from memory until they expire.
      return fromKept(key.provider, entry, false)
    }

    // Expired (or kept tokens to write): one flight per account per process.
    return onDemandFlight(id, () => slowPath(key, userId, client))
  }

  /**
   * The flight of a refused token: the account's one flight, started with the refused token's mode unless one
   * is under way. A joined flight that ended on the refused token (it started before the refusal) is followed
   * by one of its own; one of its own that did is the provider issuing the same token again.
   */
  async function refusedFlight(
    id: string,
    refusal: RefusedContext,
    mode: RefreshMode,
    start: (mode: RefreshMode, fresh: (tokens: TokenSet) => boolean) => Promise<AccessTokenResult>,
  ): Promise<AccessTokenResult> {
    const fresh = (tokens: TokenSet): boolean => tokens.access_token !== refusal.refused && freshTokens(tokens)
    for (let attempt = 1; ; attempt++) {
      let ours = false
      const result = await onDemandFlight(id, () => {
        ours = true
        return start(mode, fresh)
      })
      if (result.accessToken !== refusal.refused) return result
      if (ours || attempt >= 3) throw reissuedError(refusal)
    }
  }

  /**
   * getAccessToken's flight. A caller that joined a flight with a shorter lock bound (refreshExpiring's
   * `tryLockMs`) that gave up on the lock has not had its own wait: it starts (or joins) another flight, so
   * every caller keeps its own bound. Bounded: a few tries, each ending at a lock bound.
   */
  async function onDemandFlight(id: string, start: () => Promise<AccessTokenResult>): Promise<AccessTokenResult> {
    for (let attempt = 1; ; attempt++) {
      const flight = flights.join(id, lockTimeoutMs, start)
      try {
        return await flight.promise
      } catch (error) {
        const shorterWait =
          flight.meta < lockTimeoutMs &&
          error instanceof RefreshLockTimeoutError &&
          error.waitedFor !== "refresh_slot" &&
          error.waitedFor !== "provider_slot"
        if (!shorterWait || attempt >= 3) throw error
      }
    }
  }

  return {
    getAccessToken: observed,
    providerIds: [...clients.keys()],
    knownRefused: (key, tokens) => reauth.knownRefused(idOf(key), tokens),
    clientOf: (providerId) => clients.get(providerId),
    async refreshIfUnchanged(key, userId, seen, tryLockMs) {
      const client = clients.get(key.provider)
      if (!client) throw new RefreshNotConfiguredError(key.provider, "it is not in refresh.providers")
      const seenVersion = versionOf(seen)
      // One flight per account per process, shared with getAccessToken's: the two never race in-process.
      const mode: RefreshMode = {
        done: (_current, stored) => !sameVersion(seenVersion, stored.tokens),
        lockOptions: { ...lockOptions, lockTimeoutMs: tryLockMs },
        // Another process holding the lease has this expiry in hand: skipped, like a lock not granted in time.
        leaseWait: false,
      }
      const result = await flights.run(idOf(key), tryLockMs, () => refresh(key, userId, client, mode))
      return { outcome: result.refreshed ? "refreshed" : "unchanged-elsewhere", account: result.account }
    },
  }
}
