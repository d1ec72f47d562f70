/**
 * AccountStore for a node-postgres (`pg`) Pool, matching the schema of `@auth/pg-adapter`: tables
 * `accounts` and `users`, quoted camelCase key columns (`"userId"`, `"providerAccountId"`), snake_case
 * token columns, `expires_at BIGINT` (returned by node-postgres as a string: left as is, the core
 * normalizes it). That schema has no unique constraint on (provider, "providerAccountId"), so every
 * write runs under a transaction-scoped advisory lock on the key; `readAll` returns every row of the key
 * (the bare adapter may have left duplicates, even of different users) and `update` touches only the
 * rows of the owner it is given.
 *
 * This module does not import `pg`: the pool is typed structurally. It names the schema and the options;
 * the store is the shared SQL one (../sql-store.ts) over the node-postgres driver (../drivers/node-postgres.ts),
 * with the library's own statements in PostgreSQL's syntax (../databases/postgres.ts).
 */
import type { AccountStore } from "../store.js"
import { postgres } from "../databases/postgres.js"
import { nodePostgresDriver } from "../drivers/node-postgres.js"
import { sqlAccountStore } from "../sql-store.js"
import { sqlTables } from "../statements.js"
import { checkLockTimeout } from "../store-support.js"

/** The columns @auth/pg-adapter's `linkAccount` names in its `RETURNING`, in its order. */
const PG_ADAPTER_RETURNING = [
  "id",
  "userId",
  "provider",
  "type",
  "providerAccountId",
  "access_token",
  "expires_at",
  "refresh_token",
  "id_token",
  "scope",
  "session_state",
  "token_type",
] as const

/**
 * An inserted row as @auth/pg-adapter's `linkAccount` returns it: the columns its `RETURNING` names (a table
 * with more columns, e.g. a `refresh.reauthColumn` or `tokenFields` column, returns no more than the bare
 * adapter does), with `expires_at` through `parseInt`, as its `mapExpiresAt` does, so a number (and, for a
 * row without one, NaN, exactly as the bare adapter returns).
 */
function asPgAdapterReturns(row: Record<string, unknown>): Record<string, unknown> {
  const named: Record<string, unknown> = {}
  for (const column of PG_ADAPTER_RETURNING) if (column in row) named[column] = row[column]
  return { ...named, expires_at: Number.parseInt(String(row.expires_at)) }
}

// ---------------------------------------------------------------------------------------------------
// Structural types of the node-postgres objects this store uses
// ---------------------------------------------------------------------------------------------------

/** The part of a node-postgres `QueryResult` this store reads. */
export interface PgQueryResultLike {
  rows: Record<string, unknown>[]
  rowCount: number | null
}

/** The part of a node-postgres `PoolClient` (a checked-out connection) this store uses. */
export interface PgPoolClientLike {
  query(text: string, values?: unknown[]): Promise<PgQueryResultLike>
  /** Returns the connection to the pool; with an Error (or `true`) the connection is destroyed instead. */
  release(destroy?: Error | boolean): void
  /** node-postgres' EventEmitter methods: the store listens for `error` while it holds the connection. */
  on?(event: "error", listener: (error: Error) => void): unknown
  off?(event: "error", listener: (error: Error) => void): unknown
}

/** The part of a node-postgres `Pool` this store uses. `new pg.Pool(...)` satisfies it. */
export interface PgPoolLike {
  connect(): Promise<PgPoolClientLike>
  query(text: string, values?: unknown[]): Promise<PgQueryResultLike>
  readonly totalCount: number
  /** Connections idle in the pool (node-postgres has it; a pool without it is treated as having none). */
  readonly idleCount?: number
}

/** Options of {@link pgAccountStore}: table names and the lock bound. */
export interface PgAccountStoreOptions {
  /** Accounts table, optionally schema-qualified (`"auth.accounts"`). Default `"accounts"`. */
  accountsTable?: string
  /** Users table, optionally schema-qualified. Default `"users"`. */
  usersTable?: string
  /**
   * Upper bound, in milliseconds, on how long `withAccountLock` waits for the account's lock (and any
   * other lock inside the transaction), via `SET LOCAL lock_timeout`. When exceeded the transaction fails
   * with SQLSTATE 55P03 and nothing is written. Default: no bound beyond the server's own `lock_timeout`.
   */
  lockTimeoutMs?: number
  /**
   * The lease table of lease mode (`refresh.coordination: "lease"`), optionally schema-qualified. Default
   * `"authjs_refresh_lease"`; the README's "Lease mode: the migration" creates it. Unused in lock mode.
   */
  leaseTable?: string
}

// ---------------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------------

function hasFunctions(value: unknown, names: readonly string[]): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false
  const record = value as Record<string, unknown>
  return names.every((name) => typeof record[name] === "function")
}

/** Whether `value` is a node-postgres `Pool` (it has `connect`, `query` and a numeric `totalCount`). */
export function isPgPool(value: unknown): value is PgPoolLike {
  return hasFunctions(value, ["connect", "query"]) && typeof value.totalCount === "number"
}

/**
 * Whether `value` is a single node-postgres connection: a `pg.Client`, or a `PoolClient` checked out of
 * a pool. Neither can be used as a store: every account transaction needs a connection of its own, so
 * pass the Pool.
 */
export function isPgClient(value: unknown): boolean {
  if (!hasFunctions(value, ["connect", "query"]) || typeof value.totalCount === "number") return false
  return "connectionParameters" in value || "processID" in value || typeof value.release === "function"
}

// ---------------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------------

/**
 * An AccountStore over a node-postgres Pool and the `@auth/pg-adapter` schema.
 *
 * `withAccountLock` checks a connection out of the pool, runs `BEGIN ISOLATION LEVEL READ COMMITTED`
 * (each statement after the lock sees what the previous holder committed), takes
 * `pg_advisory_xact_lock` on the key, runs `work`, then `COMMIT`s. When `work` throws, it rolls back and
 * rethrows the same error. The connection goes back to the pool, or is destroyed when BEGIN, COMMIT or
 * ROLLBACK failed (its state is then unknown).
 *
 * @param pool The same Pool given to `PostgresAdapter(pool)` (a single `Client` cannot run concurrent transactions).
 * @returns The store to pass as `withTokenSync(adapter, store)` or `reencryptAccounts(store, ...)`.
 * @throws {@link InvalidOptionsError} for an option that cannot work (a table name, a lock bound).
 */
export function pgAccountStore(pool: PgPoolLike, options: PgAccountStoreOptions = {}): AccountStore {
  const name = "pg"
  if (!isPgPool(pool)) {
    throw new TypeError(
      isPgClient(pool)
        ? "pgAccountStore: got a single node-postgres Client; pass a " +
            "Pool so that each account transaction gets its own connection."
        : "pgAccountStore: expected a node-postgres Pool.",
    )
  }
  // node-postgres speaks PostgreSQL only; the other databases have their own clients (mysql2, better-sqlite3).
  const tables = sqlTables(postgres, {
    accounts: options.accountsTable ?? "accounts",
    users: options.usersTable ?? "users",
    store: name,
    origin: {
      accounts: { name: options.accountsTable ?? "accounts", option: "pgAccountStore(pool, { accountsTable })" },
      users: { name: options.usersTable ?? "users", option: "pgAccountStore(pool, { usersTable })" },
    },
  })
  return sqlAccountStore(nodePostgresDriver(pool, postgres), {
    name,
    factory: "pgAccountStore",
    tables,
    insert: { returning: asPgAdapterReturns },
    lockTimeoutMs: checkLockTimeout(options.lockTimeoutMs, "pgAccountStore"),
    linkAccountResult: "inserted-row",
    leaseTable: options.leaseTable,
    leaseOption: "pgAccountStore(pool, { leaseTable })",
  })
}
