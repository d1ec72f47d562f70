/**
 * AccountStore for a Kysely instance on PostgreSQL, MySQL/MariaDB or SQLite, matching the schema
 * documented for `@auth/kysely-adapter`: tables `"Account"` and `"User"`, camelCase key columns
 * (`"userId"`, `"providerAccountId"`), snake_case token columns. The database is read from the
 * instance's dialect adapter (Kysely's `PostgresAdapter`, `MysqlAdapter`, `SqliteAdapter`), or given
 * with the `database` option for third-party dialects.
 *
 * This module does not import `kysely`: the instance is typed structurally, and the store sends the
 * library's own parameterised SQL (statements.ts, in the database's syntax from databases/*) through
 * `executeQuery` on a plugin-free view of the instance (`withoutPlugins()`). So the table names are
 * exactly the configured ones: a `WithSchemaPlugin` or `CamelCasePlugin` on your instance does not apply
 * to them; use a schema-qualified table name (`"auth.Account"`) if your tables live outside the search path.
 *
 * How each database's transaction takes the account lock (databases/*): PostgreSQL, an advisory xact
 * lock in a READ COMMITTED transaction; MySQL/MariaDB, a row lock on the key in a READ COMMITTED
 * transaction, run once more after a duplicate-key error (a concurrent first insert of the same key);
 * SQLite, `BEGIN IMMEDIATE` on one connection held for the transaction (`db.connection()`), since
 * Kysely's own SQLite transactions begin deferred.
 *
 * The returning sign-in is one statement on each (`updateOwnTokens`, `SqlDatabase.ownTokens` in
 * databases/*): PostgreSQL's try-lock, MariaDB's row locks with a lock wait of 0, SQLite's write lock
 * under the connection's busy timeout. On SQLite it is not sent while a locked transaction of this store
 * holds Kysely's one connection: it would queue for that connection, so the sign-in takes the locked path
 * at once.
 */
import type {
  AccountKey,
  AccountLockOptions,
  AccountReadOptions,
  AccountScanPage,
  AccountStore,
  LockedAccount,
  OwnTokensWritten,
  StoredAccountRow,
  TokenColumnValue,
  UserId,
} from "../store.js"
import { mysql } from "../databases/mysql.js"
import { postgres } from "../databases/postgres.js"
import type { SqlDatabase } from "../databases/sql-database.js"
import {
  busyTimeoutOf,
  SQLITE_BEGIN_LOCKED,
  SQLITE_READ_BUSY_TIMEOUT,
  sqlite,
  sqliteBusyTimeout,
} from "../databases/sqlite.js"
import { AbandonedWait } from "../bounded-wait.js"
import { UnsupportedDatabaseError } from "../errors.js"
import {
  retryFirstInsertRace,
  sqlFindAccounts,
  sqlScanAccounts,
  sqlTables,
  sqlUpdateOwnTokens,
  underAccountLock,
  type HeldConnection,
  type SqlLockBound,
  type OwnTokensRunner,
  type SqlRunner,
  type SqlTables,
} from "../statements.js"
import { checkLockTimeout, lockTimeoutFor, typedLockTimeouts } from "../store-support.js"
import { DEFAULT_LEASE_TABLE, sqlLeases } from "../sql-leases.js"

// ---------------------------------------------------------------------------------------------------
// Structural types of the Kysely objects this store uses
// ---------------------------------------------------------------------------------------------------

/** A compiled raw query, as Kysely's `CompiledQuery.raw(sql, parameters)` builds it. */
export interface KyselyCompiledQueryLike {
  readonly sql: string
  readonly parameters: ReadonlyArray<unknown>
  readonly query: {
    readonly kind: "RawNode"
    readonly sqlFragments: ReadonlyArray<string>
    readonly parameters: ReadonlyArray<never>
  }
  readonly queryId: { readonly queryId: string }
}

/** The part of Kysely's `QueryResult` this store reads. */
export interface KyselyQueryResultLike<R> {
  readonly rows: R[]
  /** Rows a write changed (matched, with mysql2's default FOUND_ROWS flag); Kysely sets it for writes. */
  readonly numAffectedRows?: bigint
}

/** What a Kysely instance and a Kysely `Transaction` both offer, as far as this store is concerned. */
export interface KyselyExecutorLike {
  executeQuery<R>(query: KyselyCompiledQueryLike): Promise<KyselyQueryResultLike<R>>
  withoutPlugins(): KyselyExecutorLike
}

/** The part of a `Kysely<DB>` instance this store uses. Any `new Kysely<DB>(...)` satisfies it. */
export interface KyselyLike extends KyselyExecutorLike {
  transaction(): {
    setIsolationLevel(isolationLevel: "read committed"): {
      execute<T>(callback: (trx: KyselyExecutorLike) => Promise<T>): Promise<T>
    }
  }
  /** One connection held for a callback (used on SQLite, to begin its transaction as IMMEDIATE). */
  connection(): { execute<T>(callback: (connection: KyselyExecutorLike) => Promise<T>): Promise<T> }
  /** The executor; its `adapter` (Kysely's PostgresAdapter, MysqlAdapter, SqliteAdapter) tells the database. */
  getExecutor(): { readonly adapter: object }
}

/** The databases this store speaks. */
export type KyselyStoreDatabase = "postgres" | "mysql" | "sqlite"

/** Options of {@link kyselyAccountStore}: table names, how ids are made, the database, the lock bound. */
export interface KyselyAccountStoreOptions {
  /** Accounts table, optionally schema-qualified (`"auth.Account"`). Default `"Account"`. */
  accountTable?: string
  /** Users table, optionally schema-qualified. Default `"User"`. */
  userTable?: string
  /**
   * How inserted account rows get their `"id"`.
   *
   * - `false` (default): the insert leaves `"id"` out and the database fills it in. The schema
   *   documented for `@auth/kysely-adapter` declares `"id" uuid DEFAULT gen_random_uuid()`, and the
   *   adapter's own `linkAccount` inserts accounts without an id, relying on that default.
   * - `true`: the store sets `"id"` to `crypto.randomUUID()`, for schemas whose `"id"` has no default.
   * - a function: the store sets `"id"` to what it returns.
   */
  generateId?: boolean | (() => string | number)
  /**
   * Upper bound, in milliseconds, on how long `withAccountLock` waits for the account's lock (and any
   * other lock inside the transaction). PostgreSQL: `SET LOCAL lock_timeout` (SQLSTATE 55P03);
   * MySQL/MariaDB: `innodb_lock_wait_timeout` for the transaction, in whole seconds rounded up (1205);
   * SQLite: the connection's busy timeout for the transaction (SQLITE_BUSY). When exceeded nothing is
   * written. Default: the server's or connection's own bound.
   */
  lockTimeoutMs?: number
  /**
   * The database behind the instance. Default: read from the dialect's adapter (Kysely's
   * `PostgresAdapter`, `MysqlAdapter`, `SqliteAdapter`, or a third-party adapter extending one); set it
   * for a third-party dialect whose adapter extends none of them.
   */
  database?: KyselyStoreDatabase
  /**
   * The lease table of lease mode (`refresh.coordination: "lease"`), optionally schema-qualified. Default
   * `"authjs_refresh_lease"`; the README's "Lease mode: the migration" creates it. Unused in lock mode.
   */
  leaseTable?: string
}

// ---------------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------------

/**
 * Whether `value` is a Kysely instance (it has `selectFrom`, `transaction`, `executeQuery`,
 * `withoutPlugins` and `getExecutor`). A Kysely `Transaction` also matches; `kyselyAccountStore` refuses it.
 */
export function isKysely(value: unknown): value is KyselyLike {
  if (typeof value !== "object" || value === null) return false
  const record = value as Record<string, unknown>
  return ["selectFrom", "transaction", "executeQuery", "withoutPlugins", "getExecutor"].every(
    (name) => typeof record[name] === "function",
  )
}

// ---------------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------------

function compile(sql: string, parameters: readonly unknown[]): KyselyCompiledQueryLike {
  return {
    sql,
    parameters,
    query: { kind: "RawNode", sqlFragments: [sql], parameters: [] },
    queryId: { queryId: globalThis.crypto.randomUUID() },
  }
}

function runnerOf(executor: KyselyExecutorLike): SqlRunner {
  const plain = executor.withoutPlugins()
  return async (text, values) => (await plain.executeQuery<Record<string, unknown>>(compile(text, values))).rows
}

/** A runner and a write-count runner on one executor (the one-statement sign-in; MariaDB returns only the count). */
function ownTokensRunnerOf(executor: KyselyExecutorLike): OwnTokensRunner {
  const plain = executor.withoutPlugins()
  return {
    run: runnerOf(executor),
    affected: async (text, values) =>
      Number((await plain.executeQuery<Record<string, unknown>>(compile(text, values))).numAffectedRows ?? 0n),
  }
}

const DATABASE_BY_ADAPTER: ReadonlyMap<string, SqlDatabase> = new Map([
  ["PostgresAdapter", postgres],
  ["MysqlAdapter", mysql],
  ["SqliteAdapter", sqlite],
])
const DATABASE_BY_NAME: Readonly<Record<KyselyStoreDatabase, SqlDatabase>> = { postgres, mysql, sqlite }

/** The database of a Kysely instance: its adapter's class, or the nearest of Kysely's own it extends. */
function databaseOf(db: KyselyLike, option: KyselyStoreDatabase | undefined): SqlDatabase {
  const what = "kyselyAccountStore(db, { database })"
  if (option !== undefined) {
    const chosen = (DATABASE_BY_NAME as Record<string, SqlDatabase | undefined>)[option]
    if (!chosen)
      throw new UnsupportedDatabaseError(
        `${what}: database must be "postgres", "mysql" or "sqlite", not ${JSON.stringify(option)}.`,
      )
    return chosen
  }
  const adapter = db.getExecutor().adapter
  const names: string[] = []
  for (
    let proto: unknown = Object.getPrototypeOf(adapter);
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    const name = (proto as { constructor?: { name?: unknown } }).constructor?.name
    if (typeof name !== "string") continue
    names.push(name)
    const found = DATABASE_BY_ADAPTER.get(name)
    if (found) return found
  }
  throw new UnsupportedDatabaseError(
    `kyselyAccountStore: this Kysely instance's dialect adapter ` +
      `(${names[0] ?? "unknown"}) is not one this library speaks; ` +
      `PostgreSQL, MySQL/MariaDB and SQLite are supported: pass ${what} with ` +
      `"postgres", "mysql" or "sqlite" if the dialect speaks one of them.`,
  )
}

/**
 * An AccountStore over a Kysely instance and the `@auth/kysely-adapter` schema, on PostgreSQL,
 * MySQL/MariaDB or SQLite.
 *
 * `withAccountLock` runs `work` in one transaction holding the key's lock (see the module comment for
 * each database), READ COMMITTED where the database has isolation levels (each statement after the lock
 * sees what the previous holder committed). It commits when `work` resolves and rolls back and rethrows
 * the same error when it throws.
 *
 * @param db The same Kysely instance given to `KyselyAdapter(db)`.
 * @returns The store to pass as `withTokenSync(adapter, store)` or `reencryptAccounts(store, ...)`.
 * @throws {@link UnsupportedDatabaseError} when the dialect is none of PostgreSQL, MySQL/MariaDB, SQLite
 *   and `options.database` does not say which it speaks.
 * @throws {@link InvalidOptionsError} for an option that cannot work (a lock bound that is not a positive integer).
 */
export function kyselyAccountStore(db: KyselyLike, options: KyselyAccountStoreOptions = {}): AccountStore {
  const name = "kysely"
  if (!isKysely(db)) throw new TypeError("kyselyAccountStore: expected a Kysely instance.")
  if ((db as unknown as { isTransaction?: unknown }).isTransaction === true) {
    throw new TypeError(
      "kyselyAccountStore: got a Kysely Transaction; pass the " +
        "Kysely instance itself (the store opens its own transactions).",
    )
  }
  const database = databaseOf(db, options.database)
  const tables: SqlTables = sqlTables(database, {
    accounts: options.accountTable ?? "Account",
    users: options.userTable ?? "User",
    store: name,
    tableLabels: { accounts: "account table name", users: "user table name" },
    origin: {
      accounts: { name: options.accountTable ?? "Account", option: "kyselyAccountStore(db, { accountTable })" },
      users: { name: options.userTable ?? "User", option: "kyselyAccountStore(db, { userTable })" },
    },
  })
  const lockTimeoutMs = checkLockTimeout(options.lockTimeoutMs, "kyselyAccountStore")
  const { generateId = false } = options
  const insertDefaults = (): Record<string, unknown> => {
    if (generateId === false) return {}
    return { id: generateId === true ? globalThis.crypto.randomUUID() : generateId() }
  }

  const underLock = <T>(
    run: SqlRunner,
    key: AccountKey,
    lock: SqlLockBound,
    work: (account: LockedAccount) => Promise<T>,
  ): Promise<T> => underAccountLock(run, tables, key, lock, { defaults: insertDefaults }, work)
  // The one-statement sign-in, on a connection held for it (so `begin` comes after the pool's wait).
  const updateOwnTokens = sqlUpdateOwnTokens(tables)
  // SQLite: Kysely's one connection, which a locked transaction of this store holds for its whole length;
  // the sign-in meanwhile takes the locked path at once instead of queueing for the connection.
  let sqliteTransactions = 0

  /** SQLite: one held connection, `BEGIN IMMEDIATE` (the write lock, waited for up to the busy timeout). */
  async function sqliteTransaction<T>(
    key: AccountKey,
    lock: SqlLockBound,
    work: (account: LockedAccount) => Promise<T>,
  ): Promise<T> {
    sqliteTransactions++
    return db
      .connection()
      .execute(async (connection) => {
        // The caller gave up while this waited for Kysely's one connection: no BEGIN, no read.
        if (lock.signal?.aborted) throw new AbandonedWait()
        const run = runnerOf(connection)
        const timeout = lock.timeoutMs
        const restoreBusyTimeout = timeout === undefined ? undefined : await setBusyTimeout(run, timeout)
        try {
          await run(SQLITE_BEGIN_LOCKED, [])
          let result: T
          try {
            result = await underLock(run, key, lock, work)
          } catch (error) {
            await run("ROLLBACK", []).catch(() => undefined)
            throw error
          }
          await run("COMMIT", [])
          return result
        } finally {
          await restoreBusyTimeout?.()
        }
      })
      .finally(() => sqliteTransactions--)
  }

  const store: AccountStore = {
    name,
    // @auth/kysely-adapter's linkAccount returns the account object it was given.
    linkAccountResult: "input",

    // async: a bad option must reject the returned promise, not throw synchronously.
    async withAccountLock<T>(
      key: AccountKey,
      work: (account: LockedAccount) => Promise<T>,
      lockOptions?: AccountLockOptions,
    ): Promise<T> {
      const timeout = lockTimeoutFor(lockOptions, lockTimeoutMs, "kyselyAccountStore")
      if (database === sqlite) return sqliteTransaction(key, { timeoutMs: timeout, signal: lockOptions?.signal }, work)
      return retryFirstInsertRace(database, () =>
        db
          .transaction()
          .setIsolationLevel("read committed")
          .execute((trx) => underLock(runnerOf(trx), key, { timeoutMs: timeout, signal: lockOptions?.signal }, work)),
      )
    },

    async findAccounts(
      userId: string,
      provider: string,
      readOptions?: AccountReadOptions,
    ): Promise<StoredAccountRow[]> {
      const signal = readOptions?.signal
      if (!signal) return sqlFindAccounts(runnerOf(db), tables, userId, provider)
      // On a connection held for it: a caller that left while the pool was busy gets no read sent.
      return db.connection().execute(async (connection) => {
        if (signal.aborted) throw new AbandonedWait()
        return sqlFindAccounts(runnerOf(connection), tables, userId, provider)
      })
    },

    async scanAccounts(page: AccountScanPage): Promise<StoredAccountRow[]> {
      return sqlScanAccounts(runnerOf(db), tables, page)
    },

    leases: sqlLeases({
      database,
      table: options.leaseTable ?? DEFAULT_LEASE_TABLE,
      store: name,
      option: "kyselyAccountStore(db, { leaseTable })",
      accounts: tables,
      hold: () => holdKyselyConnection(db),
    }),

    ...(updateOwnTokens && {
      async updateOwnTokens(
        key: AccountKey,
        userId: UserId,
        tokens: Record<string, TokenColumnValue>,
        begin: () => void,
      ): Promise<OwnTokensWritten> {
        if (database === sqlite && sqliteTransactions > 0) {
          begin()
          return []
        }
        return db.connection().execute(async (connection) => {
          begin()
          return updateOwnTokens(ownTokensRunnerOf(connection), key, userId, tokens)
        })
      },
    }),
  }
  return typedLockTimeouts(store, database)
}

/** One of Kysely's connections, held until `release` (Kysely lends a connection only for a callback). */
function holdKyselyConnection(db: KyselyLike): Promise<HeldConnection> {
  return new Promise<HeldConnection>((resolve, reject) => {
    db.connection()
      .execute((connection) => new Promise<void>((release) => resolve({ run: runnerOf(connection), release })))
      .catch(reject)
  })
}

/** Sets the connection's busy timeout to `ms` and returns what puts the previous one back. */
async function setBusyTimeout(run: SqlRunner, ms: number): Promise<() => Promise<void>> {
  const [current] = await run(SQLITE_READ_BUSY_TIMEOUT, [])
  const previous = busyTimeoutOf(current)
  await run(sqliteBusyTimeout(ms), [])
  return async () => {
    if (previous !== undefined) await run(sqliteBusyTimeout(previous), []).catch(() => undefined)
  }
}
