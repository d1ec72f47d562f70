/**
 * AccountStore for a Kysely instance on PostgreSQL, matching the schema documented for
 * `@auth/kysely-adapter`: tables `"Account"` and `"User"`, camelCase key columns (`"userId"`,
 * `"providerAccountId"`), snake_case token columns, `expires_at bigint` (node-postgres returns it as a
 * string: left as is, the core normalizes it), `"id" uuid DEFAULT gen_random_uuid()`. That schema has no
 * unique constraint on ("provider", "providerAccountId"), so every write runs under a
 * transaction-scoped advisory lock on the key; `readAll` returns every row of the key and `update`
 * touches only the rows of the owner it is given.
 *
 * This module does not import `kysely`: the instance is typed structurally, and the store sends its own
 * parameterised SQL (the same statements as the pg store) through `executeQuery` on a plugin-free view
 * of the instance (`withoutPlugins()`). So the table names are exactly the configured ones: a
 * `WithSchemaPlugin` or `CamelCasePlugin` on your instance does not apply to them; use a schema-qualified
 * table name (`"auth.Account"`) if your tables live outside the search path.
 */
import type { AccountKey, AccountLockOptions, AccountScanPage, AccountStore, LockedAccount, StoredAccountRow } from "../store.js"
import {
  checkLockTimeout,
  lockTimeoutFor,
  quoteTableName,
  scopedLockedAccount,
  sqlFindAccounts,
  sqlScanAccounts,
  sqlLockedAccount,
  takeAccountLock,
  type SqlRunner,
  type SqlTables,
} from "./sql.js"

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
}

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
   * other lock inside the transaction), via `SET LOCAL lock_timeout`. When exceeded the transaction fails
   * with SQLSTATE 55P03 and nothing is written. Default: no bound beyond the server's own `lock_timeout`.
   */
  lockTimeoutMs?: number
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

/**
 * An AccountStore over a Kysely instance and the `@auth/kysely-adapter` PostgreSQL schema.
 *
 * `withAccountLock` runs `work` in `db.transaction()` at READ COMMITTED (each statement after the lock
 * sees what the previous holder committed), after `pg_advisory_xact_lock` on the key. Kysely commits
 * when `work` resolves and rolls back and rethrows the same error when it throws.
 */
export function kyselyAccountStore(db: KyselyLike, options: KyselyAccountStoreOptions = {}): AccountStore {
  const name = "kysely"
  if (!isKysely(db)) throw new TypeError("kyselyAccountStore: expected a Kysely instance.")
  if ((db as unknown as { isTransaction?: unknown }).isTransaction === true) {
    throw new TypeError("kyselyAccountStore: got a Kysely Transaction; pass the Kysely instance itself (the store opens its own transactions).")
  }
  const tables: SqlTables = {
    accounts: quoteTableName(options.accountTable ?? "Account", "account table name"),
    users: quoteTableName(options.userTable ?? "User", "user table name"),
    store: name,
    origin: {
      accounts: { name: options.accountTable ?? "Account", option: "kyselyAccountStore(db, { accountTable })" },
      users: { name: options.userTable ?? "User", option: "kyselyAccountStore(db, { userTable })" },
    },
  }
  const lockTimeoutMs = checkLockTimeout(options.lockTimeoutMs, "kyselyAccountStore")
  const { generateId = false } = options
  const insertDefaults = (): Record<string, unknown> => {
    if (generateId === false) return {}
    return { id: generateId === true ? globalThis.crypto.randomUUID() : generateId() }
  }

  return {
    name,
    // @auth/kysely-adapter's linkAccount returns the account object it was given.
    linkAccountResult: "input",

    // async: a bad option must reject the returned promise, not throw synchronously.
    async withAccountLock<T>(key: AccountKey, work: (account: LockedAccount) => Promise<T>, lockOptions?: AccountLockOptions): Promise<T> {
      const timeout = lockTimeoutFor(lockOptions, lockTimeoutMs, "kyselyAccountStore")
      return db
        .transaction()
        .setIsolationLevel("read committed")
        .execute(async (trx) => {
          const run = runnerOf(trx)
          await takeAccountLock(run, key, timeout)
          const scoped = scopedLockedAccount(sqlLockedAccount(run, tables, key, { defaults: insertDefaults }), "kyselyAccountStore")
          try {
            return await work(scoped.account)
          } finally {
            scoped.close()
          }
        })
    },

    async findAccounts(userId: string, provider: string): Promise<StoredAccountRow[]> {
      return sqlFindAccounts(runnerOf(db), tables, userId, provider)
    },

    async scanAccounts(page: AccountScanPage): Promise<StoredAccountRow[]> {
      return sqlScanAccounts(runnerOf(db), tables, page)
    },
  }
}
