/**
 * AccountStore for a Drizzle database (`drizzle(...)` from drizzle-orm) on PostgreSQL, MySQL/MariaDB or
 * SQLite, matching the tables of `@auth/drizzle-adapter`: by default `user` and `account` with camelCase
 * key columns (`userId`, `providerAccountId`) and snake_case token columns; or the app's own tables,
 * passed here exactly as they are passed to `DrizzleAdapter(db, { usersTable, accountsTable })`. Table
 * and column names are read from the table objects (the names the database has, after `pgTableCreator`
 * prefixes, `pgSchema`s and the db's `casing` option), so the statements use the app's names while the
 * core speaks Auth.js's field names (`userId`, `providerAccountId`, `access_token`, ...).
 *
 * What differs by database (SQL, the account lock, error meanings) comes from databases/*; this module
 * is the client part: how a statement and a transaction run through Drizzle, per driver:
 * - node-postgres, postgres.js, mysql2: the db's own session and `db.transaction(...)`, on the
 *   connections the app configured;
 * - better-sqlite3: Drizzle's transactions there are synchronous and share the app's one connection, so
 *   a transaction cannot stay open across an await (a refresh request) without taking in every other
 *   statement the app sends meanwhile. The store opens ONE connection of its own to the same file (with
 *   the app's Database class and file name) for its locked transactions, serialised in-process;
 * - libsql (@libsql/client on a local file): the app's client (`db.$client`), whose pool lends each
 *   transaction a connection of its own; the store's own SQL on it, one transaction at a time per
 *   process, with the write lock taken by a statement that can be asked again (see libsqlTransaction).
 *
 * This module does not import drizzle-orm: the db and the tables are recognised by the
 * `Symbol.for("drizzle:...")` keys Drizzle puts on them.
 */
import { mysql } from "../databases/mysql.js"
import { postgres } from "../databases/postgres.js"
import type { SqlDatabase } from "../databases/sql-database.js"
import {
  SQLITE_BEGIN_LOCKED,
  SQLITE_READ_BUSY_TIMEOUT,
  busyTimeoutOf,
  sqlite,
  sqliteBusyTimeout,
  sqliteNoOpWrite,
} from "../databases/sqlite.js"
import { AbandonedWait } from "../bounded-wait.js"
import { InvalidOptionsError, UnsupportedDatabaseError } from "../errors.js"
import {
  retryFirstInsertRace,
  schemaMismatch,
  sqlFindAccounts,
  sqlFindAccountsHeld,
  sqlScanAccounts,
  sqlTables,
  sqlUpdateOwnTokens,
  underAccountLock,
  type SqlLockBound,
  updateOwnTokensOn,
  type HeldConnection,
  type SqlRunner,
  type SqlTables,
  type TableName,
} from "../statements.js"
import {
  STANDARD_TOKEN_FIELDS,
  type AccountKey,
  type AccountLockOptions,
  type AccountReadOptions,
  type AccountScanPage,
  type AccountStore,
  type LockedAccount,
  type StoredAccountRow,
} from "../store.js"
import { checkLockTimeout, lockTimeoutFor, typedLockTimeouts } from "../store-support.js"
import { DEFAULT_LEASE_TABLE, sqlLeases, unheld } from "../sql-leases.js"
import { holdPgConnection, isPgClient, isPgPool } from "./pg.js"

// ---------------------------------------------------------------------------------------------------
// Structural types of the Drizzle objects this store uses
// ---------------------------------------------------------------------------------------------------

/**
 * A Drizzle database as `drizzle(...)` returns it, for any dialect and driver. Only its shape is named
 * here; which database and driver it is comes from the entity kinds Drizzle stamps on its classes.
 */
export interface DrizzleDatabaseLike {
  /**
   * The driver's client (a pg Pool, a postgres.js `sql`, a mysql2 Pool, a better-sqlite3 Database, a libsql Client).
   */
  readonly $client?: unknown
  transaction: (...args: never[]) => unknown
}

/**
 * A Drizzle table (`pgTable(...)`, `mysqlTable(...)`, `sqliteTable(...)`). Drizzle types every table
 * with this type-only `_` member; at run time the store reads the table's `Symbol.for("drizzle:...")` keys.
 */
export interface DrizzleTableLike {
  readonly _: { readonly name: string }
}

/** Options of {@link drizzleAccountStore}: the tables given to `DrizzleAdapter`, and the lock bound. */
export interface DrizzleAccountStoreOptions {
  /** The users table given to `DrizzleAdapter(db, { usersTable })`. Default: the adapter's own `user` table. */
  usersTable?: DrizzleTableLike
  /**
   * The accounts table given to `DrizzleAdapter(db, { accountsTable })`. Default: the adapter's own `account` table.
   */
  accountsTable?: DrizzleTableLike
  /**
   * Upper bound, in milliseconds, on how long `withAccountLock` waits for the account's lock; nothing is
   * written when it passes. PostgreSQL: `SET LOCAL lock_timeout` (default: the server's own); MySQL:
   * `innodb_lock_wait_timeout`, in whole seconds (default: the server's own); SQLite: how long the store
   * keeps asking for the file's write lock (default 5000, better-sqlite3's own busy timeout).
   */
  lockTimeoutMs?: number
  /**
   * The lease table of lease mode (`refresh.coordination: "lease"`), optionally schema-qualified. Default
   * `"authjs_refresh_lease"`; the README's "Lease mode: the migration" creates it. Unused in lock mode. Not on
   * libsql, whose statements that fail on the file's lock stay in progress on their connection.
   */
  leaseTable?: string
}

// ---------------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------------

const ENTITY_KIND = Symbol.for("drizzle:entityKind")
const TABLE_NAME = Symbol.for("drizzle:Name")
const TABLE_SCHEMA = Symbol.for("drizzle:Schema")
const TABLE_COLUMNS = Symbol.for("drizzle:Columns")
const IS_DRIZZLE_TABLE = Symbol.for("drizzle:IsDrizzleTable")

/** The entity kinds of `value`'s class and its ancestors, most derived first (what drizzle's `is()` walks). */
function entityKinds(value: object): string[] {
  const kinds: string[] = []
  let cls: unknown = Object.getPrototypeOf(value)?.constructor
  while (typeof cls === "function") {
    const kind = Object.prototype.hasOwnProperty.call(cls, ENTITY_KIND)
      ? (cls as unknown as Record<symbol, unknown>)[ENTITY_KIND]
      : undefined
    if (typeof kind === "string") kinds.push(kind)
    cls = Object.getPrototypeOf(cls)
  }
  return kinds
}

/** Drizzle's base database class of each dialect, by entity kind. */
const DIALECT_BASES: Readonly<Record<string, SqlDatabase>> = {
  PgDatabase: postgres,
  MySqlDatabase: mysql,
  BaseSQLiteDatabase: sqlite,
}

type DrizzleDriver = "node-postgres" | "postgres.js" | "mysql2" | "better-sqlite3" | "libsql"

/** The drivers this store runs on, by the entity kind of their database class. */
const SUPPORTED_DRIVERS: Readonly<Record<string, DrizzleDriver>> = {
  NodePgDatabase: "node-postgres",
  PostgresJsDatabase: "postgres.js",
  MySql2Database: "mysql2",
  BetterSQLite3Database: "better-sqlite3",
  LibSQLDatabase: "libsql",
}

const SUPPORTED_LIST =
  "drizzle-orm/node-postgres (on a pg Pool), drizzle-orm/postgres-js, drizzle-orm/mysql2 (on a pool), " +
  "drizzle-orm/better-sqlite3 (on a database file) or drizzle-orm/libsql (on a local file)"

function databaseOfKinds(kinds: readonly string[]): SqlDatabase | undefined {
  for (const kind of kinds) if (kind in DIALECT_BASES) return DIALECT_BASES[kind]
  return undefined
}

/**
 * Whether `value` is a Drizzle database of any dialect (its class descends from Drizzle's PgDatabase,
 * MySqlDatabase or BaseSQLiteDatabase). A Drizzle transaction also matches; `drizzleAccountStore`
 * refuses it, as it refuses drivers it cannot run on.
 */
export function isDrizzleDatabase(value: unknown): value is DrizzleDatabaseLike {
  if (typeof value !== "object" || value === null) return false
  return (
    databaseOfKinds(entityKinds(value)) !== undefined &&
    typeof (value as { transaction?: unknown }).transaction === "function"
  )
}

// ---------------------------------------------------------------------------------------------------
// Tables: names and columns as the database has them
// ---------------------------------------------------------------------------------------------------

/** The Auth.js fields of an account row that are not tokens. */
const ACCOUNT_KEY_FIELDS = ["userId", "type", "provider", "providerAccountId"] as const

interface ColumnLike {
  name: string
  keyAsName?: boolean
  /** `$defaultFn(...)` / `$default(...)`: a value Drizzle computes in the client on insert. */
  defaultFn?: () => unknown
  mapToDriverValue?: (value: unknown) => unknown
}

/** A table as the statements need it. */
interface ResolvedTable {
  /** "table" or "schema.table", for messages only. */
  name: string
  /** The schema and the name apart, as Drizzle keeps them: a "." inside a name is part of it. */
  parts: TableName
  /** Field (the table's property) -> column name, for the columns the table declares; absent for a default table. */
  columns: Map<string, string> | undefined
  /** Columns Drizzle fills in the client on insert (`$defaultFn`), by field. */
  clientDefaults: Map<string, ColumnLike>
}

function isDrizzleTable(value: unknown): value is Record<symbol, unknown> {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[IS_DRIZZLE_TABLE] === true
}

/** The name the database uses for `column`: its own, or with the db's `casing` applied to a key-named column. */
function columnName(db: object, column: ColumnLike): string {
  const casing = (db as { dialect?: { casing?: { getColumnCasing?: (column: ColumnLike) => string } } }).dialect?.casing
  if (column.keyAsName === true && typeof casing?.getColumnCasing === "function") return casing.getColumnCasing(column)
  return column.name
}

function resolveTable(
  db: object,
  table: DrizzleTableLike | undefined,
  fallback: string,
  option: string,
  required: readonly string[],
): ResolvedTable {
  if (table === undefined)
    return {
      name: fallback,
      parts: { schema: undefined, name: fallback },
      columns: undefined,
      clientDefaults: new Map(),
    }
  if (!isDrizzleTable(table)) {
    throw new InvalidOptionsError(
      option,
      `drizzleAccountStore: ${option} must be a Drizzle table (the one given to DrizzleAdapter).`,
    )
  }
  const name = table[TABLE_NAME]
  const schema = table[TABLE_SCHEMA]
  if (typeof name !== "string")
    throw new InvalidOptionsError(option, `drizzleAccountStore: ${option} has no table name.`)
  const schemaName = typeof schema === "string" && schema !== "" ? schema : undefined
  const qualified = schemaName === undefined ? name : `${schemaName}.${name}`
  const columns = new Map<string, string>()
  const clientDefaults = new Map<string, ColumnLike>()
  for (const [field, column] of Object.entries((table[TABLE_COLUMNS] ?? {}) as Record<string, ColumnLike>)) {
    columns.set(field, columnName(db, column))
    if (typeof column.defaultFn === "function") clientDefaults.set(field, column)
  }
  for (const field of required) {
    if (!columns.has(field)) {
      throw new InvalidOptionsError(
        option,
        `drizzleAccountStore: ${option} ${JSON.stringify(qualified)} has no "${field}" column, which Auth.js needs.`,
      )
    }
  }
  return { name: qualified, parts: { schema: schemaName, name }, columns, clientDefaults }
}

/**
 * The values Drizzle itself would put into the columns an insert leaves out and that have a client-side
 * default (`$defaultFn`, e.g. a custom table's `id` from `crypto.randomUUID()`): the database has no
 * default for them, so without these the insert fails where the bare adapter's succeeds.
 */
function clientDefaultsOf(table: ResolvedTable, written: ReadonlySet<string>): Record<string, unknown> {
  const values: Record<string, unknown> = {}
  for (const [field, definition] of table.clientDefaults) {
    if (written.has(field)) continue
    const value = definition.defaultFn!()
    // An SQL expression (sql`...`) is Drizzle's to render; plain values are all this store can send.
    if (typeof value === "object" && value !== null && typeof (value as { getSQL?: unknown }).getSQL === "function") {
      throw new InvalidOptionsError(
        "accountsTable",
        `drizzleAccountStore: the $defaultFn of accountsTable's ${JSON.stringify(field)} ` +
          `returns an SQL expression; give the column a database default instead.`,
      )
    }
    values[field] = typeof definition.mapToDriverValue === "function" ? definition.mapToDriverValue(value) : value
  }
  return values
}

// ---------------------------------------------------------------------------------------------------
// Running statements through Drizzle
// ---------------------------------------------------------------------------------------------------

interface DrizzlePreparedQueryLike {
  execute(): Promise<unknown>
  all(): unknown
}

interface DrizzleSessionLike {
  prepareQuery(query: { sql: string; params: unknown[] }, ...rest: unknown[]): DrizzlePreparedQueryLike
}

interface DrizzleRunnable {
  readonly session: DrizzleSessionLike
  transaction<T>(work: (tx: DrizzleRunnable) => Promise<T>, config?: { isolationLevel?: "read committed" }): Promise<T>
}

/** A better-sqlite3 Database, as far as this store uses it (its own connection is opened with the app's class). */
interface BetterSqliteLike {
  readonly name: string
  readonly memory: boolean
  readonly open: boolean
  readonly inTransaction: boolean
  prepare(text: string): {
    readonly reader: boolean
    all(...values: unknown[]): unknown[]
    run(...values: unknown[]): unknown
  }
  pragma(text: string, options?: { simple: boolean }): unknown
  close(): void
}

/** What a libsql statement is given and returns, on the client or on one of its transactions. */
interface LibsqlExecutor {
  execute(statement: { sql: string; args: unknown[] }): Promise<{ rows: readonly object[] }>
  /** Runs SQL text through sqlite3_exec-like batch execution: each statement is finalized, even when it fails. */
  executeMultiple(sql: string): Promise<unknown>
}

/** An @libsql/client transaction: it holds one of the client's connections until it settles. */
interface LibsqlTransactionLike extends LibsqlExecutor {
  /** Rolls back if still open and gives the connection back to the client; never throws for a settled one. */
  close(): void
}

/** An @libsql/client Client (`createClient({ url: "file:..." })`), as far as this store uses it. */
interface LibsqlClientLike extends LibsqlExecutor {
  readonly protocol: string
  transaction(mode: "deferred"): Promise<LibsqlTransactionLike>
}

function isLibsqlClient(value: unknown): value is LibsqlClientLike {
  const client = value as Partial<Record<keyof LibsqlClientLike, unknown>> | null | undefined
  return (
    typeof client === "object" &&
    client !== null &&
    typeof client.protocol === "string" &&
    typeof client.execute === "function" &&
    typeof client.executeMultiple === "function" &&
    typeof client.transaction === "function"
  )
}

/**
 * Drizzle wraps a driver's error in a DrizzleQueryError whose message carries the statement's
 * parameters (tokens among them) and whose `code` is gone. The store passes the driver's own error on,
 * which is what the databases classify and the core reduces to its class name and code.
 */
function driverError(error: unknown): unknown {
  if (
    error instanceof Error &&
    error.constructor.name === "DrizzleQueryError" &&
    "params" in error &&
    error.cause !== undefined
  ) {
    return error.cause
  }
  return error
}

/** Rows of a statement's result, per driver. */
function rowsOf(driver: DrizzleDriver, result: unknown): Record<string, unknown>[] {
  // mysql2: [rows, fields] for a query, [ResultSetHeader, undefined] for a write.
  if (driver === "mysql2")
    return Array.isArray(result) && Array.isArray(result[0]) ? (result[0] as Record<string, unknown>[]) : []
  // postgres.js and better-sqlite3 (`all`): the rows; node-postgres: a QueryResult.
  if (Array.isArray(result)) return result as Record<string, unknown>[]
  const rows = (result as { rows?: unknown } | null)?.rows
  return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : []
}

/** A runner over a Drizzle session (the db's, or a transaction's); libsql runs on its client instead (libsqlRunner). */
function sessionRunner(driver: Exclude<DrizzleDriver, "libsql">, target: DrizzleRunnable): SqlRunner {
  return async (text, values) => {
    const query = { sql: text, params: [...values] }
    try {
      switch (driver) {
        case "node-postgres":
        case "postgres.js":
          // (query, fields, name, isResponseInArrayMode): no fields, so Drizzle maps nothing.
          return rowsOf(driver, await target.session.prepareQuery(query, undefined, undefined, false).execute())
        case "mysql2":
          return rowsOf(driver, await target.session.prepareQuery(query, undefined).execute())
        case "better-sqlite3":
          // (query, fields, executeMethod, isResponseInArrayMode): `all` returns the rows as objects.
          return rowsOf(driver, await target.session.prepareQuery(query, undefined, "all", false).all())
      }
    } catch (error) {
      throw driverError(error)
    }
  }
}

/**
 * A runner on a libsql client or transaction. Rows are copied to plain objects (libsql's rows also carry index keys).
 */
function libsqlRunner(target: LibsqlExecutor): SqlRunner {
  return async (text, values) => {
    const result = await target.execute({ sql: text, args: [...values] })
    return result.rows.map((row) => ({ ...row }) as Record<string, unknown>)
  }
}

/** The part of a postgres.js `sql` this store uses for a held connection (postgres 3.4+). */
interface PostgresJsLike {
  reserve(): Promise<{
    unsafe(text: string, values: unknown[]): PromiseLike<readonly Record<string, unknown>[]>
    release(): void
  }>
}

/**
 * The part of a mysql2 pool this store uses for a held connection (mysql2/promise, or a callback pool's `.promise()`).
 */
interface Mysql2PoolLike {
  getConnection(): Promise<{ query(text: string, values: unknown[]): Promise<[unknown, unknown]>; release(): void }>
}

/** A connection of the driver's pool held for one statement, or undefined when the client cannot lend one. */
function heldConnectionOf(driver: DrizzleDriver, client: unknown): (() => Promise<HeldConnection>) | undefined {
  if (driver === "node-postgres" && isPgPool(client)) return () => holdPgConnection(client)
  if (driver === "mysql2") {
    const callbackPool = client as { promise?: () => Mysql2PoolLike }
    const pool = typeof callbackPool.promise === "function" ? callbackPool.promise() : (client as Mysql2PoolLike)
    return async () => {
      const connection = await pool.getConnection()
      const query = async (text: string, values: readonly unknown[]) => (await connection.query(text, [...values]))[0]
      return {
        run: async (text, values) => rowsOf("mysql2", [await query(text, values)]),
        // A write's ResultSetHeader: affectedRows counts the rows matched (mysql2 sets FOUND_ROWS by default).
        affected: async (text, values) =>
          Number(((await query(text, values)) as { affectedRows?: unknown }).affectedRows ?? 0),
        release: () => connection.release(),
      }
    }
  }
  const sql = client as Partial<PostgresJsLike> | undefined
  if (driver === "postgres.js" && typeof sql?.reserve === "function") {
    const reserve = sql.reserve.bind(sql)
    return async () => {
      const connection = await reserve()
      return {
        run: async (text, values) => [...(await connection.unsafe(text, [...values]))],
        release: () => connection.release(),
      }
    }
  }
  return undefined
}

/** A runner on a better-sqlite3 connection of the store's own. */
function betterSqliteRunner(connection: BetterSqliteLike): SqlRunner {
  return async (text, values) => {
    const statement = connection.prepare(text)
    if (statement.reader) return statement.all(...values) as Record<string, unknown>[]
    statement.run(...values)
    return []
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Runs `attempt` until it stops failing with SQLITE_BUSY or `deadline` passes, sleeping between tries.
 * Asking again from the event loop, instead of a busy timeout, matters on SQLite's synchronous drivers:
 * their busy timeout waits on the JavaScript thread, so a wait for a lock that this same process holds
 * across an await (a refresh request) would block the very code that is to release it.
 */
async function untilNotBusy<T>(attempt: () => Promise<T>, deadline: number): Promise<T> {
  for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
    try {
      return await attempt()
    } catch (raw) {
      const error = driverError(raw)
      if (sqlite.classifyError(error).kind !== "lock-timeout" || Date.now() + pause > deadline) throw error
      await sleep(pause + Math.random() * pause)
    }
  }
}

/** Runs tasks one at a time, in call order (the store's SQLite transactions in one process). */
function serialQueue(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve()
  return (task) => {
    const run = tail.then(task, task)
    tail = run.catch(() => undefined)
    return run
  }
}

/** SQLite's default wait for the file's write lock: better-sqlite3's own busy timeout. */
const SQLITE_DEFAULT_LOCK_WAIT_MS = 5000

// ---------------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------------

function unsupported(message: string): UnsupportedDatabaseError {
  return new UnsupportedDatabaseError(`drizzleAccountStore: ${message}`)
}

/** The driver of `db`, or an UnsupportedDatabaseError saying what to pass instead. */
function driverOf(db: DrizzleDatabaseLike, kinds: readonly string[]): DrizzleDriver {
  if (kinds.some((kind) => kind.endsWith("Transaction"))) {
    throw unsupported("got a Drizzle transaction; pass the database itself (the store opens its own transactions).")
  }
  const driver = kinds.map((kind) => SUPPORTED_DRIVERS[kind]).find((entry) => entry !== undefined)
  if (!driver) {
    throw unsupported(
      `this Drizzle driver (${kinds[0] ?? "unknown"}) is not supported; ` +
        `use ${SUPPORTED_LIST}, or pass an object implementing AccountStore.`,
    )
  }
  const client = db.$client
  if (driver === "node-postgres" && isPgClient(client)) {
    throw unsupported(
      "this Drizzle database runs on a single node-postgres Client, " +
        "so concurrent transactions would share one connection; " +
        "build it on a Pool: drizzle(new Pool({ connectionString })) or drizzle(connectionString).",
    )
  }
  if (driver === "mysql2" && typeof (client as { getConnection?: unknown } | undefined)?.getConnection !== "function") {
    throw unsupported(
      "this Drizzle database runs on a single mysql2 connection, so concurrent transactions would share it; " +
        "build it on a pool: drizzle(mysql.createPool(url)) or drizzle(url).",
    )
  }
  if (driver === "libsql" && !isLibsqlClient(client)) {
    throw unsupported(
      "this drizzle-orm/libsql database has no @libsql/client Client as " +
        "$client; build it with drizzle(createClient({ url: 'file:app.db' })).",
    )
  }
  if (driver === "libsql" && (client as LibsqlClientLike).protocol !== "file") {
    // A remote database (Turso, sqld) runs its transactions over the network with other locking; only the
    // local file mode has been measured.
    throw unsupported(
      `this drizzle-orm/libsql client speaks ${JSON.stringify((client as LibsqlClientLike).protocol)}; ` +
        `only a local file (url "file:...") is supported, ` +
        "or pass an object implementing AccountStore.",
    )
  }
  if (driver === "better-sqlite3" && (client as BetterSqliteLike | undefined)?.memory !== false) {
    throw unsupported(
      "this better-sqlite3 database is in memory, which no second " +
        "connection can open, and the store needs one for its transactions; " +
        "use a database file: drizzle(new Database('app.db')).",
    )
  }
  return driver
}

/**
 * An AccountStore over a Drizzle database and the `@auth/drizzle-adapter` tables (its defaults, or the
 * app's own through `options`), on the database the db speaks:
 * - PostgreSQL: `db.transaction(..., { isolationLevel: "read committed" })` opening with
 *   `pg_advisory_xact_lock` on the key, the lock every PostgreSQL store of this library takes;
 * - MySQL/MariaDB: the same, opening with a locking read of the key's rows; a first insert that loses a
 *   race to the schema's primary key runs once more (databases/mysql.ts);
 * - SQLite: `BEGIN IMMEDIATE` (the file's write lock), asked for again every few milliseconds until
 *   `lockTimeoutMs`, one transaction at a time per process, on a connection of the store's own to the
 *   app's better-sqlite3 file, or on a connection the app's libsql client lends (libsqlTransaction).
 * Commits when `work` resolves; rolls back and rethrows the same error when it throws.
 *
 * Throws `UnsupportedDatabaseError` at construction for a db it cannot serve (another driver, a Drizzle
 * transaction, a single connection where concurrent transactions need a pool, an in-memory better-sqlite3
 * database, a remote libsql database), saying what to pass instead; an in-memory libsql database is
 * refused by the first `withAccountLock` (the client does not say what it opened until asked).
 *
 * @param db The same Drizzle database given to `DrizzleAdapter(db, tables)`.
 * @param options The same tables given to `DrizzleAdapter`, when they are not the adapter's defaults.
 * @returns The store to pass as `withTokenSync(adapter, store)` or `reencryptAccounts(store, ...)`.
 * @throws {@link UnsupportedDatabaseError} for a db it cannot serve (see above).
 * @throws {@link InvalidOptionsError} for a table that is not a Drizzle table, or a lock bound that cannot work.
 */
export function drizzleAccountStore(db: DrizzleDatabaseLike, options: DrizzleAccountStoreOptions = {}): AccountStore {
  const name = "drizzle"
  if (!isDrizzleDatabase(db)) throw unsupported("expected a Drizzle database (the value drizzle(...) returns).")
  const kinds = entityKinds(db)
  const database = databaseOfKinds(kinds)!
  const driver = driverOf(db, kinds)
  const runnable = db as unknown as DrizzleRunnable

  const accountsTable = resolveTable(db, options.accountsTable, "account", "accountsTable", ACCOUNT_KEY_FIELDS)
  const usersTable = resolveTable(db, options.usersTable, "user", "usersTable", ["id"])
  const tables: SqlTables = sqlTables(database, {
    accounts: accountsTable.parts,
    users: usersTable.parts,
    store: name,
    origin: {
      accounts: { name: accountsTable.name, option: "drizzleAccountStore(db, { accountsTable })" },
      users: { name: usersTable.name, option: "drizzleAccountStore(db, { usersTable })" },
    },
    accountColumns: accountsTable.columns ? Object.fromEntries(accountsTable.columns) : undefined,
    userIdColumn: usersTable.columns?.get("id"),
    tableLabels: { accounts: "accountsTable name", users: "usersTable name" },
  })
  const lockTimeoutMs = checkLockTimeout(options.lockTimeoutMs, "drizzleAccountStore")
  // Every Auth.js field is written by name; a $defaultFn column among them is the caller's to fill.
  const written = new Set<string>([...ACCOUNT_KEY_FIELDS, ...STANDARD_TOKEN_FIELDS])
  const insertDefaults = (): Record<string, unknown> => clientDefaultsOf(accountsTable, written)

  const underLock = <T>(
    run: SqlRunner,
    key: AccountKey,
    lock: SqlLockBound,
    work: (account: LockedAccount) => Promise<T>,
  ): Promise<T> => underAccountLock(run, tables, key, lock, { defaults: insertDefaults }, work)

  const oneAtATime = serialQueue()

  // better-sqlite3: the store's own connection to the app's file, opened on first use.
  let ownConnection: BetterSqliteLike | undefined
  function connection(): BetterSqliteLike {
    const appClient = db.$client as BetterSqliteLike
    if (ownConnection?.open) return ownConnection
    const Database = Object.getPrototypeOf(appClient).constructor as new (
      file: string,
      options: { timeout: number },
    ) => BetterSqliteLike
    // timeout 0: a busy file answers at once, and the store asks again from the event loop (untilNotBusy).
    const opened = new Database(appClient.name, { timeout: 0 })
    // Foreign keys are a per-connection setting: the store's connection enforces what the app's does.
    opened.pragma(`foreign_keys = ${appClient.pragma("foreign_keys", { simple: true }) ? "ON" : "OFF"}`)
    ownConnection = opened
    return opened
  }

  function betterSqliteTransaction<T>(
    key: AccountKey,
    lock: SqlLockBound,
    work: (account: LockedAccount) => Promise<T>,
  ): Promise<T> {
    const timeout = lock.timeoutMs
    const deadline = Date.now() + (timeout ?? SQLITE_DEFAULT_LOCK_WAIT_MS)
    return oneAtATime(async () => {
      // The caller gave up while this waited its turn: no BEGIN, no read.
      if (lock.signal?.aborted) throw new AbandonedWait()
      const own = connection()
      const run = betterSqliteRunner(own)
      await untilNotBusy(() => run(SQLITE_BEGIN_LOCKED, []), deadline)
      let result: T
      try {
        result = await underLock(run, key, lock, work)
        // A COMMIT can find readers on the file (rollback journal): it is asked again like the lock.
        await untilNotBusy(() => run("COMMIT", []), Math.max(deadline, Date.now() + SQLITE_DEFAULT_LOCK_WAIT_MS))
      } catch (error) {
        if (own.open) await run("ROLLBACK", []).catch(() => undefined)
        throw error
      }
      return result
    })
  }

  // libsql: refuse an in-memory database (one connection, which a held transaction would take from the
  // app), asked once on first use: the client does not say what it opened.
  let fileChecked: Promise<void> | undefined
  function checkLibsqlFile(client: LibsqlClientLike): Promise<void> {
    fileChecked ??= libsqlRunner(client)("PRAGMA database_list", []).then(
      (rows) => {
        const main = rows.find((row) => row.name === "main")
        if (main !== undefined && (main.file === "" || main.file === null)) {
          throw unsupported(
            "this drizzle-orm/libsql client is on an in-memory database, which has a " +
              "single connection; use a database file: createClient({ url: 'file:app.db' }).",
          )
        }
      },
      (error: unknown) => {
        fileChecked = undefined
        throw error
      },
    )
    return fileChecked
  }

  /**
   * libsql (@libsql/client 0.18, local file). Measured: a `client.transaction("write")` whose BEGIN IMMEDIATE
   * meets another connection's write lock fails with SQLITE_BUSY and leaves that BEGIN statement un-reset
   * (still "in progress") on the connection, which the pool then lends again; SQLite refuses any COMMIT on
   * a connection with a write statement in progress ("cannot commit transaction - SQL statements in
   * progress"), and `commit()` then rolls back. The statement is only finalized when the garbage collector
   * takes it. So the store never lets a statement of its own fail on the lock through a prepared statement:
   * - BEGIN DEFERRED (`transaction("deferred")`), which takes no lock and cannot be busy;
   * - the write lock taken by a no-op write sent through `executeMultiple`, which finalizes its statement
   *   even when it fails, and asked again from the event loop until the bound (busy timeout 0 meanwhile, set
   *   and put back: the app's own timeout would block this process's event loop while it waits);
   * - COMMIT through `executeMultiple` too, asked again on SQLITE_BUSY (a busy COMMIT leaves the
   *   transaction open; `commit()` would roll it back).
   * One transaction at a time per process: each holds a pool connection, and a pool whose connections are
   * all held by transactions refuses the app's next statement.
   */
  function libsqlTransaction<T>(
    key: AccountKey,
    lock: SqlLockBound,
    work: (account: LockedAccount) => Promise<T>,
  ): Promise<T> {
    const client = db.$client as LibsqlClientLike
    const timeout = lock.timeoutMs
    const deadline = Date.now() + (timeout ?? SQLITE_DEFAULT_LOCK_WAIT_MS)
    return oneAtATime(async () => {
      // The caller gave up while this waited its turn: no BEGIN, no read.
      if (lock.signal?.aborted) throw new AbandonedWait()
      await checkLibsqlFile(client)
      const tx = await client.transaction("deferred")
      try {
        const run = libsqlRunner(tx)
        const appTimeout = busyTimeoutOf((await run(SQLITE_READ_BUSY_TIMEOUT, []))[0])
        await tx.executeMultiple(sqliteBusyTimeout(0))
        try {
          const lock = sqliteNoOpWrite(tables.accounts, tables.column("provider"))
          await untilNotBusy(() => tx.executeMultiple(lock), deadline).catch((error: unknown) => {
            throw schemaMismatch(error, tables, "accounts")
          })
        } finally {
          if (appTimeout !== undefined) await tx.executeMultiple(sqliteBusyTimeout(appTimeout))
        }
        const result = await underLock(run, key, lock, work)
        await untilNotBusy(
          () => tx.executeMultiple("COMMIT"),
          Math.max(deadline, Date.now() + SQLITE_DEFAULT_LOCK_WAIT_MS),
        )
        return result
      } finally {
        // Rolls back unless committed, and gives the connection back to the app's pool.
        tx.close()
      }
    })
  }

  // The one-statement sign-in, on a connection held for it so that `begin` comes after the pool's wait:
  // the node-postgres Pool's `connect`, postgres.js's `reserve`, mysql2's `getConnection`.
  // better-sqlite3: on the store's own connection (busy timeout 0: a held write lock fails it at once),
  // never inside one of its transactions (checked in the same synchronous step that runs the statement).
  // libsql: none; a statement that fails on the lock through `execute` stays in progress on its connection
  // (see libsqlTransaction), and `executeMultiple`, which finalizes it, returns no rows or count.
  const hold = heldConnectionOf(driver, db.$client)
  const updateOwnTokens = hold
    ? updateOwnTokensOn(tables, hold)
    : driver === "better-sqlite3"
      ? betterSqliteUpdateOwnTokens()
      : undefined

  function betterSqliteUpdateOwnTokens(): AccountStore["updateOwnTokens"] {
    const update = sqlUpdateOwnTokens(tables)!
    return async (key, userId, tokens, begin) => {
      begin()
      const own = connection()
      const run: SqlRunner = async (text, values) => (own.inTransaction ? [] : betterSqliteRunner(own)(text, values))
      return update({ run }, key, userId, tokens)
    }
  }

  const findRunner = (): SqlRunner =>
    driver === "libsql" ? libsqlRunner(db.$client as LibsqlClientLike) : sessionRunner(driver, runnable)

  const store: AccountStore = {
    name,
    // @auth/drizzle-adapter's linkAccount resolves to nothing, on every dialect.
    linkAccountResult: "nothing",

    // async: a bad option must reject the returned promise, not throw synchronously.
    async withAccountLock<T>(
      key: AccountKey,
      work: (account: LockedAccount) => Promise<T>,
      lockOptions?: AccountLockOptions,
    ): Promise<T> {
      const timeout = lockTimeoutFor(lockOptions, lockTimeoutMs, "drizzleAccountStore")
      const lock: SqlLockBound = { timeoutMs: timeout, signal: lockOptions?.signal }
      if (driver === "better-sqlite3") return betterSqliteTransaction(key, lock, work)
      if (driver === "libsql") return libsqlTransaction(key, lock, work)
      return retryFirstInsertRace(database, () =>
        runnable.transaction((tx) => underLock(sessionRunner(driver, tx), key, lock, work), {
          isolationLevel: "read committed",
        }),
      )
    },

    async findAccounts(
      userId: string,
      provider: string,
      readOptions?: AccountReadOptions,
    ): Promise<StoredAccountRow[]> {
      const signal = readOptions?.signal
      if (signal && hold) return sqlFindAccountsHeld(hold, signal, tables, userId, provider)
      if (signal?.aborted) throw new AbandonedWait()
      return sqlFindAccounts(findRunner(), tables, userId, provider)
    },

    async scanAccounts(page: AccountScanPage): Promise<StoredAccountRow[]> {
      return sqlScanAccounts(findRunner(), tables, page)
    },

    ...(updateOwnTokens && { updateOwnTokens }),

    ...(driver !== "libsql" && {
      leases: sqlLeases({
        database,
        table: options.leaseTable ?? DEFAULT_LEASE_TABLE,
        store: name,
        option: "drizzleAccountStore(db, { leaseTable })",
        accounts: tables,
        // better-sqlite3: the store's own connection between its transactions, asked again while the file is busy.
        hold:
          hold ??
          (driver === "better-sqlite3"
            ? () =>
                new Promise<HeldConnection>((resolve) => {
                  void oneAtATime(
                    () =>
                      new Promise<void>((release) => {
                        const deadline = Date.now() + (lockTimeoutMs ?? SQLITE_DEFAULT_LOCK_WAIT_MS)
                        const run: SqlRunner = (text, values) =>
                          untilNotBusy(() => betterSqliteRunner(connection())(text, values), deadline)
                        resolve({ run, release })
                      }),
                  )
                })
            : unheld(findRunner())),
      }),
    }),
  }
  return typedLockTimeouts(store, database)
}
