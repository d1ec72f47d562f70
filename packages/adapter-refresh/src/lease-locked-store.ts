/**
 * A full `AccountStore` for a store without multi-statement transactions (Redis, DynamoDB, MongoDB, an HTTP
 * API, or SQL used only through single autocommit statements): `withAccountLock` is a short lease on the key,
 * and every write under it is fenced by that lease. The core's only code for such stores; it imports no
 * database and no client. The contract a store must meet is {@link LeaseLockedStoreParts}.
 */
import { randomBytes } from "node:crypto"
import { AbandonedWait } from "./bounded-wait.js"
import { AccountLockLostError, AccountStoreError, InvalidOptionsError } from "./errors.js"
import { scopedLockedAccount } from "./store-support.js"
import type {
  AccountKey,
  AccountLeases,
  AccountLockOptions,
  AccountPatch,
  AccountReadOptions,
  AccountRow,
  AccountRowScope,
  AccountScanPage,
  AccountStore,
  HeldLease,
  LockedAccount,
  ReauthMark,
  ReauthMarkPage,
  StoredAccountRow,
  UserId,
} from "./store.js"

/**
 * What a take of the lock's lease answered: the lease and how long it lasts, or that another holder has it
 * and how long it has left (null when the store cannot tell). Busy is a value, never an error.
 */
export type LockLeaseTake =
  { taken: true; lease: HeldLease; remainingMs: number } | { taken: false; remainingMs: number | null }

/**
 * The per-key leases that serve as `withAccountLock`'s lock. Each call is one atomic step of the store (an
 * autocommit statement, a script, a conditional write), judged by the store's own clock, exactly as
 * {@link AccountLeases} items 1-4 say for `take`, `release` (the same guarantees, without the rows):
 * - `take` is atomic: of any number of concurrent takes of a free (or ended) key, exactly one is `taken`;
 * - the fence grows on every take of a key; `release` with an old fence or another holder changes nothing;
 * - `remainingMs` is counted from just before the take was sent, never more than is left when it resolves.
 *
 * These leases MUST live apart from the refresh leases of `AccountLeases` (another table, key prefix or
 * namespace): a refresh in lease mode holds its refresh lease while it writes under this lock, and would
 * otherwise wait for itself.
 */
export interface AccountLockLeases {
  /** Takes the key's lock lease for `durationMs` when it is free or has ended. */
  take(key: AccountKey, holder: string, durationMs: number, options?: AccountReadOptions): Promise<LockLeaseTake>
  /** Ends `lease` if it is still held by it (fence and holder); otherwise changes nothing. */
  release(key: AccountKey, lease: HeldLease): Promise<void>
}

/**
 * What a fenced write answered: `held: false` when the lock's lease was not held by this fence and holder, or
 * had ended, when the write was judged (the store's clock): then it changed NOTHING. `row` is the inserted
 * row, for stores whose `linkAccountResult` is "inserted-row".
 */
export type FencedWrite = { held: true; row?: Record<string, unknown> } | { held: false }

/**
 * The minimum a store without transactions provides; `leaseLockedAccountStore` builds the rest. Each method
 * is ONE atomic step of the store; what it must guarantee:
 *
 * 1. `locks` ({@link AccountLockLeases}): atomic take, growing fence, fenced release, the store's clock.
 * 2. `insert` and `update` are FENCED: one atomic step that writes only while the lock lease `lock` is held by
 *    that fence and holder and has not ended by the store's clock, and otherwise writes nothing and answers
 *    `{ held: false }`. The check and the write are one step with respect to `locks.take`: a take that
 *    succeeds after the lease ended is ordered after every write the lease let through, so the new holder's
 *    reads show them (PostgreSQL: the write locks the lease row in the same statement; Redis: one script;
 *    DynamoDB: a transaction with a condition check on the lease item).
 *    `update` writes only the rows of `key` that `scope.userId` owns (owners compared as text), only the
 *    columns in `patch.tokens`, and re-points them to `patch.userId` when given. `insert` writes one row.
 * 3. `readAll`, `userExists`, `findAccounts`, `scanAccounts`, `listReauthMarks`: reads of committed data, as
 *    `LockedAccount.readAll`, `LockedAccount.userExists` and the `AccountStore` methods of the same names
 *    document them (a listing that must scan may take several steps: each page is still a read outside any lock).
 * 4. `leases`: lease mode's refresh leases, as {@link AccountLeases} documents them, in a namespace of their
 *    own (not `locks`'). Required: lock mode, which sends the provider's request inside `withAccountLock`, is
 *    refused for such a store (a lease may end while the request is in flight; a transaction's lock does not).
 *
 * When a process dies: before its take, nothing happened; holding the lock lease, the key waits until the
 * lease ends (at most `lockLeaseMs`), then the next take succeeds with a larger fence; with a write in flight,
 * the write either happened whole (before the lease's end) or not at all, and a later write under the dead
 * lease is refused. Writes under one lock are not all-or-nothing (no rollback): each is its own step, and
 * the core's work writes last, so a lost lease leaves the rows as one of the core's writes left them.
 */
export interface LeaseLockedStoreParts {
  /** Short name used in errors and logs. */
  readonly name: string
  /** As `AccountStore.linkAccountResult`; with "inserted-row", `insert` answers the row. */
  readonly linkAccountResult?: AccountStore["linkAccountResult"]
  /** The per-key lock's leases, in their own namespace. */
  readonly locks: AccountLockLeases
  /** Lease mode's refresh leases (`AccountStore.leases`), in another namespace than `locks`. */
  readonly leases: AccountLeases
  /** Every row with the key (duplicates included, each with its owner); empty when there is none. */
  readAll(key: AccountKey): Promise<StoredAccountRow[]>
  /** Whether a user with this id exists (the caller's id as typed, or a row's `userId` as text). */
  userExists(userId: UserId): Promise<boolean>
  /** Fenced insert of `row` (its key is the locked key). */
  insert(row: AccountRow, lock: HeldLease): Promise<FencedWrite>
  /** Fenced update of the rows of `key` that `scope.userId` owns. */
  update(key: AccountKey, patch: AccountPatch, scope: AccountRowScope, lock: HeldLease): Promise<FencedWrite>
  /** As `AccountStore.findAccounts`. */
  findAccounts(userId: string, provider: string, options?: AccountReadOptions): Promise<StoredAccountRow[]>
  /** As `AccountStore.scanAccounts` (optional; `reencryptAccounts` needs it). */
  scanAccounts?(page: AccountScanPage): Promise<StoredAccountRow[]>
  /** As `AccountStore.listReauthMarks` (optional; `accountsNeedingReauth` needs it). */
  listReauthMarks?(page: ReauthMarkPage): Promise<ReauthMark[]>
}

/** Options of {@link leaseLockedAccountStore}. */
export interface LeaseLockedStoreOptions {
  /**
   * How long one `withAccountLock` holds the key's lock lease, in ms (default 5,000). The work under it is a
   * few reads and one write, never a request; it bounds how long a process killed while holding it blocks
   * the key. A write after it ended is refused (`AccountLockLostError`).
   */
  lockLeaseMs?: number
  /** Longest wait for the lock lease when the call gives no `lockTimeoutMs`, in ms (default 10,000). */
  lockTimeoutMs?: number
}

const DEFAULT_LOCK_LEASE_MS = 5_000
const DEFAULT_LOCK_TIMEOUT_MS = 10_000
/** First and largest pause between two takes of a busy lock lease. */
const FIRST_POLL_MS = 5
const MAX_POLL_MS = 200

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function checkMs(option: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < min)
    throw new InvalidOptionsError(
      option,
      `leaseLockedAccountStore: ${option} must be an integer >= ${min}, not ${value}`,
    )
  return value
}

const sameKey = (a: AccountKey, b: AccountKey): boolean =>
  a.provider === b.provider && String(a.providerAccountId) === String(b.providerAccountId)

/**
 * Builds a full `AccountStore` from the primitives of a store without multi-statement transactions.
 * `withAccountLock(key, work, options)` takes the key's lock lease (polling with backoff within
 * `lockTimeoutMs`; still busy: `AccountStoreError` with `lockTimeout`), runs `work` with a `LockedAccount`
 * whose every write is fenced by that lease (a refused write throws `AccountLockLostError` and changed
 * nothing), then releases the lease. The store declares `coordination: "lease"`: `withTokenSync` refuses it
 * without `refresh.coordination: "lease"`.
 *
 * @param parts The store's primitives, each one atomic step (see {@link LeaseLockedStoreParts}).
 * @param options The lock lease's length and the default wait for it.
 * @returns The store, to pass as `withTokenSync`'s second argument.
 * @throws InvalidOptionsError at once for a part that is missing or an option out of range.
 */
export function leaseLockedAccountStore(
  parts: LeaseLockedStoreParts,
  options: LeaseLockedStoreOptions = {},
): AccountStore {
  const name = parts?.name
  if (typeof name !== "string" || name === "")
    throw new InvalidOptionsError("parts.name", "leaseLockedAccountStore: parts.name must be a non-empty string")
  for (const method of ["readAll", "userExists", "insert", "update", "findAccounts"] as const)
    if (typeof parts[method] !== "function")
      throw new InvalidOptionsError(`parts.${method}`, `leaseLockedAccountStore: parts.${method} must be a function`)
  if (typeof parts.locks?.take !== "function" || typeof parts.locks.release !== "function")
    throw new InvalidOptionsError("parts.locks", "leaseLockedAccountStore: parts.locks needs take and release")
  const leases = parts.leases
  if (typeof leases?.take !== "function" || typeof leases.renew !== "function" || typeof leases.release !== "function")
    throw new InvalidOptionsError("parts.leases", "leaseLockedAccountStore: parts.leases needs take, renew and release")
  if (parts.locks === (leases as unknown))
    throw new InvalidOptionsError(
      "parts.locks",
      "leaseLockedAccountStore: parts.locks and parts.leases must be different namespaces " +
        "(a refresh would wait for itself)",
    )
  const lockLeaseMs = checkMs("lockLeaseMs", options.lockLeaseMs, DEFAULT_LOCK_LEASE_MS, 1)
  const defaultTimeoutMs = checkMs("lockTimeoutMs", options.lockTimeoutMs, DEFAULT_LOCK_TIMEOUT_MS, 0)

  const busy = (cause?: unknown): AccountStoreError =>
    new AccountStoreError(name, "withAccountLock", cause, { lockTimeout: true })

  /** Takes the key's lock lease, polling with backoff until `timeoutMs` has passed. */
  async function takeLock(key: AccountKey, timeoutMs: number, signal: AbortSignal | undefined): Promise<HeldLease> {
    const holder = randomBytes(16).toString("hex")
    const deadline = performance.now() + timeoutMs
    let pause = FIRST_POLL_MS
    for (;;) {
      if (signal?.aborted) throw new AbandonedWait()
      const took = await parts.locks.take(key, holder, lockLeaseMs, signal ? { signal } : undefined)
      if (took.taken) return took.lease
      const left = deadline - performance.now()
      if (left <= 0) throw busy()
      // Never past the deadline; not much past the lease's end when the store told it; jittered, so that
      // waiters that started together do not take together.
      const untilEnd = took.remainingMs === null ? pause : took.remainingMs + 1
      await sleep(Math.max(1, Math.min(left, untilEnd, pause * (0.5 + Math.random()))))
      pause = Math.min(MAX_POLL_MS, pause * 2)
    }
  }

  return {
    name,
    linkAccountResult: parts.linkAccountResult,
    coordination: "lease",
    leases,

    async withAccountLock<T>(
      key: AccountKey,
      work: (account: LockedAccount) => Promise<T>,
      lockOptions?: AccountLockOptions,
    ): Promise<T> {
      const timeoutMs = checkMs("lockTimeoutMs", lockOptions?.lockTimeoutMs, defaultTimeoutMs, 0)
      const lease = await takeLock(key, timeoutMs, lockOptions?.signal)
      const refused = (operation: string): AccountLockLostError => new AccountLockLostError(name, operation)
      const account: LockedAccount = {
        readAll: () => parts.readAll(key),
        userExists: (userId) => parts.userExists(userId),
        async insert(row) {
          if (!sameKey(row, key)) throw new RangeError(`${name}: insert of a row of another key than the locked one`)
          const written = await parts.insert(row, lease)
          if (!written.held) throw refused("LockedAccount.insert")
          return parts.linkAccountResult === "inserted-row" ? written.row : undefined
        },
        async update(patch, scope) {
          const written = await parts.update(key, patch, scope, lease)
          if (!written.held) throw refused("LockedAccount.update")
        },
      }
      const scoped = scopedLockedAccount(account, name)
      try {
        return await work(scoped.account)
      } finally {
        scoped.close()
        // Fenced: a release after the lease ended (or was taken) changes nothing. A failed release only
        // delays the next holder until the lease ends.
        await parts.locks.release(key, lease).catch(() => undefined)
      }
    },

    findAccounts: (userId, provider, readOptions) => parts.findAccounts(userId, provider, readOptions),
    ...(parts.scanAccounts && { scanAccounts: (page: AccountScanPage) => parts.scanAccounts!(page) }),
    ...(parts.listReauthMarks && { listReauthMarks: (page: ReauthMarkPage) => parts.listReauthMarks!(page) }),
  }
}
