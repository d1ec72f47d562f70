/**
 * The account operations as plain, parameterised PostgreSQL, shared by the node-postgres store and the
 * Kysely store (which runs the same statements through Kysely's executor), plus the checks every store
 * shares (identifier and token-column names, durations, the after-the-callback guard), which the Prisma
 * store uses too. Identifiers are validated and quoted here; values are always parameters. Internal: not
 * part of the package's exports.
 */
import {
  ADVISORY_LOCK_KEY_SQL,
  type AccountKey,
  type AccountLockOptions,
  type AccountPatch,
  type AccountRow,
  type AccountRowScope,
  type AccountScanPage,
  type LockedAccount,
  type StoredAccountRow,
  type UserId,
} from "../store.js"
import { AccountSchemaError, InvalidOptionsError, TOKEN_COLUMN_HINT } from "../errors.js"

// ---------------------------------------------------------------------------------------------------
// Identifiers and SQL shared by the pg and Kysely stores
// ---------------------------------------------------------------------------------------------------

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Returns `name` double-quoted after checking it is a plain identifier; anything else is refused, never
 * interpolated.
 * @internal
 */
export function quoteIdentifier(name: string, what: string): string {
  return `"${checkIdentifier(name, what)}"`
}

/** Returns `name` after checking it is a plain identifier (also for ORMs that take names, not SQL). @internal */
export function checkIdentifier(name: string, what: string): string {
  if (typeof name !== "string" || !IDENTIFIER.test(name)) {
    throw new InvalidOptionsError(what, `Invalid ${what} ${JSON.stringify(name)}: expected a plain identifier matching ${IDENTIFIER}.`)
  }
  return name
}

/**
 * Quotes a table name, optionally schema-qualified (`schema.table`), each part a plain identifier.
 * @internal
 */
export function quoteTableName(name: string, what: string): string {
  const parts = typeof name === "string" ? name.split(".") : []
  if (parts.length < 1 || parts.length > 2) {
    throw new InvalidOptionsError(what, `Invalid ${what} ${JSON.stringify(name)}: expected "table" or "schema.table".`)
  }
  return parts.map((part) => quoteIdentifier(part, what)).join(".")
}

/** Columns that identify and own an account row; never written or returned as tokens. */
const KEY_COLUMNS = ["provider", "providerAccountId", "userId", "type"] as const
/** Columns left out of `StoredAccountRow.tokens` on read. */
const NON_TOKEN_COLUMNS: ReadonlySet<string> = new Set<string>([...KEY_COLUMNS, "id"])

/** Returns a token column name after refusing non-identifiers and the key columns (written through their own fields). @internal */
export function checkTokenColumn(name: string): string {
  checkIdentifier(name, "token column name")
  if (NON_TOKEN_COLUMNS.has(name)) {
    throw new InvalidOptionsError("token column name", `Invalid token column name ${JSON.stringify(name)}: "${name}" is not a token column.`)
  }
  return name
}

const tokenColumn = (name: string): string => `"${checkTokenColumn(name)}"`

/** A token set's defined entries; `undefined` means "not given", as with Prisma and Kysely. @internal */
export function definedEntries(tokens: Record<string, unknown> | undefined): [string, unknown][] {
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

/** Quoted, validated table names, and what the user sets each with (for errors). @internal */
export interface SqlTables {
  accounts: string
  users: string
  /** The store's name in errors, e.g. "pg". */
  store: string
  /** The names as configured and the option that sets each, e.g. `pgAccountStore(pool, { accountsTable })`. */
  origin: Record<"accounts" | "users", { name: string; option: string }>
}

/** Columns the database reported missing are names we sent: plain identifiers, never values. */
const MISSING_COLUMN = /column "([A-Za-z_][A-Za-z0-9_]*)"/

/**
 * Turns "undefined table" (42P01) and "undefined column" (42703) from PostgreSQL into an
 * `AccountSchemaError` naming the table the statement used and the option that sets it; any other error
 * is returned as it is. @internal
 */
export function schemaMismatch(error: unknown, tables: SqlTables, table: "accounts" | "users"): unknown {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined
  if (code !== "42P01" && code !== "42703") return error
  const { name, option } = tables.origin[table]
  const message = error instanceof Error ? error.message : ""
  const column = code === "42703" ? (MISSING_COLUMN.exec(message)?.[1] ?? "(unknown)") : undefined
  return new AccountSchemaError({ store: tables.store, table: name, column, option, driverErrorCode: code, hint: TOKEN_COLUMN_HINT })
}

/** `run`, with schema errors of statements on `table` made explicit. @internal */
function on(run: SqlRunner, tables: SqlTables, table: "accounts" | "users"): SqlRunner {
  return async (text, values) => {
    try {
      return await run(text, values)
    } catch (error) {
      throw schemaMismatch(error, tables, table)
    }
  }
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
  return checkMilliseconds(value, undefined, store, "lockTimeoutMs")
}

/** Checks a duration option (a positive integer of ms); `fallback` when it is not given. @internal */
export function checkMilliseconds(value: number | undefined, fallback: number | undefined, store: string, option: string): number | undefined {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidOptionsError(option, `${store}: ${option} must be a positive integer number of milliseconds.`)
  }
  return value
}

/** A user id as a statement parameter: numbers and strings as they are, a bigint as its decimal text. */
const idParameter = (userId: UserId): string | number => (typeof userId === "bigint" ? String(userId) : userId)

/** How `sqlLockedAccount` inserts. @internal */
export interface SqlInsertOptions {
  /** Columns added to every insert (e.g. a generated `id`). */
  defaults?: () => Record<string, unknown>
  /**
   * When given, the insert ends in `RETURNING *` and resolves to the returned row passed through this
   * (the shape the client's official adapter gives back from `linkAccount`).
   */
  returning?: (row: Record<string, unknown>) => Record<string, unknown>
}

/**
 * The LockedAccount operations as plain SQL over `run`, which must execute inside the transaction that
 * holds the key's lock.
 * @internal
 */
export function sqlLockedAccount(run: SqlRunner, tables: SqlTables, key: AccountKey, insertOptions: SqlInsertOptions = {}): LockedAccount {
  const insertDefaults = insertOptions.defaults ?? (() => ({}))
  const byKey = `"provider" = $1 AND "providerAccountId" = $2`
  const accounts = on(run, tables, "accounts")
  const users = on(run, tables, "users")
  return {
    async readAll() {
      const rows = await accounts(`SELECT * FROM ${tables.accounts} WHERE ${byKey}`, [key.provider, key.providerAccountId])
      return rows.map(toStoredAccountRow)
    },

    async userExists(userId: UserId) {
      const rows = await users(`SELECT 1 AS "exists" FROM ${tables.users} WHERE "id" = $1 LIMIT 1`, [idParameter(userId)])
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
      values.push(idParameter(row.userId), key.provider, row.type, key.providerAccountId)
      for (const [column, value] of definedEntries(row.tokens)) {
        columns.push(tokenColumn(column))
        values.push(value)
      }
      const placeholders = values.map((_, index) => `$${index + 1}`)
      const insert = `INSERT INTO ${tables.accounts} (${columns.join(", ")}) VALUES (${placeholders.join(", ")})`
      const { returning } = insertOptions
      if (!returning) {
        await accounts(insert, values)
        return
      }
      const [inserted] = await accounts(`${insert} RETURNING *`, values)
      return inserted ? returning(inserted) : undefined
    },

    async update(patch: AccountPatch, scope: AccountRowScope) {
      const assignments: string[] = []
      // $3 is the owner: rows of the key that belong to anyone else are never touched. Compared as text,
      // so that integer ids (serial users.id) match the strings the interface speaks.
      const values: unknown[] = [key.provider, key.providerAccountId, ownerOf(scope)]
      if (patch.userId !== undefined) {
        values.push(idParameter(patch.userId))
        assignments.push(`"userId" = $${values.length}`)
      }
      for (const [column, value] of definedEntries(patch.tokens)) {
        const quoted = tokenColumn(column)
        values.push(value)
        assignments.push(`${quoted} = $${values.length}`)
      }
      if (assignments.length === 0) return
      await accounts(`UPDATE ${tables.accounts} SET ${assignments.join(", ")} WHERE ${byKey} AND "userId"::text = $3`, values)
    },
  }
}

/**
 * `findAccounts` in plain SQL: one statement, each key once even when the table holds duplicates
 * (the first row of a key wins). @internal
 */
export async function sqlFindAccounts(run: SqlRunner, tables: SqlTables, userId: string, provider: string): Promise<StoredAccountRow[]> {
  const rows = await on(run, tables, "accounts")(`SELECT * FROM ${tables.accounts} WHERE "userId" = $1 AND "provider" = $2`, [userId, provider])
  return uniqueByKey(rows.map(toStoredAccountRow))
}

/**
 * `scanAccounts` in plain SQL: a keyset page of up to `limit` keys and every row of each (these schemas
 * have no unique key, so a key may have duplicates; a page never splits a key's rows). @internal
 */
export async function sqlScanAccounts(run: SqlRunner, tables: SqlTables, page: AccountScanPage): Promise<StoredAccountRow[]> {
  const limit = checkPageLimit(page.limit)
  const after = page.after ? `WHERE ("provider", "providerAccountId") > ($2, $3)` : ""
  const values = page.after ? [limit, page.after.provider, page.after.providerAccountId] : [limit]
  const rows = await on(run, tables, "accounts")(
    `SELECT a.* FROM ${tables.accounts} a JOIN (SELECT DISTINCT "provider", "providerAccountId" FROM ${tables.accounts} ${after} ` +
      `ORDER BY "provider", "providerAccountId" LIMIT $1) page USING ("provider", "providerAccountId") ORDER BY a."provider", a."providerAccountId"`,
    values,
  )
  return rows.map(toStoredAccountRow)
}

/** Checks a page size. @internal */
export function checkPageLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit <= 0) throw new Error("scanAccounts: limit must be a positive integer.")
  return limit
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

/** The owner an update is scoped to, checked: an update without one would touch every user's rows. @internal */
export function ownerOf(scope: AccountRowScope | undefined): string {
  const userId = scope?.userId
  if (typeof userId !== "string" || userId === "") {
    throw new Error("LockedAccount.update(patch, scope): scope.userId (the owner of the rows to update) is required.")
  }
  return userId
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
      readAll: guard(() => account.readAll()),
      userExists: guard((userId: UserId) => account.userExists(userId)),
      insert: guard((row: AccountRow) => account.insert(row)),
      update: guard((patch: AccountPatch, scope: AccountRowScope) => account.update(patch, scope)),
    },
    close() {
      open = false
    },
  }
}
