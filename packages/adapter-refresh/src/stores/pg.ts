/**
 * AccountStore for a node-postgres (`pg`) Pool, matching the schema of `@auth/pg-adapter`: tables
 * `accounts` and `users`, quoted camelCase key columns (`"userId"`, `"providerAccountId"`), snake_case
 * token columns, `expires_at BIGINT` (returned by node-postgres as a string: left as is, the core
 * normalizes it). That schema has no unique constraint on (provider, "providerAccountId"), so every
 * write runs under a transaction-scoped advisory lock on the key, and `update` updates every row that
 * has the key (the bare adapter may have left duplicates).
 *
 * This module does not import `pg`: the pool is typed structurally. It also holds the plain-SQL account
 * operations that the Kysely store runs through Kysely's executor (see `./kysely.ts`).
 */
import {
  ADVISORY_LOCK_KEY_SQL,
  type AccountKey,
  type AccountLockOptions,
  type AccountPatch,
  type AccountRow,
  type AccountStore,
  type LockedAccount,
  type StoredAccountRow,
} from "../store.js"

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
}

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
// Identifiers and SQL shared with the Kysely store
// ---------------------------------------------------------------------------------------------------

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Returns `name` double-quoted after checking it is a plain identifier; anything else is refused, never
 * interpolated.
 * @internal
 */
export function quoteIdentifier(name: string, what: string): string {
  if (typeof name !== "string" || !IDENTIFIER.test(name)) {
    throw new Error(`Invalid ${what} ${JSON.stringify(name)}: expected a plain identifier matching ${IDENTIFIER}.`)
  }
  return `"${name}"`
}

/**
 * Quotes a table name, optionally schema-qualified (`schema.table`), each part a plain identifier.
 * @internal
 */
export function quoteTableName(name: string, what: string): string {
  const parts = typeof name === "string" ? name.split(".") : []
  if (parts.length < 1 || parts.length > 2) {
    throw new Error(`Invalid ${what} ${JSON.stringify(name)}: expected "table" or "schema.table".`)
  }
  return parts.map((part) => quoteIdentifier(part, what)).join(".")
}

/** Columns that identify and own an account row; never written or returned as tokens. */
const KEY_COLUMNS = ["provider", "providerAccountId", "userId", "type"] as const
/** Columns left out of `StoredAccountRow.tokens` on read. */
const NON_TOKEN_COLUMNS: ReadonlySet<string> = new Set<string>([...KEY_COLUMNS, "id"])

/** Quotes a token column name and refuses the key columns (they are written through their own fields). */
function tokenColumn(name: string): string {
  const quoted = quoteIdentifier(name, "token column name")
  if (NON_TOKEN_COLUMNS.has(name)) {
    throw new Error(`Invalid token column name ${JSON.stringify(name)}: "${name}" is not a token column.`)
  }
  return quoted
}

/** A token set's defined entries; `undefined` means "not given", as with Prisma and Kysely. */
function definedEntries(tokens: Record<string, unknown> | undefined): [string, unknown][] {
  return tokens ? Object.entries(tokens).filter(([, value]) => value !== undefined) : []
}

/** Splits a database row into the key fields and everything else (the token columns). @internal */
export function toStoredAccountRow(row: Record<string, unknown>): StoredAccountRow {
  const tokens: Record<string, unknown> = {}
  for (const [column, value] of Object.entries(row)) if (!NON_TOKEN_COLUMNS.has(column)) tokens[column] = value
  return {
    provider: String(row.provider),
    providerAccountId: String(row.providerAccountId),
    // Integer ids (serial users.id) come back as numbers; the interface speaks strings.
    userId: String(row.userId),
    type: String(row.type),
    tokens,
  }
}

/** Runs one parameterised statement (`$1`, `$2`, ...) and returns its rows. @internal */
export type SqlRunner = (text: string, values: readonly unknown[]) => Promise<Record<string, unknown>[]>

/** Quoted, validated table names. @internal */
export interface SqlTables {
  accounts: string
  users: string
}

/** The statements that open an account transaction: optional lock_timeout, then the advisory lock. @internal */
export async function takeAccountLock(run: SqlRunner, key: AccountKey, lockTimeoutMs: number | undefined): Promise<void> {
  if (lockTimeoutMs !== undefined) {
    await run("SELECT set_config('lock_timeout', $1, true)", [`${lockTimeoutMs}ms`])
  }
  await run(`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_KEY_SQL})`, [key.provider, key.providerAccountId])
}

/** Checks a `lockTimeoutMs` option. @internal */
export function checkLockTimeout(value: number | undefined, store: string): number | undefined {
  if (value === undefined) return undefined
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`${store}: lockTimeoutMs must be a positive integer number of milliseconds.`)
  }
  return value
}

/**
 * The LockedAccount operations as plain SQL over `run`, which must execute inside the transaction that
 * holds the key's lock. `insertDefaults` adds columns to every insert (e.g. a generated `id`).
 * @internal
 */
export function sqlLockedAccount(
  run: SqlRunner,
  tables: SqlTables,
  key: AccountKey,
  insertDefaults: () => Record<string, unknown> = () => ({}),
): LockedAccount {
  const byKey = `"provider" = $1 AND "providerAccountId" = $2`
  return {
    async read() {
      const rows = await run(`SELECT * FROM ${tables.accounts} WHERE ${byKey} LIMIT 1`, [key.provider, key.providerAccountId])
      const row = rows[0]
      return row ? toStoredAccountRow(row) : null
    },

    async userExists(userId: string) {
      const rows = await run(`SELECT 1 AS "exists" FROM ${tables.users} WHERE "id" = $1 LIMIT 1`, [userId])
      return rows.length > 0
    },

    async insert(row: AccountRow) {
      const columns: string[] = []
      const values: unknown[] = []
      const defaults = insertDefaults()
      for (const [column, value] of Object.entries(defaults)) {
        columns.push(quoteIdentifier(column, "column name"))
        values.push(value)
      }
      // The row's own key, not the caller's: the lock covers exactly this key.
      columns.push(`"userId"`, `"provider"`, `"type"`, `"providerAccountId"`)
      values.push(row.userId, key.provider, row.type, key.providerAccountId)
      for (const [column, value] of definedEntries(row.tokens)) {
        columns.push(tokenColumn(column))
        values.push(value)
      }
      const placeholders = values.map((_, index) => `$${index + 1}`)
      await run(`INSERT INTO ${tables.accounts} (${columns.join(", ")}) VALUES (${placeholders.join(", ")})`, values)
    },

    async update(patch: AccountPatch) {
      const assignments: string[] = []
      const values: unknown[] = [key.provider, key.providerAccountId]
      if (patch.userId !== undefined) {
        values.push(patch.userId)
        assignments.push(`"userId" = $${values.length}`)
      }
      for (const [column, value] of definedEntries(patch.tokens)) {
        const quoted = tokenColumn(column)
        values.push(value)
        assignments.push(`${quoted} = $${values.length}`)
      }
      if (assignments.length === 0) return
      await run(`UPDATE ${tables.accounts} SET ${assignments.join(", ")} WHERE ${byKey}`, values)
    },
  }
}

/**
 * `findAccounts` in plain SQL: one statement, each key once even when the table holds duplicates
 * (the first row of a key wins, as `LockedAccount.read` does). @internal
 */
export async function sqlFindAccounts(run: SqlRunner, tables: SqlTables, userId: string, provider: string): Promise<StoredAccountRow[]> {
  const rows = await run(`SELECT * FROM ${tables.accounts} WHERE "userId" = $1 AND "provider" = $2`, [userId, provider])
  return uniqueByKey(rows.map(toStoredAccountRow))
}

/** Keeps the first row of each (provider, providerAccountId). @internal */
export function uniqueByKey(rows: StoredAccountRow[]): StoredAccountRow[] {
  const seen = new Set<string>()
  return rows.filter((row) => {
    const id = `${row.provider}\u001f${row.providerAccountId}`
    if (seen.has(id)) return false
    seen.add(id)
    return true
  })
}

/** The lock timeout of one call: the call's own, else the store's default. @internal */
export function lockTimeoutFor(options: AccountLockOptions | undefined, fallback: number | undefined, store: string): number | undefined {
  return options?.lockTimeoutMs !== undefined ? checkLockTimeout(options.lockTimeoutMs, store) : fallback
}

/**
 * Wraps a LockedAccount so that it refuses to run once its transaction is over: a kept reference must
 * not send statements on a connection that has gone back to the pool. @internal
 */
export function scopedLockedAccount(account: LockedAccount, store: string): { account: LockedAccount; close(): void } {
  let open = true
  const guard = <A extends unknown[], R>(method: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      if (!open) return Promise.reject(new Error(`${store}: this LockedAccount was used after its withAccountLock callback ended.`))
      return method(...args)
    }
  return {
    account: {
      read: guard(() => account.read()),
      userExists: guard((userId: string) => account.userExists(userId)),
      insert: guard((row: AccountRow) => account.insert(row)),
      update: guard((patch: AccountPatch) => account.update(patch)),
    },
    close() {
      open = false
    },
  }
}

// ---------------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------------

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
 */
export function pgAccountStore(pool: PgPoolLike, options: PgAccountStoreOptions = {}): AccountStore {
  const name = "pg"
  if (!isPgPool(pool)) {
    throw new TypeError(
      isPgClient(pool)
        ? "pgAccountStore: got a single node-postgres Client; pass a Pool so that each account transaction gets its own connection."
        : "pgAccountStore: expected a node-postgres Pool.",
    )
  }
  const tables: SqlTables = {
    accounts: quoteTableName(options.accountsTable ?? "accounts", "accounts table name"),
    users: quoteTableName(options.usersTable ?? "users", "users table name"),
  }
  const lockTimeoutMs = checkLockTimeout(options.lockTimeoutMs, "pgAccountStore")

  return {
    name,

    async withAccountLock<T>(key: AccountKey, work: (account: LockedAccount) => Promise<T>, lockOptions?: AccountLockOptions): Promise<T> {
      const timeout = lockTimeoutFor(lockOptions, lockTimeoutMs, "pgAccountStore")
      const client = await pool.connect()
      const run: SqlRunner = async (text, values) => (await client.query(text, [...values])).rows
      try {
        await client.query("BEGIN ISOLATION LEVEL READ COMMITTED")
      } catch (error) {
        client.release(asError(error))
        throw error
      }
      const scoped = scopedLockedAccount(sqlLockedAccount(run, tables, key), "pgAccountStore")
      let result: T
      try {
        await takeAccountLock(run, key, timeout)
        result = await work(scoped.account)
        scoped.close()
        await client.query("COMMIT")
      } catch (error) {
        scoped.close()
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

    async findAccounts(userId: string, provider: string): Promise<StoredAccountRow[]> {
      const run: SqlRunner = async (text, values) => (await pool.query(text, [...values])).rows
      return sqlFindAccounts(run, tables, userId, provider)
    },
  }
}
