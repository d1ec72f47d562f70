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
 * engine-settings.ts, reauth-memory.ts and outcomes.ts; the parameter checks, the fast path, the cache, the
 * account flights, the scope check and the published events in the modules named where they are used.
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
import type { AccountSync } from "../account-sync.js"
import type { TokenSet } from "../policy/merge.js"
import type { AccountKey, AccountStore } from "../store.js"
import { boundedRead } from "../bounded-wait.js"
import type { TokenCache } from "../cache/token-cache.js"
import { createLeaseRefresh } from "./lease-refresh.js"
import { createLockRefresh } from "./lock-refresh.js"
import { createKeptRefresh } from "./kept-refresh.js"
import { StartTimeout } from "./coordination.js"
import { KeptTokenStore, sameVersion, versionOf } from "./issued-tokens.js"
import type { LateAnswer, ProviderClient } from "./provider.js"
import { sendGrant } from "./grant.js"
import { refusedModeOf, RefusedTokenInterval } from "./refused-token.js"
import type {
  AccessTokenResult,
  GetAccessTokenParams,
  RefreshEngine,
  RefreshMode,
  RefreshOptions,
} from "./engine-types.js"
import { engineSettingsOf } from "./engine-settings.js"
import { ReauthMemory } from "./reauth-memory.js"
import { answered, checkStored, failed, fromKept, issuedEntry, knownExpired, readAnswer, success } from "./outcomes.js"
import type { OutcomeContext } from "./outcomes.js"
import { checkAccessTokenParams } from "./access-token-params.js"
import { observeAccessToken, type ServedAccessToken } from "./access-token-events.js"
import { throughCache } from "./access-token-cache.js"
import { AccountFlights } from "./account-flights.js"
import { leasesFor } from "./coordination-mode.js"
import { accountRowOf, fastPathStep, freshTokensOf, type FastPathContext } from "./fast-path.js"
import { providerClientsOf } from "./provider-clients.js"
import { scopeCheckOf, type ScopeCheck } from "./scope-check.js"
import { storeFailureOf } from "./store-failure.js"

const idOf = (key: AccountKey): string => `${key.provider}\u001f${key.providerAccountId}`

export function createRefreshEngine(
  store: AccountStore,
  sync: AccountSync,
  options: RefreshOptions,
  now: () => number = Date.now,
  cache?: TokenCache<AccessTokenResult>,
): RefreshEngine {
  // Every numeric option was checked (non-negative integer) by checkTokenSyncOptions before this runs.
  const settings = engineSettingsOf(options)
  const { skewSeconds, lockTimeoutMs, queueTimeoutMs, reauthColumn, lockOptions, startBoundMs } = settings
  // Fail at start-up, not at the first expiry: a coordination the store cannot run, a provider that cannot refresh.
  const leases = leasesFor(store, options)
  const { clients, dialects, clientOf } = providerClientsOf(options)

  const flights = new AccountFlights(lockTimeoutMs)
  const kept = new KeptTokenStore(sync, lockOptions, startBoundMs)
  const reauth = new ReauthMemory(store.name, reauthColumn)
  const storeError = storeFailureOf(store.name, lockTimeoutMs)
  const freshTokens = freshTokensOf(skewSeconds, now)

  // The steps both modes share (outcomes.ts), bound to this engine's kept tokens, memory and settings.
  const outcomes: OutcomeContext = {
    ...settings,
    sync,
    kept,
    reauth,
    expiryColumn: options.refreshTokenExpiryColumn,
    now,
  }
  const shared = {
    sync,
    reauthColumn,
    grant: (client: ProviderClient, refreshToken: string, before?: (n: number) => Promise<void>, late?: LateAnswer) =>
      sendGrant(client, refreshToken, { ...settings, storeName: store.name }, before, late),
    failed: failed.bind(undefined, outcomes),
    readAnswer: readAnswer.bind(undefined, outcomes),
    issuedEntry,
    answered,
  }

  /** getAccessToken's mode: nothing to do once the row holds a fresh token. */
  const onDemand: RefreshMode = {
    done: (current, _stored, nowMs) => freshTokens(current, nowMs),
    lockOptions,
    leaseWait: true,
  }

  const leaseRefresh =
    leases &&
    createLeaseRefresh({
      ...shared,
      store,
      leases,
      settings: { ...settings.leaseSettings, queueTimeoutMs, startBoundMs, lockTimeoutMs },
      providerConcurrency: options.providerConcurrency,
      checkStored: (key, userId, stored, mode, nowMs) =>
        checkStored(outcomes, idOf(key), key, userId, stored, mode, nowMs),
      success,
      freshTokens,
    })
  const lockRefresh = createLockRefresh({
    ...shared,
    settings: { maxConcurrentRefreshes: settings.maxConcurrentRefreshes, queueTimeoutMs },
    checkStored: (key, userId, stored, mode) => checkStored(outcomes, idOf(key), key, userId, stored, mode),
  })
  const { refresh, slowPath } = createKeptRefresh({
    kept,
    leaseRefresh,
    lockRefresh,
    reauth,
    queueTimeoutMs,
    onDemand,
    freshTokens,
    fromKept: fromKept.bind(undefined, outcomes),
    storeError,
  })

  const fastPath: FastPathContext = {
    kept,
    reauth,
    refusedInterval: new RefusedTokenInterval(settings.refusedTokenIntervalMs, now),
    freshTokens,
    knownExpired: (tokens) => knownExpired(outcomes, tokens),
    fromKept: fromKept.bind(undefined, outcomes),
    toAdapterAccount: (view) => sync.toAdapterAccount(view),
  }

  /** Checks, then the cache (when configured) over the fast path; the scope check before and after. */
  async function serve(params: GetAccessTokenParams): Promise<ServedAccessToken> {
    const userId = checkAccessTokenParams(params)
    const client = clientOf(params.provider)
    const scopeCheck = scopeCheckOf(reauth, params.provider, params.scopes, dialects.get(params.provider))
    // A cached answer is served under the same freshness rule as the stored row's.
    const fresh = (result: AccessTokenResult): boolean => freshTokens(result.account as unknown as TokenSet)
    const question = { ...params, userId }
    return throughCache(cache, question, fresh, () => resolve(params, userId, client, scopeCheck), scopeCheck)
  }

  /** The fast path: one unlocked, bounded read (a pool the app has exhausted must not hang us), then its step. */
  async function resolve(
    params: GetAccessTokenParams,
    userId: string,
    client: ProviderClient,
    scopeCheck: ScopeCheck | undefined,
  ): Promise<AccessTokenResult> {
    const rows = await boundedRead(
      startBoundMs,
      () => new StartTimeout(),
      (signal) => store.findAccounts(userId, params.provider, { signal }),
    ).catch((error: unknown) => {
      throw storeError(error, params.provider)
    })
    const row = accountRowOf(rows, params.provider, params.providerAccountId)
    const key: AccountKey = { provider: row.provider, providerAccountId: row.providerAccountId }
    const view = await sync.viewOf(row)
    // Before any refresh: a refresh cannot add scopes the grant lacks (RFC 6749 §6), so no request is sent.
    scopeCheck?.(view.row, view.tokens.scope, "stored")
    const next = fastPathStep(fastPath, idOf(key), key, view, params.refusedAccessToken)
    if (next.step === "serve") return next.result
    if (next.step === "refused")
      return flights.refused(idOf(key), next.refusal, refusedModeOf(onDemand, next.refusal), (mode, fresh) =>
        slowPath(key, userId, client, mode, fresh),
      )
    // Expired (or kept tokens to write): one flight per account per process.
    return flights.onDemand(idOf(key), () => slowPath(key, userId, client))
  }

  return {
    getAccessToken: (params) => observeAccessToken(store.name, params, () => serve(params)),
    providerIds: [...clients.keys()],
    knownRefused: (key, tokens) => reauth.knownRefused(idOf(key), tokens),
    clientOf: (providerId) => clients.get(providerId),
    async refreshIfUnchanged(key, userId, seen, tryLockMs) {
      const client = clientOf(key.provider)
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
