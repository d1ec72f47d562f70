/**
 * AccountStore for a node-postgres (`pg`) Pool, matching the schema of `@auth/pg-adapter`: tables
 * `accounts` and `users`, quoted camelCase key columns (`"userId"`, `"providerAccountId"`), snake_case
 * token columns, `expires_at BIGINT` (returned by node-postgres as a string: left as is, the core
 * normalizes it). That schema has no unique constraint on (provider, "providerAccountId"), so every
 * write runs under a transaction-scoped advisory lock on the key; `readAll` returns every row of the key
 * (the bare adapter may have left duplicates, even of different users) and `update` touches only the
 * rows of the owner it is given.
 *
 * This module does not import `pg`: the pool is typed structurally. It is about how node-postgres runs a
 * transaction; the statements are the library's own (../statements.ts), in PostgreSQL's syntax
 * (../databases/postgres.ts), shared with the Kysely and Drizzle stores.
 */
import { AbandonedWait } from "../bounded-wait.js"
import type {
  AccountKey,
  AccountLockOptions,
  AccountReadOptions,
  AccountScanPage,
  AccountStore,
  LockedAccount,
  StoredAccountRow,
} from "../store.js"
import { postgres } from "../databases/postgres.js"
import {
  sqlFindAccounts,
  sqlFindAccountsHeld,
  sqlScanAccounts,
  sqlTables,
  underAccountLock,
  updateOwnTokensOn,
  type HeldConnection,
  type SqlRunner,
  type SqlTables,
} from "../statements.js"
import { checkLockTimeout, lockTimeoutFor, typedLockTimeouts } from "../store-support.js"
import { DEFAULT_LEASE_TABLE, sqlLeases } from "../sql-leases.js"

/**
 * An inserted row as @auth/pg-adapter's `linkAccount` returns it: the `RETURNING` row with `expires_at`
 * through `parseInt`, as its `mapExpiresAt` does, so a number (and, for a row without one, NaN, exactly
 * as the bare adapter returns).
 */
function asPgAdapterReturns(row: Record<string, unknown>): Record<string, unknown> {
  return { ...row, expires_at: Number.parseInt(String(row.expires_at)) }
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

/** Statements on a node-postgres Pool or checked-out connection. @internal */
export function pgRunner(target: Pick<PgPoolClientLike, "query">): SqlRunner {
  return async (text, values) => (await target.query(text, [...values])).rows
}

/** One connection of a node-postgres Pool, held for one statement. @internal */
export async function holdPgConnection(pool: PgPoolLike): Promise<HeldConnection> {
  const client = await pool.connect()
  return { run: pgRunner(client), release: () => client.release() }
}

function asError(value: unknown): Error | true {
  return value instanceof Error ? value : true
}

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
  const tables: SqlTables = sqlTables(postgres, {
    accounts: options.accountsTable ?? "accounts",
    users: options.usersTable ?? "users",
    store: name,
    origin: {
      accounts: { name: options.accountsTable ?? "accounts", option: "pgAccountStore(pool, { accountsTable })" },
      users: { name: options.usersTable ?? "users", option: "pgAccountStore(pool, { usersTable })" },
    },
  })
  const lockTimeoutMs = checkLockTimeout(options.lockTimeoutMs, "pgAccountStore")
  /** One statement on any pooled connection, outside a transaction of the store's. */
  const onPool = pgRunner(pool)

  const store: AccountStore = {
    name,
    linkAccountResult: "inserted-row",

    async withAccountLock<T>(
      key: AccountKey,
      work: (account: LockedAccount) => Promise<T>,
      lockOptions?: AccountLockOptions,
    ): Promise<T> {
      const timeout = lockTimeoutFor(lockOptions, lockTimeoutMs, "pgAccountStore")
      const client = await pool.connect()
      // The caller stopped waiting while the pool was busy: give the connection back unused.
      if (lockOptions?.signal?.aborted) {
        client.release()
        throw new AbandonedWait()
      }
      const run = pgRunner(client)
      try {
        await client.query("BEGIN ISOLATION LEVEL READ COMMITTED")
      } catch (error) {
        client.release(asError(error))
        throw error
      }
      let result: T
      try {
        result = await underAccountLock(
          run,
          tables,
          key,
          { timeoutMs: timeout, signal: lockOptions?.signal },
          { returning: asPgAdapterReturns },
          work,
        )
        await client.query("COMMIT")
      } catch (error) {
        try {
          await client.query("ROLLBACK")
        } catch (rollbackError) {
          client.release(asError(rollbackError))
          throw error
        }
        client.release()
        throw error
      }
      client.release()
      return result
    },

    async findAccounts(
      userId: string,
      provider: string,
      readOptions?: AccountReadOptions,
    ): Promise<StoredAccountRow[]> {
      if (readOptions?.signal?.aborted) throw new AbandonedWait()
      // An idle connection takes the read at once, so it cannot be sent late: pool.query, the cheapest way.
      if (!readOptions?.signal || (pool.idleCount ?? 0) > 0) return sqlFindAccounts(onPool, tables, userId, provider)
      // A read that would queue: what pool.query does, with a look at the caller in between.
      return sqlFindAccountsHeld(() => holdPgConnection(pool), readOptions.signal, tables, userId, provider)
    },

    async scanAccounts(page: AccountScanPage): Promise<StoredAccountRow[]> {
      return sqlScanAccounts(onPool, tables, page)
    },

    // PostgreSQL has the try-lock, so this is always defined.
    updateOwnTokens: updateOwnTokensOn(tables, () => holdPgConnection(pool))!,

    leases: sqlLeases({
      database: postgres,
      table: options.leaseTable ?? DEFAULT_LEASE_TABLE,
      store: name,
      option: "pgAccountStore(pool, { leaseTable })",
      accounts: tables,
      hold: () => holdPgConnection(pool),
    }),
  }
  return typedLockTimeouts(store, postgres)
}
