/**
 * The account lock as the sync takes it: `store.withAccountLock` with the lock wait published (acquired or
 * failed, and how long) and a store's own failure turned into `AccountStoreError`; optionally counting the
 * writes made under it. A module of its own so the events and the wrapping are tested with a fake store.
 */
import { AccountStoreError, TokenSyncError } from "./errors.js"
import { elapsedMs, publish, type LockWaitEvent } from "./observability.js"
import type { AccountKey, AccountLockOptions, AccountStore, LockedAccount } from "./store.js"

/** Writes made under one lock, for the sync event's outcome. */
export interface WriteCounts {
  inserts: number
  updates: number
}

/** Runs `work` under the account's lock, publishing the wait; `counts`, when given, counts its writes. */
export async function underAccountLock<T>(
  store: Pick<AccountStore, "name" | "withAccountLock">,
  key: AccountKey,
  work: (account: LockedAccount) => Promise<T>,
  lockOptions: AccountLockOptions | undefined,
  purpose: LockWaitEvent["purpose"],
  counts?: WriteCounts,
): Promise<T> {
  const asked = performance.now()
  let acquired = false
  try {
    return await store.withAccountLock(
      key,
      (account) => {
        acquired = true
        publish("lockWait", () => ({
          store: store.name,
          provider: key.provider,
          purpose,
          waitMs: elapsedMs(asked),
          outcome: "acquired",
        }))
        return work(counts ? counting(account, counts) : account)
      },
      lockOptions,
    )
  } catch (error) {
    if (!acquired)
      publish("lockWait", () => ({
        store: store.name,
        provider: key.provider,
        purpose,
        waitMs: elapsedMs(asked),
        outcome: "failed",
      }))
    if (error instanceof TokenSyncError) throw error
    throw new AccountStoreError(store.name, "an account write", error)
  }
}

/** `account`, counting its writes. */
export function counting(account: LockedAccount, counts: WriteCounts): LockedAccount {
  return {
    readAll: () => account.readAll(),
    userExists: (userId) => account.userExists(userId),
    insert: (row) => {
      counts.inserts++
      return account.insert(row)
    },
    update: (patch, scope) => {
      counts.updates++
      return account.update(patch, scope)
    },
  }
}
