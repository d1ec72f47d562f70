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
 * Better Auth writes the row on every sign-in without the library's lock, so the store's locked reads also
 * lock the key's rows (`lockRowsOnRead`): a sign-in that lands while a refresh result is being compared and
 * written waits for that short transaction, then writes over it; one that committed first is seen by the
 * comparison, which then leaves the row alone.
 */
import { ownConnectionSqliteDriver, type BetterSqliteLike } from "../drivers/drizzle-better-sqlite3.js"
import { kyselyDriver } from "../drivers/kysely.js"
import { isMysql2Pool, mysql2PoolDriver } from "../drivers/mysql2.js"
import { nodePostgresDriver } from "../drivers/node-postgres.js"
import { mysql } from "../databases/mysql.js"
import { postgres } from "../databases/postgres.js"
import type { SqlDatabase } from "../databases/sql-database.js"
import { sqlite } from "../databases/sqlite.js"
import { UnsupportedDatabaseError } from "../errors.js"
import { sqlAccountStore, type SqlDriver } from "../sql-store.js"
import { sqlTables } from "../statements.js"
import type { AccountStore } from "../store.js"
import { checkLockTimeout } from "../store-support.js"
import { isKysely, type KyselyLike } from "../stores/kysely.js"
import { isPgPool, type PgPoolLike } from "../stores/pg.js"
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
 * Auth's `{ db: Kysely, type }` form.
 */
export type BetterAuthDatabase =
  PgPoolLike | BetterAuthMysqlPool | BetterAuthSqliteDatabase | KyselyLike | { db: KyselyLike; type?: string }

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
  /** Better Auth's account table (`account.modelName`). Default `"account"`. */
  accountTable?: string
  /** Better Auth's user table (`user.modelName`). Default `"user"`. */
  userTable?: string
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
  throw new UnsupportedDatabaseError(
    "betterAuthAccountStore: expected the database Better Auth is given: a node-postgres Pool, " +
      "a mysql2 pool, a better-sqlite3 Database on a file, " +
      'a Kysely instance, or { db: Kysely, type: "postgres" | "mysql" | "sqlite" }.',
  )
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
 * @param db The database given to `betterAuth({ database })`.
 * @returns The store: `withAccountLock`, reads, the one-statement sign-in and the leases, on Better Auth's table.
 * @throws {@link UnsupportedDatabaseError} for anything else.
 */
export function betterAuthAccountStore(
  db: BetterAuthDatabase,
  options: BetterAuthAccountStoreOptions = {},
): AccountStore {
  const factory = "betterAuthAccountStore"
  const lockTimeoutMs = checkLockTimeout(options.lockTimeoutMs, factory)
  const driver = driverOf(db, lockTimeoutMs)
  const accounts = options.accountTable ?? "account"
  const users = options.userTable ?? "user"
  const tables = sqlTables(driver.database, {
    accounts,
    users,
    store: "better-auth",
    tableLabels: { accounts: "account table name", users: "user table name" },
    origin: {
      accounts: { name: accounts, option: `${factory}(db, { accountTable })` },
      users: { name: users, option: `${factory}(db, { userTable })` },
    },
    accountColumns: BETTER_AUTH_ACCOUNT_COLUMNS,
    timestampFields: ["expires_at", BETTER_AUTH_REFRESH_TOKEN_EXPIRY],
    absentFields: ["type", "token_type", "session_state"],
    lockRowsOnRead: true,
  })
  const store = sqlAccountStore(driver, {
    name: "better-auth",
    factory,
    tables,
    lockTimeoutMs,
    linkAccountResult: "input",
    leaseTable: options.leaseTable,
    leaseOption: `${factory}(db, { leaseTable })`,
  })
  // The plugin's fresh path reads the caller's row by Better Auth's account id on the same client.
  registerOwnAccountRead(store, driver.run, tables, BETTER_AUTH_REFRESH_TOKEN_EXPIRY)
  return store
}
