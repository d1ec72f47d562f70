/**
 * AccountStore for a Drizzle database (`drizzle(...)` from drizzle-orm), matching the tables of
 * `@auth/drizzle-adapter`: by default `"user"` and `"account"` with camelCase key columns (`"userId"`,
 * `"providerAccountId"`) and snake_case token columns; or the app's own tables, passed here exactly as
 * they are passed to `DrizzleAdapter(db, { usersTable, accountsTable })`. Table and column names are
 * read from the table objects (the names the database has, after `pgTableCreator` prefixes and the
 * db's `casing` option), so the statements use the app's names while the core speaks Auth.js's
 * property names (`userId`, `providerAccountId`, `access_token`, ...).
 *
 * Statements run through the db's own Drizzle session, inside `db.transaction(...)`, so they use the
 * connection pool the app configured. This module does not import drizzle-orm: the db and the tables are
 * recognised by the `Symbol.for("drizzle:...")` keys Drizzle puts on them.
 */
import { UnsupportedDatabaseError, InvalidOptionsError } from "../errors.js"
import {
  STANDARD_TOKEN_FIELDS,
  type AccountKey,
  type AccountLockOptions,
  type AccountScanPage,
  type AccountStore,
  type LockedAccount,
  type StoredAccountRow,
} from "../store.js"
import { isPgClient } from "./pg.js"
import {
  checkIdentifier,
  checkLockTimeout,
  lockTimeoutFor,
  quoteTableName,
  scopedLockedAccount,
  sqlFindAccounts,
  sqlLockedAccount,
  sqlScanAccounts,
  takeAccountLock,
  type SqlRunner,
  type SqlTables,
} from "./sql.js"

// ---------------------------------------------------------------------------------------------------
// Structural types of the Drizzle objects this store uses
// ---------------------------------------------------------------------------------------------------

/**
 * A Drizzle database as `drizzle(...)` returns it, for any dialect and driver. Only its shape is named
 * here; which database and driver it is comes from the entity kinds Drizzle stamps on its classes.
 */
export interface DrizzleDatabaseLike {
  /** The driver's client (a pg Pool, a postgres.js `sql`, a mysql2 Pool, a better-sqlite3 Database, a libsql Client). */
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

export interface DrizzleAccountStoreOptions {
  /** The users table given to `DrizzleAdapter(db, { usersTable })`. Default: the adapter's own `"user"` table. */
  usersTable?: DrizzleTableLike
  /** The accounts table given to `DrizzleAdapter(db, { accountsTable })`. Default: the adapter's own `"account"` table. */
  accountsTable?: DrizzleTableLike
  /**
   * Upper bound, in milliseconds, on how long `withAccountLock` waits for the account's lock (PostgreSQL:
   * `SET LOCAL lock_timeout`, SQLSTATE 55P03 when exceeded, nothing written). Default: the server's own.
   */
  lockTimeoutMs?: number
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
    const kind = Object.prototype.hasOwnProperty.call(cls, ENTITY_KIND) ? (cls as unknown as Record<symbol, unknown>)[ENTITY_KIND] : undefined
    if (typeof kind === "string") kinds.push(kind)
    cls = Object.getPrototypeOf(cls)
  }
  return kinds
}

type DrizzleDialect = "postgres" | "mysql" | "sqlite"

const DIALECT_BASES: Record<string, DrizzleDialect> = {
  PgDatabase: "postgres",
  MySqlDatabase: "mysql",
  BaseSQLiteDatabase: "sqlite",
}

/** The drivers this store runs on, by the entity kind of their database class. */
const SUPPORTED_DRIVERS: Record<string, { dialect: DrizzleDialect; driver: string }> = {
  NodePgDatabase: { dialect: "postgres", driver: "node-postgres" },
  PostgresJsDatabase: { dialect: "postgres", driver: "postgres.js" },
}

const SUPPORTED_LIST = "drizzle-orm/node-postgres (with a pg Pool), drizzle-orm/postgres-js"

function dialectOf(kinds: readonly string[]): DrizzleDialect | undefined {
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
  return dialectOf(entityKinds(value)) !== undefined && typeof (value as { transaction?: unknown }).transaction === "function"
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

/** How a table's property names become the database's column names. */
interface ResolvedTable {
  /** "table" or "schema.table", as configured. */
  name: string
  /** Property name -> column name, for the columns the table declares (absent: a default table). */
  columns: Map<string, string> | undefined
  /** Columns whose value Drizzle computes in the client on insert (`$defaultFn`), by column name. */
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

function resolveTable(db: object, table: DrizzleTableLike | undefined, fallback: string, option: string): ResolvedTable {
  if (table === undefined) return { name: fallback, columns: undefined, clientDefaults: new Map() }
  if (!isDrizzleTable(table)) {
    throw new InvalidOptionsError(option, `drizzleAccountStore: ${option} must be a Drizzle table (the one given to DrizzleAdapter).`)
  }
  const name = table[TABLE_NAME]
  const schema = table[TABLE_SCHEMA]
  if (typeof name !== "string") throw new InvalidOptionsError(option, `drizzleAccountStore: ${option} has no table name.`)
  const columns = new Map<string, string>()
  const clientDefaults = new Map<string, ColumnLike>()
  for (const [property, column] of Object.entries((table[TABLE_COLUMNS] ?? {}) as Record<string, ColumnLike>)) {
    columns.set(property, columnName(db, column))
    if (typeof column.defaultFn === "function") clientDefaults.set(columnName(db, column), column)
  }
  return { name: typeof schema === "string" && schema !== "" ? `${schema}.${name}` : name, columns, clientDefaults }
}

/**
 * Until the statements take a column map, a custom table must name its Auth.js columns as Auth.js does
 * (its table name and every other column are free). Refused at construction, naming the column.
 */
function checkAuthjsColumnNames(table: ResolvedTable, fields: readonly string[], option: string, required: readonly string[]): void {
  if (!table.columns) return
  for (const field of required) {
    if (!table.columns.has(field)) {
      throw new InvalidOptionsError(option, `drizzleAccountStore: ${option} ${JSON.stringify(table.name)} has no "${field}" column, which Auth.js accounts need.`)
    }
  }
  for (const field of fields) {
    const column = table.columns.get(field)
    if (column !== undefined && column !== field) {
      throw new InvalidOptionsError(
        option,
        `drizzleAccountStore: ${option} ${JSON.stringify(table.name)} stores "${field}" in a column named ${JSON.stringify(column)}; ` +
          `this store needs the column named "${field}".`,
      )
    }
  }
}

/**
 * The values Drizzle itself would put into the columns an insert leaves out and that have a client-side
 * default (`$defaultFn`, e.g. a custom table's `id` from `crypto.randomUUID()`): the database has no
 * default for them, so without these the insert fails where the bare adapter's succeeds.
 */
function clientDefaultsOf(table: ResolvedTable, written: ReadonlySet<string>): Record<string, unknown> {
  const values: Record<string, unknown> = {}
  for (const [column, definition] of table.clientDefaults) {
    if (written.has(column)) continue
    const value = definition.defaultFn!()
    // An SQL expression (sql`...`) is Drizzle's to render; plain values are all this store can send.
    if (typeof value === "object" && value !== null && typeof (value as { getSQL?: unknown }).getSQL === "function") {
      throw new InvalidOptionsError(
        "accountsTable",
        `drizzleAccountStore: the $defaultFn of column ${JSON.stringify(column)} returns an SQL expression; give the column a database default instead.`,
      )
    }
    values[column] = typeof definition.mapToDriverValue === "function" ? definition.mapToDriverValue(value) : value
  }
  return values
}

// ---------------------------------------------------------------------------------------------------
// Running statements through Drizzle's session
// ---------------------------------------------------------------------------------------------------

interface DrizzlePreparedQueryLike {
  execute(): Promise<unknown>
}

interface DrizzleSessionLike {
  prepareQuery(query: { sql: string; params: unknown[] }, fields: undefined, name: undefined, isResponseInArrayMode: boolean): DrizzlePreparedQueryLike
}

interface DrizzleRunnable {
  readonly session: DrizzleSessionLike
  transaction<T>(work: (tx: DrizzleRunnable) => Promise<T>, config?: { isolationLevel?: "read committed" }): Promise<T>
}

/**
 * Drizzle wraps a driver's error in a DrizzleQueryError whose message carries the statement's
 * parameters (tokens among them) and whose `code` is gone. The store passes the driver's own error on,
 * which is what the core classifies (SQLSTATE) and reduces to its class name and code.
 */
function driverError(error: unknown): unknown {
  if (error instanceof Error && error.constructor.name === "DrizzleQueryError" && "params" in error && error.cause !== undefined) {
    return error.cause
  }
  return error
}

/** Rows of a pg-dialect result: node-postgres gives a QueryResult, postgres.js an array of rows. */
function pgRows(result: unknown): Record<string, unknown>[] {
  if (Array.isArray(result)) return result as Record<string, unknown>[]
  const rows = (result as { rows?: unknown } | null)?.rows
  return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : []
}

function runnerOf(target: DrizzleRunnable): SqlRunner {
  return async (text, values) => {
    try {
      return pgRows(await target.session.prepareQuery({ sql: text, params: [...values] }, undefined, undefined, false).execute())
    } catch (error) {
      throw driverError(error)
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------------

function unsupported(message: string): UnsupportedDatabaseError {
  return new UnsupportedDatabaseError(`drizzleAccountStore: ${message}`)
}

/**
 * An AccountStore over a Drizzle database and the `@auth/drizzle-adapter` tables (its defaults, or the
 * app's own through `options`).
 *
 * `withAccountLock` runs `work` in `db.transaction(..., { isolationLevel: "read committed" })` (each
 * statement after the lock sees what the previous holder committed), after `pg_advisory_xact_lock` on
 * the key: the same lock as every other PostgreSQL store of this library, so they exclude each other.
 * Drizzle commits when `work` resolves and rolls back and rethrows the same error when it throws.
 *
 * Throws `UnsupportedDatabaseError` at construction for a db it cannot serve (another driver, a Drizzle
 * transaction, node-postgres on a single Client), saying what to pass instead.
 */
export function drizzleAccountStore(db: DrizzleDatabaseLike, options: DrizzleAccountStoreOptions = {}): AccountStore {
  const name = "drizzle"
  if (!isDrizzleDatabase(db)) throw unsupported("expected a Drizzle database (the value drizzle(...) returns).")
  const kinds = entityKinds(db)
  if (kinds.some((kind) => kind.endsWith("Transaction"))) {
    throw unsupported("got a Drizzle transaction; pass the database itself (the store opens its own transactions).")
  }
  const driver = kinds.map((kind) => SUPPORTED_DRIVERS[kind]).find((entry) => entry !== undefined)
  if (!driver) {
    throw unsupported(
      `this Drizzle driver (${kinds[0] ?? "unknown"}) is not supported; use ${SUPPORTED_LIST}, ` +
        "or pass an object implementing AccountStore.",
    )
  }
  if (driver.driver === "node-postgres" && isPgClient(db.$client)) {
    throw unsupported(
      "this Drizzle database runs on a single node-postgres Client, so concurrent transactions would share one connection; " +
        "build it on a Pool instead: drizzle(new Pool({ connectionString })) or drizzle(connectionString).",
    )
  }
  const runnable = db as unknown as DrizzleRunnable

  const accountsTable = resolveTable(db, options.accountsTable, "account", "accountsTable")
  const usersTable = resolveTable(db, options.usersTable, "user", "usersTable")
  checkAuthjsColumnNames(accountsTable, [...ACCOUNT_KEY_FIELDS, ...STANDARD_TOKEN_FIELDS], "accountsTable", ACCOUNT_KEY_FIELDS)
  checkAuthjsColumnNames(usersTable, ["id"], "usersTable", ["id"])
  for (const table of [accountsTable, usersTable]) {
    for (const part of table.name.split(".")) checkIdentifier(part, "table name")
  }

  const tables: SqlTables = {
    accounts: quoteTableName(accountsTable.name, "accounts table name"),
    users: quoteTableName(usersTable.name, "users table name"),
    store: name,
    origin: {
      accounts: { name: accountsTable.name, option: "drizzleAccountStore(db, { accountsTable })" },
      users: { name: usersTable.name, option: "drizzleAccountStore(db, { usersTable })" },
    },
  }
  const lockTimeoutMs = checkLockTimeout(options.lockTimeoutMs, "drizzleAccountStore")
  // Every Auth.js field is written by name; a $defaultFn column among them is the caller's to fill.
  const written = new Set<string>([...ACCOUNT_KEY_FIELDS, ...STANDARD_TOKEN_FIELDS])
  const insertDefaults = (): Record<string, unknown> => clientDefaultsOf(accountsTable, written)

  return {
    name,
    // @auth/drizzle-adapter's linkAccount resolves to nothing, on every dialect.
    linkAccountResult: "nothing",

    async withAccountLock<T>(key: AccountKey, work: (account: LockedAccount) => Promise<T>, lockOptions?: AccountLockOptions): Promise<T> {
      const timeout = lockTimeoutFor(lockOptions, lockTimeoutMs, "drizzleAccountStore")
      return runnable.transaction(
        async (tx) => {
          const run = runnerOf(tx)
          await takeAccountLock(run, key, timeout)
          const scoped = scopedLockedAccount(sqlLockedAccount(run, tables, key, { defaults: insertDefaults }), "drizzleAccountStore")
          try {
            return await work(scoped.account)
          } finally {
            scoped.close()
          }
        },
        { isolationLevel: "read committed" },
      )
    },

    async findAccounts(userId: string, provider: string): Promise<StoredAccountRow[]> {
      return sqlFindAccounts(runnerOf(runnable), tables, userId, provider)
    },

    async scanAccounts(page: AccountScanPage): Promise<StoredAccountRow[]> {
      return sqlScanAccounts(runnerOf(runnable), tables, page)
    },
  }
}
