/**
 * The persistence seam. The core (with-token-sync.ts, policy/*) talks only to this interface; each
 * ORM gets one module under stores/ that implements it without importing the ORM at run time.
 * Implement it yourself to support any other data layer, and prove it with the conformance kit
 * (package `authjs-adapter-refresh-tests`).
 */

/** The natural key of a linked OAuth account: Auth.js never changes it once linked. */
// A type alias, not an interface, so that an AccountKey is assignable to wider record types.
export type AccountKey = {
  provider: string
  providerAccountId: string
}

/**
 * The token columns of an account row. Extra columns may be added through `tokenFields`.
 *
 * @see [RFC 6749 §5.1](https://www.rfc-editor.org/rfc/rfc6749#section-5.1) (the token response these come from)
 */
export interface StandardTokenColumns {
  access_token: string | null
  refresh_token: string | null
  /** Absolute expiry in integer epoch seconds. */
  expires_at: number | null
  id_token: string | null
  scope: string | null
  token_type: string | null
  session_state: string | null
}

/** A token column's value as written: text, an integer (`expires_at`), or null. */
export type TokenColumnValue = string | number | null

/**
 * A user id as the adapter hands it out: a string (cuid, uuid), a number (serial ids, Prisma `Int`) or a
 * bigint (Prisma `BigInt`). Where the id is the caller's, stores receive it as the caller typed it, so a
 * client that checks argument types (Prisma) gets the type of its column.
 */
export type UserId = string | number | bigint

/** A full account row as the core writes it on insert. */
export interface AccountRow extends AccountKey {
  /** The caller's user id, as typed. */
  userId: UserId
  type: string
  /** Token columns: the seven standard ones plus any configured extras. */
  tokens: Record<string, TokenColumnValue>
}

/**
 * An account row as read back. Drivers differ in what they return (node-postgres returns `bigint` as a
 * string, Prisma returns `Int` as number), so values are loosely typed here and normalized by the core.
 */
export interface StoredAccountRow extends AccountKey {
  userId: string
  type: string
  tokens: Record<string, unknown>
}

/** What an update may change: the owner (to re-point an orphaned row) and/or token columns. */
export interface AccountPatch {
  /** The new owner (the caller's user id, as typed). */
  userId?: UserId
  tokens?: Record<string, TokenColumnValue>
}

/** Which rows of the locked key an update may touch: only those owned by this user. */
export interface AccountRowScope {
  /** The owner the rows have before the update (compared as text: integer ids arrive as strings). */
  userId: string
}

/**
 * Operations on ONE account key, available only inside `AccountStore.withAccountLock`, i.e. inside one
 * database transaction that holds an exclusive lock on that key.
 *
 * On schemas without a unique key on (provider, providerAccountId) a key may have several rows, and
 * they may belong to different users. The store reports them all; the core decides (policy/ownership.ts)
 * which owner's rows a write may touch, so a store never has to choose between users.
 */
export interface LockedAccount {
  /** Every row with the locked key (duplicates included, each with its owner); empty when there is none. */
  readAll(): Promise<StoredAccountRow[]>
  /**
   * Whether a user with this id exists. The id is the caller's (typed as given) or a row's `userId` as
   * `readAll` returned it (a string).
   */
  userExists(userId: UserId): Promise<boolean>
  /**
   * Inserts the row for the locked key. `row.tokens` names exactly the token columns to write.
   * Stores whose `linkAccountResult` is "inserted-row" resolve to the inserted row, shaped as the
   * client's official Auth.js adapter returns it from `linkAccount`; others may resolve to nothing.
   */
  insert(row: AccountRow): Promise<Record<string, unknown> | void>
  /**
   * Updates the rows with the locked key that `scope.userId` owns, and no other row. Only the given token
   * columns change; `patch.userId` re-points those rows to another owner.
   */
  update(patch: AccountPatch, scope: AccountRowScope): Promise<void>
}

/**
 * The persistence seam: one implementation per data layer. The built-in stores implement it for Prisma,
 * Kysely, Drizzle and node-postgres; implement it yourself for any other, pass it as `withTokenSync`'s
 * second argument, and check it with the conformance kit (`authjs-adapter-refresh-tests`).
 */
export interface AccountStore {
  /** Short name used in errors and logs, e.g. "prisma", "kysely", "pg". */
  readonly name: string
  /**
   * What the official Auth.js adapter for this store's client returns from its own `linkAccount`, so that
   * the wrapped `linkAccount` returns the same thing for the same input when it inserts:
   * - "inserted-row": the row as inserted (Prisma's `create` result; @auth/pg-adapter's `RETURNING`
   *   row with `expires_at` through `parseInt`); `LockedAccount.insert` resolves to it;
   * - "input": the account object it was given (@auth/kysely-adapter); with the fields `LockedAccount.insert`
   *   resolves to, if any, assigned onto it (@auth/typeorm-adapter: `save` adds the generated id and nulls);
   * - "nothing": `undefined` (@auth/drizzle-adapter, whose linkAccount resolves to nothing).
   * Absent: the wrapper returns the account it stored (keys, userId, type, non-empty tokens).
   */
  readonly linkAccountResult?: "inserted-row" | "input" | "nothing"
  /**
   * Optional: "lease" when this store's `withAccountLock` is itself a lease, not a transaction's lock (a store
   * without transactions, built with `leaseLockedAccountStore`). Such a lock may end while its work runs, so
   * `withTokenSync` refuses such a store at construction (`InvalidOptionsError`) unless
   * `refresh.coordination` is "lease", where no provider request runs inside `withAccountLock`. Absent: the
   * store's lock lasts as long as its transaction, and both modes run.
   */
  readonly coordination?: "lease"
  /**
   * Runs `work` in a single database transaction that first takes an exclusive lock scoped to this
   * account key and to the transaction (PostgreSQL: `pg_advisory_xact_lock`; MySQL/MariaDB: a row lock on
   * the key; SQLite: the file's write lock, see databases/*), so that concurrent callers
   * in any number of processes are serialized per account, including on schemas that have no unique
   * constraint on (provider, providerAccountId). Commits when `work` resolves, rolls back when it throws
   * (and rethrows the same error).
   *
   * When the wait for the lock runs out (`options.lockTimeoutMs`, or the lock is busy and the store does
   * not wait), it rejects with `AccountStoreError` whose `lockTimeout` is true:
   * `new AccountStoreError(name, "withAccountLock", cause, { lockTimeout: true })`. That typed value, not
   * a database's error code, is what the core reads as "busy" (`RefreshLockTimeoutError`,
   * `AccountBusyError`); every other rejection is a store failure.
   */
  withAccountLock<T>(
    key: AccountKey,
    work: (account: LockedAccount) => Promise<T>,
    options?: AccountLockOptions,
  ): Promise<T>
  /**
   * The accounts a user has linked at a provider, read in ONE statement outside any lock (the token
   * refresh fast path: a fresh token needs no lock). Each key at most once, even when the table holds
   * duplicates. Empty when there is none.
   */
  findAccounts(userId: string, provider: string, options?: AccountReadOptions): Promise<StoredAccountRow[]>
  /**
   * Optional, the one-statement sign-in: in ONE statement, outside any transaction of the store's, writes
   * `tokens` to the rows of `key` that `userId` owns. It must take the key's lock itself, without waiting
   * (a lock held elsewhere: it writes nothing), so that it excludes and is excluded by `withAccountLock`
   * exactly as two locked transactions are; it waits for no row lock either (SQLite: at most the
   * connection's busy timeout, what any statement of the app waits); and it writes only when no row of the
   * key belongs to another user. Resolves to the rows as written, or, where the database's UPDATE cannot
   * return rows (MariaDB), to `{ written }`, the number of rows written. Resolves to [] or
   * `{ written: 0 }` when it wrote nothing: the core then takes the locked path, which waits for the lock
   * (bounded) and applies the ownership policy. `begin()` is called once the store holds a connection,
   * right before the statement is sent; when it throws (the caller stopped waiting for a connection),
   * nothing is sent and its error is rethrown. Implemented where the database has such a lock or statement
   * (PostgreSQL's `pg_try_advisory_xact_lock`, MariaDB's per-statement lock wait of 0, SQLite's write
   * lock); see `SqlDatabase.ownTokens` in databases/*.
   */
  updateOwnTokens?(
    key: AccountKey,
    userId: UserId,
    tokens: Record<string, TokenColumnValue>,
    begin: () => void,
  ): Promise<OwnTokensWritten>
  /**
   * Optional, lease mode's one-statement write of a refresh answer: `updateOwnTokens` (the same lock rule,
   * the same result), and only while every column of `unchanged` still holds exactly that value (null and
   * absent alike mean "no value"), compared in the same statement. The values are the row's as the store
   * returned them (`StoredAccountRow.tokens`, encrypted where a codec is set). Nothing written: the core
   * takes the locked path, which compares the decoded row. Without it, the answer is always written there.
   */
  updateOwnTokensIfUnchanged?(
    key: AccountKey,
    userId: UserId,
    unchanged: Record<string, TokenColumnValue>,
    tokens: Record<string, TokenColumnValue>,
    begin: () => void,
  ): Promise<OwnTokensWritten>
  /**
   * Optional, lease mode's write of a refresh answer and the lease's end in one statement:
   * `updateOwnTokensIfUnchanged`, and, in the same statement and only when it writes a row, `leases.release`
   * of `lease` (fenced the same way). A process that then finds the lease free also finds the answer. When it
   * writes nothing, the lease is still held. Without it, lease mode writes, then releases (one more statement).
   */
  updateOwnTokensAndRelease?(
    key: AccountKey,
    userId: UserId,
    unchanged: Record<string, TokenColumnValue>,
    tokens: Record<string, TokenColumnValue>,
    lease: HeldLease,
    begin: () => void,
  ): Promise<OwnTokensWritten>
  /**
   * Optional (used by `reencryptAccounts`): the rows of up to `limit` keys that come after `after` in
   * (provider, providerAccountId) order, in that order, every row of each key (duplicates included),
   * read in one statement outside any lock. Paging by key, not offset, so rows inserted or deleted
   * meanwhile neither shift nor repeat a page.
   */
  scanAccounts?(page: AccountScanPage): Promise<StoredAccountRow[]>
  /**
   * Optional (used by the wrapped adapter's `accountsNeedingReauth`): the accounts marked as needing their
   * user again, i.e. whose mark column (`page.column`, the `refresh.reauthColumn` field, mapped to its
   * column as the store maps token fields) holds a non-empty value. One statement outside any lock, that
   * reads the key, the owner and the mark and NO token column. The rows of up to `page.limit` keys that come
   * after `page.after` in (provider, providerAccountId) order (only `page.provider`'s when given), in that
   * order; a page never splits a key (a schema without a unique key may hold several marked rows of one key:
   * each different owner and mark once). Keyset paging, not offset, so marks set or cleared meanwhile
   * neither shift nor repeat the keys of other pages.
   */
  listReauthMarks?(page: ReauthMarkPage): Promise<ReauthMark[]>
  /**
   * Optional: per-key leases, for `refresh.coordination: "lease"`, where a refresh holds no connection and
   * no transaction while the provider answers. Without it only the lock mode runs. See {@link AccountLeases}.
   */
  readonly leases?: AccountLeases
}

/**
 * The lease one holder took on one account key. Only this pair renews or releases it, so a holder whose
 * lease ended and was taken by another process cannot touch the new one.
 */
export interface HeldLease {
  /** Raised by the store on every take of the key. Text, so that a 64-bit counter survives. */
  fence: string
  /** The random value the holder gave `take`. */
  holder: string
}

/**
 * What `AccountLeases.take` answered: the lease and how long it lasts, or that another holder has it and
 * how long it has left (null when the store cannot tell). Busy is a value, never a database error code.
 * Either way it carries every row of the key and the store's clock, read AFTER the take (a second step):
 * the holder decides from them without another read, and a waiter sees the other holder's result.
 */
export type LeaseTake = (
  { taken: true; lease: HeldLease; remainingMs: number } | { taken: false; remainingMs: number | null }
) & {
  /**
   * Every row of the key (duplicates included, each with its owner), as `LockedAccount.readAll` gives
   * them, read after the take committed; empty when there is none.
   */
  rows: StoredAccountRow[]
  /** The store's clock, epoch ms, when it read `rows` (the database's `now`, not the caller's). */
  nowMs: number
}

/**
 * Per-key leases held by no connection: each call is one short atomic step (an autocommit statement, a
 * script, a conditional write). The minimum a store gives for lease mode, checked by the kit's "leases"
 * section:
 * 1. `take` is atomic: of any number of concurrent takes of a free key, exactly one returns `taken`.
 * 2. Whether a lease has ended is judged by one clock for every caller: the store's own (the database's
 *    `clock_timestamp()`, Redis's `PX`), never the caller's.
 * 3. `remainingMs` is a duration, counted from just before the take was sent (a wait for a pooled
 *    connection before it does not count), never more than what is left when `take` resolves.
 * 4. The fence grows on every take of a key; `renew` and `release` with an old fence or holder change nothing.
 * 5. `take`'s `rows` are read in a step after the take itself (never the same statement: under READ
 *    COMMITTED one statement's read may predate a write its take waited for), so they show every write
 *    committed before the release (or the end) of the lease it took or found; `nowMs` is the store's clock then.
 * The lease excludes other refreshes, so the holder's decision on `rows` needs no lock. The refresh result
 * itself is written through `withAccountLock` (a short transaction, no request inside), compared with the
 * tokens the holder read, so a sign-in racing the refresh is never overwritten; the lease is released after
 * that commit.
 */
export interface AccountLeases {
  /**
   * Takes the key's lease for `durationMs` if it is free or has ended, in one atomic step. `holder` is a
   * random value of the caller's, kept with the lease. Taken or busy, it then reads the key's rows and the
   * store's clock (`LeaseTake`). A caller that stopped waiting (`options.signal`) gets nothing sent on its
   * behalf.
   */
  take(key: AccountKey, holder: string, durationMs: number, options?: AccountReadOptions): Promise<LeaseTake>
  /** Extends `lease` to `durationMs` from now while it is still held and has not ended; null otherwise. */
  renew(key: AccountKey, lease: HeldLease, durationMs: number): Promise<{ remainingMs: number } | null>
  /** Ends `lease` if it is still held by it; otherwise changes nothing. */
  release(key: AccountKey, lease: HeldLease): Promise<void>
}

/**
 * What `AccountStore.updateOwnTokens` resolves to: the rows as written, or only how many were written where
 * the database's UPDATE returns no rows (MariaDB has no UPDATE ... RETURNING).
 */
export type OwnTokensWritten = StoredAccountRow[] | { written: number }

/** One page of `AccountStore.scanAccounts`. */
export interface AccountScanPage {
  /** Exclusive lower bound; from the first key when absent. */
  after?: AccountKey
  /** Most keys in the page; a positive integer. */
  limit: number
}

/** One page of `AccountStore.listReauthMarks`. */
export interface ReauthMarkPage {
  /** The mark column as an Auth.js field name (`refresh.reauthColumn`); never a standard token column. */
  column: string
  /** Exclusive lower bound in (provider, providerAccountId) order; from the first key when absent. */
  after?: AccountKey
  /** Only accounts at this provider, when given. */
  provider?: string
  /** Most keys in the page; a positive integer. */
  limit: number
}

/** A marked account as `AccountStore.listReauthMarks` reads it: its key, its owner and the mark, never a token. */
export interface ReauthMark extends AccountKey {
  /** The owner, as text (integer ids arrive as their decimal text). */
  userId: string
  /** The mark as stored: the OAuth error the provider refused the refresh with ("invalid_grant", "invalid_scope"). */
  reason: string
}

/** Per-call options of `findAccounts`. */
export interface AccountReadOptions {
  /**
   * Aborted when the caller stopped waiting for the read (its bound passed): a store that has not sent the
   * read yet (it still waits for a pooled connection) sends nothing and rejects. Under overload this keeps
   * the reads of callers that left from taking connections after them. Optional for custom stores.
   */
  signal?: AbortSignal
}

/** Per-call bounds for `withAccountLock`; each overrides the store's own default for that call. */
export interface AccountLockOptions {
  /**
   * Longest wait for the account's lock, in milliseconds. PostgreSQL stores run
   * `SET LOCAL lock_timeout` before `pg_advisory_xact_lock` (55P03 past it); MySQL/MariaDB stores set
   * `innodb_lock_wait_timeout` (whole seconds, rounded up; 1205); SQLite stores the busy timeout (SQLITE_BUSY).
   */
  lockTimeoutMs?: number
  /**
   * Longest the whole transaction may take, in milliseconds (lock wait plus the work under it, e.g. a
   * refresh request). Stores whose client enforces a transaction timeout (Prisma) use it; others may ignore it.
   */
  transactionTimeoutMs?: number
  /**
   * Aborted when the caller stopped waiting for the lock (its bound passed): a store that has not sent its
   * lock statement yet sends nothing more (no BEGIN, no lock, no read) and rejects; `work` is not called.
   * Under overload this keeps abandoned calls from taking connections and locks after their callers left.
   * Optional for custom stores: without it, the core's `begin()` check still rolls such a transaction back.
   */
  signal?: AbortSignal
}

/** Column names of the token fields the core writes by default. */
export const STANDARD_TOKEN_FIELDS = [
  "access_token",
  "refresh_token",
  "expires_at",
  "id_token",
  "scope",
  "token_type",
  "session_state",
] as const satisfies readonly (keyof StandardTokenColumns)[]
