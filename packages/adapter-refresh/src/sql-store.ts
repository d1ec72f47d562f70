/**
 * The SQL AccountStore, written once for every SQL client: the transaction around the account lock (acquire,
 * the caller's abort checks, begin, commit, rollback, release), the first-insert retry, the reads, the
 * one-statement sign-in, the scan, the leases and the typed lock timeouts. A client gives only a small
 * {@link SqlDriver} (drivers/*): how it lends a connection and runs a statement on it. What differs by
 * database comes from the `SqlDatabase` the driver names (databases/*); nothing here branches on either.
 * Internal: not part of the package's exports.
 */
import { AbandonedWait } from "./bounded-wait.js"
import type { SqlDatabase, SqlStatement } from "./databases/sql-database.js"
import { DEFAULT_LEASE_TABLE, sqlLeases } from "./sql-leases.js"
import {
  quoteTableName,
  retryFirstInsertRace,
  sqlFindAccounts,
  sqlFindAccountsHeld,
  sqlListReauthMarks,
  sqlScanAccounts,
  sqlUpdateOwnTokens,
  underAccountLock,
  type HeldConnection,
  type SqlInsertOptions,
  type SqlLockBound,
  type SqlRunner,
  type SqlTables,
} from "./statements.js"
import type { AccountKey, AccountStore, OwnTokensWritten, TokenColumnValue, UserId } from "./store.js"
import { lockTimeoutFor, typedLockTimeouts } from "./store-support.js"

/**
 * A connection a driver holds for one account transaction. `begin`, `commit` and `rollback` default to the
 * database's own statements (`SqlDatabase.begin`, COMMIT, ROLLBACK) sent through `run`. @internal
 */
export interface SqlTransactionConnection {
  run: SqlRunner
  begin?(): Promise<void>
  commit?(): Promise<void>
  rollback?(): Promise<void>
  /** Gives the connection back; with the error of a BEGIN or ROLLBACK that failed (its state is unknown). */
  release(failure?: unknown): void | Promise<void>
}

/** How one SQL client lends connections and runs statements: all a new client writes. @internal */
export interface SqlDriver {
  readonly database: SqlDatabase
  /** One statement on any connection of the client (reads and scans that need no abort check). */
  run: SqlRunner
  /** A connection held for one or two statements outside any transaction, given back by `release`. */
  hold(): Promise<HeldConnection>
  /** Whether a statement sent through `run` now would start at once (a pool with an idle connection). */
  idle?(): boolean
  /**
   * A connection for one account transaction, once the client can lend one (a pool, an in-process queue).
   * `lock` is the transaction's bound, for clients whose begin waits for the lock itself (SQLite).
   */
  acquire(lock: SqlLockBound): Promise<SqlTransactionConnection>
  /** The one-statement sign-in's connection. Default `hold`; null where the client cannot send it safely. */
  signIn?: (() => Promise<HeldConnection>) | null
  /**
   * Whether a sign-in sent now would queue behind this store's own transaction (a client with one
   * connection): none is sent then, and the core takes the locked path at once.
   */
  signInWouldWait?(): boolean
  /** The leases' connection. Default `hold`; null where the client cannot run them. */
  leases?: (() => Promise<HeldConnection>) | null
}

/** What a store built on a driver is called and configured with. @internal */
export interface SqlStoreOptions {
  /** The store's name in errors and logs, e.g. "pg". */
  name: string
  /** The factory, in errors about per-call options, e.g. "pgAccountStore". */
  factory: string
  tables: SqlTables
  insert?: SqlInsertOptions
  lockTimeoutMs: number | undefined
  linkAccountResult: AccountStore["linkAccountResult"]
  /** The lease table as configured (default `authjs_refresh_lease`) and the option that names it. */
  leaseTable: string | undefined
  leaseOption: string
}

async function runAll(run: SqlRunner, statements: readonly string[]): Promise<void> {
  for (const text of statements) await run(text, [])
}

/**
 * One account transaction on `driver`: a caller that left while the client was busy gets nothing sent; a
 * failed BEGIN or ROLLBACK hands its error to `release` (a pool destroys such a connection). @internal
 */
export async function sqlTransaction<T>(
  driver: Pick<SqlDriver, "acquire" | "database">,
  lock: SqlLockBound,
  inside: (run: SqlRunner) => Promise<T>,
): Promise<T> {
  const connection = await driver.acquire(lock)
  if (lock.signal?.aborted) {
    await connection.release()
    throw new AbandonedWait()
  }
  const { run } = connection
  try {
    await (connection.begin ? connection.begin() : runAll(run, driver.database.begin))
  } catch (error) {
    await connection.release(error)
    throw error
  }
  let result: T
  try {
    result = await inside(run)
    await (connection.commit ? connection.commit() : run("COMMIT", []))
  } catch (error) {
    try {
      await (connection.rollback ? connection.rollback() : run("ROLLBACK", []))
    } catch (rollbackError) {
      await connection.release(rollbackError)
      throw error
    }
    await connection.release()
    throw error
  }
  await connection.release()
  return result
}

/** The AccountStore of an SQL client, over its driver. @internal */
export function sqlAccountStore(driver: SqlDriver, options: SqlStoreOptions): AccountStore {
  const { database } = driver
  const { tables, factory } = options
  const update = sqlUpdateOwnTokens(tables)
  const signIn = driver.signIn === undefined ? () => driver.hold() : driver.signIn
  const leases = driver.leases === undefined ? () => driver.hold() : driver.leases
  const leaseTable = options.leaseTable ?? DEFAULT_LEASE_TABLE
  // Quoted once, where the write can release (checked again by sqlLeases, which quotes it the same way).
  const quotedLeaseTable =
    leases && database.leases.releasingAfter ? quoteTableName(database, leaseTable, "lease table name") : undefined

  /** The one-statement write (`updateOwnTokens`, with `unchanged` `updateOwnTokensIfUnchanged`). */
  async function ownTokens(
    key: AccountKey,
    userId: UserId,
    unchanged: Record<string, TokenColumnValue> | undefined,
    tokens: Record<string, TokenColumnValue>,
    begin: () => void,
    around?: (write: SqlStatement) => SqlStatement,
  ): Promise<OwnTokensWritten> {
    if (!update || !signIn) throw new Error("unreachable: offered only with the database's statement")
    if (driver.signInWouldWait?.()) {
      begin()
      return database.ownTokens?.returnsRows === false ? { written: 0 } : []
    }
    const held = await signIn()
    try {
      begin()
      return await update(held, key, userId, tokens, unchanged, around)
    } finally {
      held.release()
    }
  }

  const store: AccountStore = {
    name: options.name,
    linkAccountResult: options.linkAccountResult,

    // async: a bad option must reject the returned promise, not throw synchronously.
    async withAccountLock(key, work, lockOptions) {
      const lock = {
        timeoutMs: lockTimeoutFor(lockOptions, options.lockTimeoutMs, factory),
        signal: lockOptions?.signal,
      }
      return retryFirstInsertRace(database, () =>
        sqlTransaction(driver, lock, (run) => underAccountLock(run, tables, key, lock, options.insert ?? {}, work)),
      )
    },

    async findAccounts(userId, provider, readOptions) {
      const signal = readOptions?.signal
      if (signal?.aborted) throw new AbandonedWait()
      // Nothing to abort, or a read that cannot queue: the client's cheapest way.
      if (!signal || driver.idle?.()) return sqlFindAccounts(driver.run, tables, userId, provider)
      // A read that may queue: on a held connection, with a look at the caller once it is held.
      return sqlFindAccountsHeld(() => driver.hold(), signal, tables, userId, provider)
    },

    async scanAccounts(page) {
      return sqlScanAccounts(driver.run, tables, page)
    },

    async listReauthMarks(page) {
      return sqlListReauthMarks(driver.run, tables, page)
    },

    ...(update &&
      signIn && {
        updateOwnTokens: (key, userId, tokens, begin) => ownTokens(key, userId, undefined, tokens, begin),
        updateOwnTokensIfUnchanged: ownTokens,
      }),

    // The answer's write and the lease's end in one statement, where the database can say both at once.
    ...(update &&
      signIn &&
      quotedLeaseTable !== undefined && {
        updateOwnTokensAndRelease: (key, userId, unchanged, tokens, lease, begin) =>
          ownTokens(key, userId, unchanged, tokens, begin, (write) =>
            database.leases.releasingAfter!(write, quotedLeaseTable, key, lease),
          ),
      }),

    ...(leases && {
      leases: sqlLeases({
        database,
        table: leaseTable,
        store: options.name,
        option: options.leaseOption,
        accounts: tables,
        hold: leases,
      }),
    }),
  }
  return typedLockTimeouts(store, database)
}
