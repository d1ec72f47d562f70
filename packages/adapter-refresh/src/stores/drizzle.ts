/**
 * AccountStore for a Drizzle database (`drizzle(...)` from drizzle-orm) on PostgreSQL, MySQL/MariaDB or
 * SQLite, matching the tables of `@auth/drizzle-adapter`: by default `user` and `account` with camelCase
 * key columns (`userId`, `providerAccountId`) and snake_case token columns; or the app's own tables,
 * passed here exactly as they are passed to `DrizzleAdapter(db, { usersTable, accountsTable })`. Table
 * and column names are read from the table objects (the names the database has, after `pgTableCreator`
 * prefixes, `pgSchema`s and the db's `casing` option), so the statements use the app's names while the
 * core speaks Auth.js's field names (`userId`, `providerAccountId`, `access_token`, ...).
 *
 * What differs by database (SQL, the account lock, error meanings) comes from databases/*; how each
 * Drizzle driver lends connections and runs statements is one small driver under drivers/ (drizzle-*.ts),
 * and the store itself is the shared SQL one (sql-store.ts). This module recognises the db and its driver,
 * refuses what no driver can serve, and reads the tables (drivers/drizzle-tables.ts).
 *
 * This module does not import drizzle-orm: the db and the tables are recognised by the
 * `Symbol.for("drizzle:...")` keys Drizzle puts on them.
 */
import { drizzleBetterSqliteDriver } from "../drivers/drizzle-better-sqlite3.js"
import { databaseOfKinds, driverOf, entityKinds, unsupported, type DrizzleDriver } from "../drivers/drizzle-detect.js"
import { drizzleLibsqlDriver } from "../drivers/drizzle-libsql.js"
import type { LibsqlClientLike } from "../drivers/libsql-client.js"
import { drizzleMysql2Driver } from "../drivers/drizzle-mysql2.js"
import { drizzleNodePostgresDriver } from "../drivers/drizzle-node-postgres.js"
import { drizzlePostgresJsDriver } from "../drivers/drizzle-postgres-js.js"
import type { DrizzleRunnable } from "../drivers/drizzle-session.js"
import { ACCOUNT_KEY_FIELDS, clientDefaultsOf, resolveTable } from "../drivers/drizzle-tables.js"
import { sqlAccountStore, type SqlDriver } from "../sql-store.js"
import { sqlTables, type SqlTables } from "../statements.js"
import { STANDARD_TOKEN_FIELDS, type AccountStore } from "../store.js"
import { checkLockTimeout } from "../store-support.js"

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
   * `"authjs_refresh_lease"`; the README's "Lease mode: the migration" creates it. Unused in lock mode. On
   * libsql each lease write runs in a short write transaction of its own (see the README's "Drizzle").
   */
  leaseTable?: string
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
// The store
// ---------------------------------------------------------------------------------------------------

/**
 * An AccountStore over a Drizzle database and the `@auth/drizzle-adapter` tables (its defaults, or the
 * app's own through `options`), on the database the db speaks:
 * - PostgreSQL: a READ COMMITTED transaction on a connection of the app's pool (node-postgres `connect`,
 *   postgres.js `reserve`), opening with `pg_advisory_xact_lock` on the key, the lock every PostgreSQL
 *   store of this library takes;
 * - MySQL/MariaDB: the same on a connection of the mysql2 pool, opening with a locking read of the key's
 *   rows; a first insert that loses a race to the schema's primary key runs once more (databases/mysql.ts);
 * - SQLite: `BEGIN IMMEDIATE` (the file's write lock), asked for again every few milliseconds until
 *   `lockTimeoutMs`, one transaction at a time per process, on a connection of the store's own to the
 *   app's better-sqlite3 file, or on a connection the app's libsql client lends (drivers/drizzle-libsql.ts).
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
  const accountsTable = resolveTable(db, options.accountsTable, "account", "accountsTable", ACCOUNT_KEY_FIELDS)
  const usersTable = resolveTable(db, options.usersTable, "user", "usersTable", ["id"])
  const tables = sqlTables(database, {
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
  return sqlAccountStore(drizzleDriverFor(driver, db, tables, lockTimeoutMs), {
    name,
    factory: "drizzleAccountStore",
    tables,
    insert: { defaults: () => clientDefaultsOf(accountsTable, written) },
    lockTimeoutMs,
    // @auth/drizzle-adapter's linkAccount resolves to nothing, on every dialect.
    linkAccountResult: "nothing",
    leaseTable: options.leaseTable,
    leaseOption: "drizzleAccountStore(db, { leaseTable })",
  })
}

/**
 * The driver (drivers/drizzle-*.ts) of a db whose driver `driverOf` accepted (also Better Auth's store's).
 * @internal
 */
export function drizzleDriverFor(
  driver: DrizzleDriver,
  db: DrizzleDatabaseLike,
  tables: SqlTables,
  lockTimeoutMs?: number,
): SqlDriver {
  const runnable = db as unknown as DrizzleRunnable
  switch (driver) {
    case "node-postgres":
      return drizzleNodePostgresDriver(runnable, db.$client)
    case "postgres.js":
      return drizzlePostgresJsDriver(runnable, db.$client)
    case "mysql2":
      return drizzleMysql2Driver(runnable, db.$client)
    case "better-sqlite3":
      return drizzleBetterSqliteDriver(runnable, lockTimeoutMs)
    case "libsql":
      return drizzleLibsqlDriver(db.$client as LibsqlClientLike, tables, unsupported, lockTimeoutMs)
  }
}
