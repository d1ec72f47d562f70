/**
 * The AccountStore over Better Auth's own `account` table, through the database Better Auth is given: a
 * node-postgres Pool (what its built-in Kysely adapter wraps) or a Kysely instance. The shared SQL store
 * (../sql-store.ts) with Better Auth's names mapped onto Auth.js's fields, not copied:
 *
 *   providerId -> provider, accountId -> providerAccountId, accessToken -> access_token,
 *   refreshToken -> refresh_token, idToken -> id_token, accessTokenExpiresAt (a timestamp) -> expires_at
 *   (epoch seconds), scope -> scope. Better Auth keeps no `type`, `token_type` or `session_state`: never written.
 *
 * Better Auth writes the row on every sign-in without the library's lock, so the store's locked reads also
 * lock the key's rows (`lockRowsOnRead`): a sign-in that lands while a refresh result is being compared and
 * written waits for that short transaction, then writes over it; one that committed first is seen by the
 * comparison, which then leaves the row alone.
 */
import { kyselyDriver } from "../drivers/kysely.js"
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

/** Better Auth's column for each Auth.js field the library reads or writes. */
export const BETTER_AUTH_ACCOUNT_COLUMNS: Readonly<Record<string, string>> = {
  provider: "providerId",
  providerAccountId: "accountId",
  access_token: "accessToken",
  refresh_token: "refreshToken",
  id_token: "idToken",
  expires_at: "accessTokenExpiresAt",
}

/**
 * What Better Auth is given as `database` and this store can speak: a node-postgres Pool, a Kysely instance,
 * or Better Auth's `{ db: Kysely, type }` form.
 */
export type BetterAuthDatabase = PgPoolLike | KyselyLike | { db: KyselyLike; type?: string }

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

function driverOf(db: unknown): SqlDriver {
  if (isPgPool(db)) return nodePostgresDriver(db, postgres)
  const wrapped = typeof db === "object" && db !== null && "db" in db ? (db as { db: unknown; type?: unknown }) : null
  const kysely = wrapped ? wrapped.db : db
  if (isKysely(kysely)) {
    const type = wrapped && typeof wrapped.type === "string" ? wrapped.type : adapterName(kysely)
    const database = KYSELY_DATABASE_BY_TYPE[type]
    if (database) return kyselyDriver(kysely, database)
  }
  throw new UnsupportedDatabaseError(
    "betterAuthAccountStore: expected the database Better Auth is given: a node-postgres Pool, " +
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
  const driver = driverOf(db)
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
    timestampFields: ["expires_at"],
    absentFields: ["type", "token_type", "session_state"],
    lockRowsOnRead: true,
  })
  return sqlAccountStore(driver, {
    name: "better-auth",
    factory,
    tables,
    lockTimeoutMs: checkLockTimeout(options.lockTimeoutMs, factory),
    linkAccountResult: "input",
    leaseTable: options.leaseTable,
    leaseOption: `${factory}(db, { leaseTable })`,
  })
}
