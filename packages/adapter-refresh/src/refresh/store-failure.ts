/**
 * A store failure before the provider was called, as the typed error the caller sees: the database's lock
 * timeout and a start that never came are `RefreshLockTimeoutError` (with what was waited for), our own typed
 * errors pass unchanged, anything else is an `AccountStoreError` naming the store. Pure, tested without a database.
 */
import { AccountStoreError, RefreshLockTimeoutError, TokenSyncError } from "../errors.js"
import { StartTimeout } from "./coordination.js"

/** Turns `error` into the typed error for `provider`; `lockWaitMs` is the lock bound the caller had. */
export type StoreFailure = (error: unknown, provider: string, lockWaitMs?: number) => unknown

/** The store-failure mapping of an engine over the store `storeName`, whose lock bound is `lockTimeoutMs`. */
export function storeFailureOf(storeName: string, lockTimeoutMs: number): StoreFailure {
  return (error, provider, lockWaitMs = lockTimeoutMs) => {
    // The database gave up waiting for the lock (55P03, 1205, SQLITE_BUSY) while another caller held it.
    if (error instanceof AccountStoreError && error.lockTimeout)
      return new RefreshLockTimeoutError(provider, lockWaitMs, "lock")
    // No pooled connection, or no lock, within the start bound (twice the lock bound).
    if (error instanceof StartTimeout)
      return new RefreshLockTimeoutError(provider, 2 * lockWaitMs, "connection_or_lock")
    if (error instanceof TokenSyncError) return error
    return new AccountStoreError(storeName, "a token refresh", error)
  }
}
