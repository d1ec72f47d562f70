/**
 * The AccountStore over Better Auth's own `account` table, through the database Better Auth is given: a
 * node-postgres Pool (what its built-in Kysely adapter wraps) or a Kysely instance. The shared SQL store
 * (../sql-store.ts) with Better Auth's names mapped onto Auth.js's fields, not copied:
 *
 *   providerId -> provider, accountId -> providerAccountId, accessToken -> access_token,
 *   refreshToken -> refresh_token, idToken -> id_token, accessTokenExpiresAt (a timestamp) -> expires_at
 *   (epoch seconds), refreshTokenExpiresAt (a timestamp) -> the engine's refresh-token expiry (epoch seconds),
 *   scope -> scope. Better Auth keeps no `type`, `token_type` or `session_state`: never written.
 *
 * Through Better Auth's Prisma adapter (PostgreSQL, MariaDB) and Drizzle adapter (PostgreSQL, MariaDB, SQLite) the
 * client they were built from is given instead, and the table's names come from that client's schema: the
 * Prisma model's `@@map` and `@map`s (read as the Auth.js Prisma store reads them,
 * ../stores/prisma-account-table.ts), the Drizzle table's column names (Better Auth's generated Drizzle schema
 * names them in snake_case) and how each binds a date (epoch milliseconds on SQLite). Statements run on the
 * shared SQL store all the same: through `$queryRawUnsafe` and interactive transactions (../drivers/prisma.ts),
 * or on Drizzle's own drivers (../drivers/drizzle-*.ts).
 *
 * Better Auth writes the row on every sign-in without the library's lock, so the store's locked reads also
 * lock the key's rows (`lockRowsOnRead`): a sign-in that lands while a refresh result is being compared and
 * written waits for that short transaction, then writes over it; one that committed first is seen by the
 * comparison, which then leaves the row alone.
 */
import { ownConnectionSqliteDriver, type BetterSqliteLike } from "../drivers/drizzle-better-sqlite3.js"
import { databaseOfKinds, driverOf as drizzleDriverOf, entityKinds } from "../drivers/drizzle-detect.js"
import { resolveTable } from "../drivers/drizzle-tables.js"
import { kyselyDriver } from "../drivers/kysely.js"
import { isMysql2Pool, mysql2PoolDriver } from "../drivers/mysql2.js"
import { nodePostgresDriver } from "../drivers/node-postgres.js"
import { prismaDriver } from "../drivers/prisma.js"
import { mysql } from "../databases/mysql.js"
import { postgres } from "../databases/postgres.js"
import type { SqlDatabase } from "../databases/sql-database.js"
import { sqlite } from "../databases/sqlite.js"
import { InvalidOptionsError, UnsupportedDatabaseError } from "../errors.js"
import { sqlAccountStore, type SqlDriver } from "../sql-store.js"
import { sqlTables, type SqlTables, type TableName } from "../statements.js"
import type { AccountStore } from "../store.js"
import { checkLockTimeout } from "../store-support.js"
import {
  drizzleDriverFor,
  isDrizzleDatabase,
  type DrizzleDatabaseLike,
  type DrizzleTableLike,
} from "../stores/drizzle.js"
import { isKysely, type KyselyLike } from "../stores/kysely.js"
import { isPgPool, type PgPoolLike } from "../stores/pg.js"
import { prismaAccountTable } from "../stores/prisma-account-table.js"
import { isPrismaClient, type PrismaClientLike } from "../stores/prisma.js"
import { registerOwnAccountRead } from "./account-read.js"

/**
 * The field name the refresh engine knows the refresh token's expiry by (`refresh.refreshTokenExpiryColumn`),
 * mapped onto Better Auth's `refreshTokenExpiresAt` timestamp.
 */
export const BETTER_AUTH_REFRESH_TOKEN_EXPIRY = "refresh_token_expires_at"

/**
 * The field name the refresh engine knows the re-authentication mark by (`refresh.reauthColumn`), mapped onto
 * the `refreshError` column the plugin adds to Better Auth's account table with `reauthMark: true`.
 */
export const BETTER_AUTH_REAUTH_MARK = "refresh_error"

/** Better Auth's column for each Auth.js field the library reads or writes. */
export const BETTER_AUTH_ACCOUNT_COLUMNS: Readonly<Record<string, string>> = {
  provider: "providerId",
  providerAccountId: "accountId",
  access_token: "accessToken",
  refresh_token: "refreshToken",
  id_token: "idToken",
  expires_at: "accessTokenExpiresAt",
  [BETTER_AUTH_REFRESH_TOKEN_EXPIRY]: "refreshTokenExpiresAt",
  [BETTER_AUTH_REAUTH_MARK]: "refreshError",
}

/**
 * What Better Auth is given as `database` and this store can speak: a node-postgres Pool, a mysql2 pool
 * (`createPool` of `mysql2/promise`), a better-sqlite3 Database on a file, a Kysely instance, or Better
 * Auth's `{ db: Kysely, type }` form; or, with Better Auth's `prismaAdapter` / `drizzleAdapter`, the client
 * the adapter was built from: a Prisma Client on `@prisma/adapter-pg`, a Drizzle database on PostgreSQL.
 */
export type BetterAuthDatabase =
  | PgPoolLike
  | BetterAuthMysqlPool
  | BetterAuthSqliteDatabase
  | KyselyLike
  | { db: KyselyLike; type?: string }
  | PrismaClientLike
  | DrizzleDatabaseLike

/** A mysql2 pool (`createPool` of `mysql2/promise`), as far as the store recognises one. */
export interface BetterAuthMysqlPool {
  getConnection(...args: never[]): unknown
  query(...args: never[]): unknown
}

/** A better-sqlite3 Database, as far as the store recognises one. */
export interface BetterAuthSqliteDatabase {
  readonly name: string
  aggregate(...args: never[]): unknown
  prepare(...args: never[]): unknown
  pragma(...args: never[]): unknown
}

/** Options of {@link betterAuthAccountStore}. */
export interface BetterAuthAccountStoreOptions {
  /**
   * Better Auth's account table (`account.modelName`): the table; with Prisma, the model's client property;
   * with Drizzle, the schema's key. Default `"account"`.
   */
  accountTable?: string
  /** Better Auth's user table (`user.modelName`), read as `accountTable` is. Default `"user"`. */
  userTable?: string
  /**
   * With a Drizzle database: the `schema` given to `drizzleAdapter(db, { schema })`. Default: the db's own
   * (`drizzle(client, { schema })`), as the adapter's.
   */
  schema?: Readonly<Record<string, unknown>>
  /** The lease table of lease mode. Default `"authjs_refresh_lease"` (README, "Lease mode: the migration"). */
  leaseTable?: string
  /** Longest wait for the account's lock, in ms (as `pgAccountStore`'s). Default: the server's own bound. */
  lockTimeoutMs?: number
}

const KYSELY_DATABASE_BY_TYPE: Readonly<Record<string, SqlDatabase>> = {
  postgres,
  mysql,
  sqlite,
}

/** A better-sqlite3 Database (what Better Auth wraps in Kysely's SqliteDialect: it has `aggregate`). */
function isBetterSqlite(db: unknown): db is BetterSqliteLike {
  if (typeof db !== "object" || db === null) return false
  const candidate = db as { aggregate?: unknown; prepare?: unknown; pragma?: unknown; name?: unknown }
  return (
    typeof candidate.aggregate === "function" &&
    typeof candidate.prepare === "function" &&
    typeof candidate.pragma === "function" &&
    typeof candidate.name === "string"
  )
}

/** Statements on the app's own better-sqlite3 connection (reads: one synchronous statement each). */
function betterSqliteRunner(db: BetterSqliteLike) {
  return async (text: string, values: readonly unknown[]) => {
    const statement = db.prepare(text)
    if (statement.reader) return statement.all(...values) as Record<string, unknown>[]
    statement.run(...values)
    return []
  }
}

function driverOf(db: unknown, lockTimeoutMs: number | undefined): SqlDriver {
  if (isPgPool(db)) return nodePostgresDriver(db, postgres)
  // better-sqlite3: transactions, sign-in and leases on a connection of the store's own to the same file
  // (as Drizzle's and TypeORM's), never on the app's one connection, which Better Auth's Kysely shares.
  if (isBetterSqlite(db)) {
    if (db.memory)
      throw new UnsupportedDatabaseError(
        "betterAuthAccountStore: a better-sqlite3 Database in memory cannot be shared with a second connection; " +
          "open it on a file.",
      )
    return ownConnectionSqliteDriver(db, betterSqliteRunner(db), lockTimeoutMs)
  }
  const wrapped = typeof db === "object" && db !== null && "db" in db ? (db as { db: unknown; type?: unknown }) : null
  const kysely = wrapped ? wrapped.db : db
  if (isKysely(kysely)) {
    const type = wrapped && typeof wrapped.type === "string" ? wrapped.type : adapterName(kysely)
    const database = KYSELY_DATABASE_BY_TYPE[type]
    if (database) return kyselyDriver(kysely, database)
  }
  if (isMysql2Pool(db)) return mysql2PoolDriver(db)
  // Better Auth's prismaAdapter(...) and drizzleAdapter(...) are functions that keep their client to themselves.
  if (typeof db === "function")
    throw new UnsupportedDatabaseError(
      "betterAuthAccountStore: Better Auth's database is an adapter (prismaAdapter or drizzleAdapter), " +
        "which does not show its client; pass the client the adapter was built from as the plugin's " +
        "database: tokenSync({ database: prisma, refresh }) or tokenSync({ database: db, refresh }).",
    )
  throw new UnsupportedDatabaseError(
    "betterAuthAccountStore: expected the database Better Auth is given: a node-postgres Pool, " +
      "a mysql2 pool, a better-sqlite3 Database on a file, " +
      'a Kysely instance, or { db: Kysely, type: "postgres" | "mysql" | "sqlite" }; ' +
      "with prismaAdapter or drizzleAdapter, the Prisma Client or Drizzle database it was built from.",
  )
}

/** Where a store's statements go: its driver, and the tables as the database names them. */
interface Target {
  database: SqlDatabase
  /** The driver, once the tables are known (Drizzle's libsql driver needs them). */
  driver(tables: SqlTables): SqlDriver
  accounts: string | TableName
  users: string | TableName
  /** Auth.js field -> column, for every column named otherwise than Better Auth's field. */
  accountColumns: Readonly<Record<string, string>>
  userIdColumn?: string
  /** See `SqlTableNames.timestampValue`. */
  timestampValue?: (field: string, date: Date) => unknown
  /** See `SqlTableNames.timestampRead`. */
  timestampRead?: (field: string, value: unknown) => unknown
  /** What errors name the table options by. */
  origin: { accounts: string; users: string }
}

/** Better Auth's field of each Auth.js field the store names (the inverse is read from the ORM's schema). */
const AUTHJS_FIELD_OF = new Map(Object.entries(BETTER_AUTH_ACCOUNT_COLUMNS).map(([field, baField]) => [baField, field]))

const DRIZZLE_COLUMNS = Symbol.for("drizzle:Columns")

/** A Drizzle column, as far as the store reads how it binds and keeps a date. */
interface DrizzleColumnLike {
  mapToDriverValue?: (value: unknown) => unknown
  columnType?: unknown
  withTimezone?: unknown
}

/**
 * A date column without a zone (Better Auth's Drizzle schema's on PostgreSQL and MySQL): Drizzle writes and
 * reads it as UTC.
 */
const zoneless = (column: DrizzleColumnLike | undefined): boolean =>
  (column?.columnType === "PgTimestamp" && column.withTimezone !== true) ||
  column?.columnType === "MySqlTimestamp" ||
  column?.columnType === "MySqlDateTime"

/**
 * A zone-less date as UTC, as Drizzle means it: Drizzle's own session hands over the text
 * ("2026-12-07 18:30:00.123"); node-postgres, and mysql2 with its default `timezone: "local"`, parse it as a
 * local time (`localDates`).
 */
function asUtc(value: unknown, localDates: boolean): unknown {
  if (value instanceof Date) return localDates ? new Date(value.getTime() - value.getTimezoneOffset() * 60_000) : value
  if (typeof value === "string" && !/[zZ]|[+-]\d\d(:?\d\d)?$/.test(value))
    return new Date(`${value.replace(" ", "T")}Z`)
  return value
}

/** Whether the Drizzle db's client makes local-time Dates of zone-less dates (mysql2: unless its `timezone` says). */
function parsesLocalDates(client: unknown): boolean {
  type Config = { config?: { connectionConfig?: { timezone?: unknown } } }
  const pool = client as (Config & { pool?: Config }) | undefined
  const timezone = (pool?.pool ?? pool)?.config?.connectionConfig?.timezone
  return timezone === undefined || timezone === "local"
}

/** Better Auth's fields the store needs in the account table of an ORM's schema. */
const REQUIRED_FIELDS = ["userId", "providerId", "accountId"] as const

/** Auth.js field -> column, from Better Auth's field -> column as the ORM's schema has it. */
function mappedColumns(columns: ReadonlyMap<string, string>): Record<string, string> {
  return Object.fromEntries([...columns].map(([baField, column]) => [AUTHJS_FIELD_OF.get(baField) ?? baField, column]))
}

/** The database Better Auth's built-in Kysely adapter is given: Better Auth's own names. */
function kyselyTarget(driver: SqlDriver, accountTable: string, userTable: string): Target {
  return {
    database: driver.database,
    driver: () => driver,
    accounts: accountTable,
    users: userTable,
    accountColumns: BETTER_AUTH_ACCOUNT_COLUMNS,
    origin: { accounts: accountTable, users: userTable },
  }
}

/** The databases a Prisma Client runs Better Auth's store on. */
const PRISMA_DATABASES: Readonly<Record<string, SqlDatabase>> = { postgres, mysql }

/**
 * A Prisma Client on `@prisma/adapter-pg` or `@prisma/adapter-mariadb` with Better Auth's schema (`npx
 * @better-auth/cli generate`): the account and user models' tables and columns from the client's own schema.
 */
function prismaTarget(prisma: PrismaClientLike, accountModel: string, userModel: string): Target {
  const accounts = prismaAccountTable(prisma, accountModel, REQUIRED_FIELDS)
  const users = prismaAccountTable(prisma, userModel, ["id"])
  const problem = !accounts.ok ? accounts.reason : !users.ok ? users.reason : undefined
  if (!accounts.ok || !users.ok)
    throw new UnsupportedDatabaseError(
      `betterAuthAccountStore: cannot read Better Auth's "${accountModel}" and "${userModel}" models ` +
        `from this Prisma Client (${problem}).`,
    )
  // SQLite through Prisma is one connection that every statement shares: not here (see the Auth.js store's gate).
  const database = PRISMA_DATABASES[accounts.table.database]
  if (!database)
    throw new UnsupportedDatabaseError(
      "betterAuthAccountStore: through a Prisma Client, Better Auth's tables are supported on PostgreSQL " +
        "(@prisma/adapter-pg) and MySQL/MariaDB (@prisma/adapter-mariadb); pass an AccountStore of your own " +
        "as the plugin's store for other databases.",
    )
  const table = (name: { schema: string | undefined; table: string }): TableName => ({
    schema: name.schema,
    name: name.table,
  })
  return {
    database,
    driver: () => prismaDriver(prisma, database),
    accounts: table(accounts.table),
    users: table(users.table),
    accountColumns: mappedColumns(accounts.table.columns),
    userIdColumn: users.table.columns.get("id"),
    origin: { accounts: accounts.table.table, users: users.table.table },
  }
}

/**
 * A Drizzle database on PostgreSQL, MySQL/MariaDB or SQLite (better-sqlite3) with Better Auth's schema
 * (`npx @better-auth/cli generate`): the tables from the schema given to `drizzleAdapter` (or the db's own),
 * read as `drizzleAccountStore` reads them.
 */
function drizzleTarget(
  db: DrizzleDatabaseLike,
  options: BetterAuthAccountStoreOptions,
  lockTimeoutMs: number | undefined,
): Target {
  const kinds = entityKinds(db)
  const driver = drizzleDriverOf(db, kinds)
  const database = databaseOfKinds(kinds)!
  // Tested end to end: PostgreSQL, MariaDB (mysql2 pool) and SQLite on a better-sqlite3 file; not libsql (its
  // store has leases, but the plugin has not been run on it).
  if (driver === "libsql")
    throw new UnsupportedDatabaseError(
      "betterAuthAccountStore: the plugin is not tested on a drizzle-orm/libsql database yet; " +
        "on SQLite, build Drizzle on better-sqlite3 (drizzle(new Database('app.db'))).",
    )
  const schema = options.schema ?? (db as { _?: { fullSchema?: Record<string, unknown> } })._?.fullSchema
  const tableOf = (key: string, required: readonly string[]) => {
    const table = schema?.[key] as DrizzleTableLike | undefined
    const resolved = table ? resolveTable(db, table, key, "schema", []) : undefined
    const missing = resolved ? required.find((field) => !resolved.columns?.has(field)) : undefined
    if (!resolved || missing !== undefined) {
      const what = resolved ? `the Drizzle table "${key}" has no ${missing} column` : `no "${key}" table in the schema`
      throw new InvalidOptionsError(
        "schema",
        `betterAuthAccountStore: ${what}; pass the schema given to drizzleAdapter(db, { schema }) ` +
          "as tokenSync({ database: db, schema, refresh }).",
      )
    }
    return resolved
  }
  const accountKey = options.accountTable ?? "account"
  const accounts = tableOf(accountKey, REQUIRED_FIELDS)
  const users = tableOf(options.userTable ?? "user", ["id"])
  // An expiry is bound as Drizzle itself binds that column: an ISO string on PostgreSQL's `timestamp`, epoch
  // milliseconds on SQLite's `integer({ mode: "timestamp_ms" })` (Better Auth's CLI's; read back as such).
  const columnObjects = ((schema![accountKey] as Record<symbol, unknown>)[DRIZZLE_COLUMNS] ?? {}) as Record<
    string,
    DrizzleColumnLike
  >
  const columnOf = (field: string) => columnObjects[BETTER_AUTH_ACCOUNT_COLUMNS[field] ?? field]
  const localDates = database === postgres || parsesLocalDates(db.$client)
  return {
    timestampRead: (field, value) => (zoneless(columnOf(field)) ? asUtc(value, localDates) : value),
    timestampValue: (field, date) => {
      const column = columnOf(field)
      if (typeof column?.mapToDriverValue === "function") return column.mapToDriverValue(date)
      return database.timestamp ? database.timestamp(date) : date
    },
    database,
    driver: (tables) => drizzleDriverFor(driver, db, tables, lockTimeoutMs),
    accounts: accounts.parts,
    users: users.parts,
    accountColumns: mappedColumns(accounts.columns!),
    userIdColumn: users.columns!.get("id"),
    origin: { accounts: accounts.name, users: users.name },
  }
}

/** Kysely's dialect adapter class, as the database's name ("postgres", "mysql", "sqlite", or ""). */
function adapterName(db: KyselyLike): string {
  for (
    let proto: unknown = Object.getPrototypeOf(db.getExecutor().adapter);
    proto;
    proto = Object.getPrototypeOf(proto)
  ) {
    const name = (proto as { constructor?: { name?: unknown } }).constructor?.name
    if (name === "PostgresAdapter") return "postgres"
    if (name === "MysqlAdapter") return "mysql"
    if (name === "SqliteAdapter") return "sqlite"
  }
  return ""
}

/**
 * An AccountStore over Better Auth's `account` table (see the module comment for the column mapping).
 *
 * @param db The database given to `betterAuth({ database })`; with `prismaAdapter(prisma, ...)` or
 * `drizzleAdapter(db, ...)`, the Prisma Client or Drizzle database the adapter was built from.
 * @returns The store: `withAccountLock`, reads, the one-statement sign-in (not through Prisma) and the
 * leases, on Better Auth's table.
 * @throws {@link UnsupportedDatabaseError} for anything else (for an adapter function, one that says to pass
 * its client), for a Prisma Client on another database than PostgreSQL or MySQL/MariaDB, and for a Drizzle
 * database on a driver `drizzleAccountStore` refuses or on libsql (not tested with the plugin yet).
 * @throws {@link InvalidOptionsError} for a Drizzle schema without Better Auth's tables.
 */
export function betterAuthAccountStore(
  db: BetterAuthDatabase,
  options: BetterAuthAccountStoreOptions = {},
): AccountStore {
  const factory = "betterAuthAccountStore"
  const lockTimeoutMs = checkLockTimeout(options.lockTimeoutMs, factory)
  const accountTable = options.accountTable ?? "account"
  const userTable = options.userTable ?? "user"
  const target: Target = isPrismaClient(db)
    ? prismaTarget(db, accountTable, userTable)
    : isDrizzleDatabase(db)
      ? drizzleTarget(db, options, lockTimeoutMs)
      : kyselyTarget(driverOf(db, lockTimeoutMs), accountTable, userTable)
  const tables = sqlTables(target.database, {
    accounts: target.accounts,
    users: target.users,
    store: "better-auth",
    tableLabels: { accounts: "account table name", users: "user table name" },
    origin: {
      accounts: { name: target.origin.accounts, option: `${factory}(db, { accountTable })` },
      users: { name: target.origin.users, option: `${factory}(db, { userTable })` },
    },
    accountColumns: target.accountColumns,
    ...(target.userIdColumn ? { userIdColumn: target.userIdColumn } : {}),
    ...(target.timestampValue ? { timestampValue: target.timestampValue } : {}),
    ...(target.timestampRead ? { timestampRead: target.timestampRead } : {}),
    timestampFields: ["expires_at", BETTER_AUTH_REFRESH_TOKEN_EXPIRY],
    absentFields: ["type", "token_type", "session_state"],
    lockRowsOnRead: true,
  })
  const driver = target.driver(tables)
  const store = sqlAccountStore(driver, {
    name: "better-auth",
    factory,
    tables,
    lockTimeoutMs,
    linkAccountResult: "input",
    leaseTable: options.leaseTable,
    leaseOption: `${factory}(db, { leaseTable })`,
  })
  // The plugin's fresh path reads the caller's row by Better Auth's account id on the same client; through
  // Better Auth's Prisma and Drizzle adapters (the schema's own names and id types) it keeps Better Auth's read.
  if (!isPrismaClient(db) && !isDrizzleDatabase(db))
    registerOwnAccountRead(store, driver.run, tables, BETTER_AUTH_REFRESH_TOKEN_EXPIRY)
  return store
}
