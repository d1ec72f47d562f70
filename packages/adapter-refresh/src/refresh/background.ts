/**
 * `refreshExpiring`: refreshes, ahead of their expiry, the tokens of accounts nobody is asking for right
 * now (jobs that call provider APIs for offline users). Any number of workers, in any number of processes
 * and machines, may run it at once, beside `getAccessToken`:
 *
 * - it pages the table by key (`AccountStore.scanAccounts`) and, for each account due, takes the
 *   account's lock with a short wait (`tryLockMs`): an account another worker holds is skipped, not
 *   waited for (the try-lock of every database: lock_timeout, innodb_lock_wait_timeout, busy timeout);
 * - under the lock it refreshes only if the row still holds the tokens the scan read: when another
 *   worker, a `getAccessToken` or a sign-in wrote it meanwhile, that expiry is handled, so no account is
 *   refreshed twice for one expiry (the same guarantee as `getAccessToken`'s, by the same lock);
 * - a transient failure puts the account in a cool-down (this process) instead of retrying it at once;
 *   a refused refresh token is marked by the engine (the reauth column, else this process's memory) and
 *   skipped afterwards;
 * - keep-alive mode (`unusedForSeconds`): for providers that revoke a refresh token left unused, the
 *   accounts due are those whose access token expired at least that long ago. Every refresh and every
 *   sign-in moves the stored expiry, so such an account's refresh token has not been used since: its age
 *   is judged from the row as every schema has it, with no column of its own. With the refresh-token expiry
 *   column (`refresh.refreshTokenExpiryColumn`) it also refreshes before that expiry, skips a dead refresh
 *   token, and stops refreshing an account whose expiry a refresh no longer moved (policy/refresh-token-expiry.ts,
 *   `keepAliveDecision`; remembered per process).
 */
import type { AccountSync } from "../account-sync.js"
import {
  AccountStoreError,
  InvalidOptionsError,
  RefreshLockTimeoutError,
  RefreshNotConfiguredError,
  RefreshTokenError,
  TokenSyncError,
} from "../errors.js"
import { isExpiring } from "../policy/expiry.js"
import type { TokenSet } from "../policy/merge.js"
import type { AccountKey, AccountStore, StoredAccountRow } from "../store.js"
import type { RefreshEngine } from "./engine-types.js"
import { BoundedMap, MAX_COOLDOWNS } from "./bounded-map.js"
import {
  isRefreshTokenExpired,
  keepAliveDecision,
  refreshMovedExpiry,
  storedRefreshTokenExpiry,
} from "../policy/refresh-token-expiry.js"

/** Options of `refreshExpiring`: how far ahead to look, page size, concurrency, lock wait, a stop signal. */
export interface RefreshExpiringOptions {
  /** Refresh tokens that expire within this many seconds (or have expired). Default 300. */
  withinSeconds?: number
  /**
   * Keep-alive mode, instead of `withinSeconds`: refresh only the accounts whose access token expired at
   * least this many seconds ago (nobody has used their refresh token since), for providers that revoke
   * refresh tokens left unused (Microsoft Entra ID: 90 days of inactivity). A refresh token's idle time
   * then stays below this + the access token's lifetime + the interval between runs. Rows without a stored
   * expiry cannot be judged: counted as `unknownAge`, left alone.
   */
  unusedForSeconds?: number
  /**
   * Keep-alive mode with `refresh.refreshTokenExpiryColumn`: also refresh the accounts whose refresh token
   * expires within this many seconds (a provider's idle bound, e.g. Keycloak's "SSO Session Idle"). Choose it
   * above the interval between runs. Default 86 400 (one day). Refused (`InvalidOptionsError`) without
   * `unusedForSeconds`.
   */
  refreshTokenWithinSeconds?: number
  /** Account keys read per page. Default 100. */
  batchSize?: number
  /**
   * Accounts refreshed at once by this call (also capped by `refresh.maxConcurrentRefreshes` in lock mode, by
   * `refresh.providerConcurrency` in lease mode). Default 4.
   */
  concurrency?: number
  /**
   * Longest wait for an account's lock, ms; an account another worker holds is skipped. Default 50. In lease
   * mode the lease is taken once, never waited for: an account another process holds is skipped at once.
   */
  tryLockMs?: number
  /** After a failure other than a refused refresh token, skip the account in this process for this long. Default 60. */
  cooldownSeconds?: number
  /** Called after each page. */
  onProgress?(progress: RefreshExpiringProgress): void
  /** Stops after the accounts in flight when aborted. */
  signal?: AbortSignal
}

/** Counts so far (the final ones are the result). */
export interface RefreshExpiringProgress {
  /** Account rows read. */
  scanned: number
  /**
   * Rows due (expiring within the window, or unused long enough in keep-alive mode; with a refresh token, of a
   * configured provider, not known dead).
   */
  due: number
  /** Keep-alive mode: rows with a refresh token but no stored expiry, whose age cannot be judged. */
  unknownAge: number
  /** Refreshed by this call. */
  refreshed: number
  /** Written by someone else between the scan and the lock: nothing to do. */
  unchangedElsewhere: number
  /** Locked by another worker: skipped. */
  busy: number
  /** Skipped: in a cool-down after an earlier failure in this process. */
  coolingDown: number
  /** The provider refused the refresh token (now marked: the user must sign in again). */
  deadGrants: number
  /** Other failures (provider unavailable, store errors): each starts a cool-down. */
  failed: number
  /** With the expiry column: rows whose refresh token's stored expiry has passed (left alone, nothing sent). */
  refreshTokenExpired: number
  /**
   * Keep-alive mode with the expiry column: rows left alone because a refresh in this process did not move
   * their refresh token's expiry later (a session maximum): refreshing again would not extend it.
   */
  expiryCapped: number
  /** The last key read, to resume from with a later call's own paging (informational). */
  lastKey: AccountKey | undefined
}

const positive = (value: number | undefined, fallback: number, name: string, allowZero = false): number => {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new InvalidOptionsError(
      name,
      `refreshExpiring: ${name} must be a ${allowZero ? "non-negative" : "positive"} number.`,
    )
  }
  return value
}

export function createBackgroundRefresher(
  store: AccountStore,
  sync: AccountSync,
  engine: RefreshEngine,
  now: () => number = Date.now,
  expiryColumn?: string,
) {
  /**
   * key -> until (ms): accounts that failed recently in this process. Bounded: an evicted account may be
   * tried again before its cool-down ends (one more provider request).
   */
  const cooldowns = new BoundedMap<string, number>(MAX_COOLDOWNS)
  const idOf = (key: AccountKey): string => `${key.provider}\u001f${key.providerAccountId}`
  /**
   * key -> the stored refresh-token expiry a keep-alive refresh in this process left unmoved. Bounded: an
   * evicted account costs one more refresh, which records it again.
   */
  const capped = new BoundedMap<string, number>(MAX_COOLDOWNS)

  return async function refreshExpiring(options: RefreshExpiringOptions = {}): Promise<RefreshExpiringProgress> {
    if (options.withinSeconds !== undefined && options.unusedForSeconds !== undefined) {
      throw new InvalidOptionsError(
        "unusedForSeconds",
        "refreshExpiring: give withinSeconds (refresh what expires soon) or unusedForSeconds (keep-alive), not both.",
      )
    }
    if (options.refreshTokenWithinSeconds !== undefined && options.unusedForSeconds === undefined) {
      throw new InvalidOptionsError(
        "refreshTokenWithinSeconds",
        "refreshExpiring: refreshTokenWithinSeconds belongs to keep-alive mode; give unusedForSeconds with it.",
      )
    }
    const withinSeconds = positive(options.withinSeconds, 300, "withinSeconds", true)
    const unusedForSeconds =
      options.unusedForSeconds === undefined
        ? undefined
        : positive(options.unusedForSeconds, 0, "unusedForSeconds", true)
    const batchSize = Math.floor(positive(options.batchSize, 100, "batchSize"))
    const concurrency = Math.floor(positive(options.concurrency, 4, "concurrency"))
    const tryLockMs = Math.ceil(positive(options.tryLockMs, 50, "tryLockMs"))
    const cooldownMs = positive(options.cooldownSeconds, 60, "cooldownSeconds", true) * 1000
    const refreshTokenWithinSeconds = positive(
      options.refreshTokenWithinSeconds,
      86_400,
      "refreshTokenWithinSeconds",
      true,
    )
    if (!store.scanAccounts)
      throw new RefreshNotConfiguredError(
        "(all)",
        `the ${store.name} account store has no scanAccounts, which refreshExpiring pages with`,
      )
    const providers = new Set(engine.providerIds)
    const progress: RefreshExpiringProgress = {
      scanned: 0,
      due: 0,
      unknownAge: 0,
      refreshed: 0,
      unchangedElsewhere: 0,
      busy: 0,
      coolingDown: 0,
      deadGrants: 0,
      failed: 0,
      refreshTokenExpired: 0,
      expiryCapped: 0,
      lastKey: undefined,
    }

    /** A due account: its row and the tokens the page decoded (what the lock's re-check compares with). */
    type Due = { row: StoredAccountRow; tokens: TokenSet }
    const refreshOne = async ({ row, tokens }: Due): Promise<void> => {
      const key = { provider: row.provider, providerAccountId: row.providerAccountId }
      try {
        const { outcome, account } = await engine.refreshIfUnchanged(key, row.userId, tokens, tryLockMs)
        if (outcome === "refreshed") progress.refreshed++
        else progress.unchangedElsewhere++
        if (outcome === "refreshed" && expiryColumn && unusedForSeconds !== undefined) {
          const after = (account as unknown as Record<string, unknown>)[expiryColumn]
          const expiry = storedRefreshTokenExpiry(after)
          if (!refreshMovedExpiry(tokens[expiryColumn], after) && expiry.kind === "at")
            capped.set(idOf(key), expiry.expiresAt)
          else capped.delete(idOf(key))
        }
      } catch (error) {
        if (error instanceof RefreshLockTimeoutError) {
          progress.busy++
        } else if (error instanceof RefreshTokenError) {
          progress.deadGrants++
        } else {
          // Provider unavailable, store errors: counted, and not retried for a while.
          progress.failed++
          cooldowns.set(idOf(key), now() + cooldownMs)
        }
      }
    }

    let after: AccountKey | undefined
    for (;;) {
      if (options.signal?.aborted) break
      let rows: StoredAccountRow[]
      try {
        rows = await store.scanAccounts({ ...(after ? { after } : {}), limit: batchSize })
      } catch (error) {
        // A driver's own error (its message may quote row values) becomes the store error with safe facts.
        if (error instanceof TokenSyncError) throw error
        throw new AccountStoreError(store.name, "refreshExpiring's account scan", error)
      }
      if (rows.length === 0) break
      progress.scanned += rows.length
      const due: Due[] = []
      for (const row of rows) {
        if (!providers.has(row.provider)) continue
        const key = { provider: row.provider, providerAccountId: row.providerAccountId }
        const until = cooldowns.get(idOf(key))
        // Decrypted once, to judge the expiry and the mark and for the re-check under the lock; an
        // undecryptable row is left to getAccessToken's error.
        const tokens = await sync.viewOf(row).then(
          (view) => view.tokens,
          () => undefined,
        )
        if (!tokens || typeof tokens.refresh_token !== "string" || tokens.refresh_token === "") continue
        if (unusedForSeconds === undefined) {
          if (!isExpiring(tokens.expires_at as number | null, now(), withinSeconds)) continue
          // A refresh token past its stored expiry is not sent (getAccessToken reports it when asked).
          if (expiryColumn && isRefreshTokenExpired(tokens[expiryColumn], now())) {
            progress.refreshTokenExpired++
            continue
          }
        } else {
          const decision = keepAliveDecision({
            nowMs: now(),
            accessExpiresAt: typeof tokens.expires_at === "number" ? tokens.expires_at : null,
            refreshTokenExpiresAt: expiryColumn ? tokens[expiryColumn] : undefined,
            unusedForSeconds,
            refreshTokenWithinSeconds,
            cappedAt: capped.get(idOf(key)),
          })
          if (decision === "unknown-age") progress.unknownAge++
          if (decision === "expired") progress.refreshTokenExpired++
          if (decision === "capped") progress.expiryCapped++
          if (decision !== "refresh-idle" && decision !== "refresh-before-expiry") continue
        }
        if (engine.knownRefused(key, tokens)) continue
        progress.due++
        if (until !== undefined && until > now()) {
          progress.coolingDown++
          continue
        }
        cooldowns.delete(idOf(key))
        due.push({ row, tokens })
      }
      // A small pool: at most `concurrency` accounts of this page at once.
      let next = 0
      await Promise.all(
        Array.from({ length: Math.min(concurrency, due.length) }, async () => {
          while (next < due.length && !options.signal?.aborted) await refreshOne(due[next++]!)
        }),
      )
      const last = rows[rows.length - 1]!
      after = { provider: last.provider, providerAccountId: last.providerAccountId }
      progress.lastKey = after
      options.onProgress?.({ ...progress })
      if (rows.length < batchSize) break
    }
    return progress
  }
}
