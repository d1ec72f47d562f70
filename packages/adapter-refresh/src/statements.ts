/**
 * The account statements, written once for every SQL database (databases/*) and run through whatever
 * runs a statement for a client (stores/*): the pg store's pooled connection, Kysely's executor,
 * Drizzle's session. Identifiers are validated and quoted here; values are always parameters. No
 * statement here branches on which database it runs on: what differs (a row limit, a row-value comparison,
 * RETURNING, the one-statement sign-in) is asked of the database module (databases/sql-database.ts).
 * Internal: not part of the package's exports.
 */
import { AbandonedWait } from "./bounded-wait.js"
import type {
  AccountKey,
  AccountPatch,
  AccountRow,
  AccountRowScope,
  AccountScanPage,
  AccountStore,
  LockedAccount,
  OwnTokensWritten,
  ReauthMark,
  ReauthMarkPage,
  StoredAccountRow,
  TokenColumnValue,
  UserId,
} from "./store.js"
import { AccountSchemaError, InvalidOptionsError, TOKEN_COLUMN_HINT } from "./errors.js"
import { StatementBuilder, driverCodes, type SqlDatabase, type SqlStatement } from "./databases/sql-database.js"
import {
  checkIdentifier,
  checkMarkColumn,
  checkMarkLimit,
  checkPageLimit,
  checkQuotableIdentifier,
  checkTokenColumn,
  definedEntries,
  ownerOf,
  scopedLockedAccount,
  toStoredAccountRow,
  uniqueByKey,
  uniqueMarks,
} from "./store-support.js"

/** Runs one statement (text in the database's parameter syntax) and returns its rows. @internal */
export type SqlRunner = (text: string, values: readonly unknown[]) => Promise<Record<string, unknown>[]>

/** Where the statements of one store go, and what the user sets each name with (for errors). @internal */
export interface SqlTables {
  database: SqlDatabase
  /** Quoted, validated table names. */
  accounts: string
  users: string
  /** The store's name in errors, e.g. "pg". */
  store: string
  /** The names as configured and the option that sets each, e.g. `pgAccountStore(pool, { accountsTable })`. */
  origin: Record<"accounts" | "users", { name: string; option: string }>
  /** Quoted column of an accounts field (Auth.js name in, the table's column out). */
  column(field: string): string
  /** The users table's id column, quoted. */
  userId: string
  /**
   * A row as read (`SELECT *`, the table's column names) keyed by Auth.js field names; a timestamp column
   * of `SqlTableNames.timestampFields` read back as integer epoch seconds.
   */
  fieldsOf(row: Record<string, unknown>): Record<string, unknown>
  /** Whether the table has a column for this Auth.js token field (`SqlTableNames.absentFields`). */
  hasColumn(field: string): boolean
  /**
   * A value as its column takes it: epoch seconds as a timestamp for a timestamp column (a `Date`, or what
   * `SqlDatabase.timestamp` makes of it), else unchanged.
   */
  toColumn(field: string, value: unknown): unknown
  /**
   * Whether something else writes this table without taking the account lock (Better Auth's own sign-in):
   * a locked transaction then also locks the key's rows when it reads them, so such a write waits for it.
   */
  lockRowsOnRead: boolean
}

/**
 * A table named by its parts, as Drizzle keeps them: each part is one identifier, a "." in it included
 * (never split into schema and table). @internal
 */
export interface TableName {
  schema: string | undefined
  name: string
}

/** Names of a store's tables and, where they differ from Auth.js's field names, of its columns. @internal */
export interface SqlTableNames {
  /** "table" or "schema.table" (plain identifiers), or the parts apart. */
  accounts: string | TableName
  users: string | TableName
  store: string
  origin: SqlTables["origin"]
  /** Auth.js accounts field -> column name, for the columns named otherwise (e.g. Drizzle's custom tables). */
  accountColumns?: Readonly<Record<string, string>>
  /** The users table's id column name. Default "id". */
  userIdColumn?: string
  /** How errors name the two table options. Default "accounts table name", "users table name". */
  tableLabels?: { accounts: string; users: string }
  /**
   * Auth.js fields whose column is a timestamp rather than integer epoch seconds (Better Auth's
   * `accessTokenExpiresAt` for `expires_at`): written as a `Date`, read back as whole epoch seconds.
   */
  timestampFields?: readonly string[]
  /**
   * How a timestamp field's value is bound when the client's schema says (a Drizzle column's own
   * `mapToDriverValue`: epoch milliseconds for a `timestamp_ms` column). Default `SqlDatabase.timestamp`.
   */
  timestampValue?: (field: string, date: Date) => unknown
  /**
   * A timestamp field's value as the driver read it, as the instant the client's schema means (a zone-less
   * column a JS driver read as local time, that Drizzle writes and reads as UTC). Default: as read.
   */
  timestampRead?: (field: string, value: unknown) => unknown
  /**
   * Auth.js token fields the table has no column for (Better Auth keeps no `token_type` or
   * `session_state`): never written, read as absent.
   */
  absentFields?: readonly string[]
  /** See `SqlTables.lockRowsOnRead`. Default false. */
  lockRowsOnRead?: boolean
}

/**
 * Quotes a table name: "table" or "schema.table", each part a plain identifier; or its parts apart, each
 * quoted whole. @internal
 */
export function quoteTableName(database: SqlDatabase, name: string | TableName, what: string): string {
  if (typeof name === "object" && name !== null) {
    const parts = name.schema === undefined ? [name.name] : [name.schema, name.name]
    return parts.map((part) => database.quote(checkQuotableIdentifier(part, what))).join(".")
  }
  const parts = typeof name === "string" ? name.split(".") : []
  if (parts.length < 1 || parts.length > 2) {
    throw new InvalidOptionsError(what, `Invalid ${what} ${JSON.stringify(name)}: expected "table" or "schema.table".`)
  }
  return parts.map((part) => database.quote(checkIdentifier(part, what))).join(".")
}

/** Validates and quotes a store's names for `database`. @internal */
export function sqlTables(database: SqlDatabase, names: SqlTableNames): SqlTables {
  const accountColumns = new Map<string, string>()
  for (const [field, column] of Object.entries(names.accountColumns ?? {})) {
    accountColumns.set(checkIdentifier(field, "account field name"), checkIdentifier(column, "account column name"))
  }
  const fieldOfColumn = new Map<string, string>()
  for (const [field, column] of accountColumns) if (field !== column) fieldOfColumn.set(column, field)
  const timestamps = new Set((names.timestampFields ?? []).map((field) => checkIdentifier(field, "timestamp field")))
  const absent = new Set((names.absentFields ?? []).map((field) => checkIdentifier(field, "absent field")))
  const renamed = (row: Record<string, unknown>): Record<string, unknown> =>
    fieldOfColumn.size === 0
      ? row
      : Object.fromEntries(Object.entries(row).map(([column, value]) => [fieldOfColumn.get(column) ?? column, value]))
  return {
    database,
    accounts: quoteTableName(database, names.accounts, names.tableLabels?.accounts ?? "accounts table name"),
    users: quoteTableName(database, names.users, names.tableLabels?.users ?? "users table name"),
    store: names.store,
    origin: names.origin,
    column: (field) => database.quote(accountColumns.get(field) ?? field),
    userId: database.quote(checkIdentifier(names.userIdColumn ?? "id", "users id column name")),
    fieldsOf(row) {
      const fields = renamed(row)
      if (timestamps.size === 0) return fields
      const converted = { ...fields }
      const read = names.timestampRead
      for (const field of timestamps)
        converted[field] = epochSecondsOf(read ? read(field, converted[field]) : converted[field])
      return converted
    },
    hasColumn: (field) => !absent.has(field),
    toColumn(field, value) {
      if (!timestamps.has(field) || typeof value !== "number") return value
      const date = new Date(value * 1000)
      if (names.timestampValue) return names.timestampValue(field, date)
      return database.timestamp ? database.timestamp(date) : date
    },
    lockRowsOnRead: names.lockRowsOnRead ?? false,
  }
}

/**
 * A timestamp as a driver reads it (a `Date`, an ISO string, or epoch milliseconds where the database has no
 * timestamp type) as whole epoch seconds; null and undefined stay as they are.
 */
function epochSecondsOf(value: unknown): unknown {
  if (value === null || value === undefined) return value
  const ms =
    value instanceof Date
      ? value.getTime()
      : typeof value === "number" || typeof value === "bigint"
        ? Number(value)
        : typeof value === "string"
          ? new Date(/^\d+$/.test(value) ? Number(value) : value).getTime()
          : Number.NaN
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : value
}

/**
 * Turns a missing table or column into an `AccountSchemaError` naming the table the statement used and
 * the option that sets it; any other error is returned as it is. @internal
 */
export function schemaMismatch(error: unknown, tables: SqlTables, table: "accounts" | "users"): unknown {
  const meaning = tables.database.classifyError(error)
  if (meaning.kind !== "missing-table" && meaning.kind !== "missing-column") return error
  const { name, option } = tables.origin[table]
  const column = meaning.kind === "missing-column" ? (meaning.column ?? "(unknown)") : undefined
  return new AccountSchemaError({
    store: tables.store,
    table: name,
    column,
    option,
    driverErrorCode: driverCodes(error)[0],
    hint: TOKEN_COLUMN_HINT,
  })
}

/** `run`, with schema errors of statements on `table` made explicit. */
function on<R = Record<string, unknown>[]>(
  run: (text: string, values: readonly unknown[]) => Promise<R>,
  tables: SqlTables,
  table: "accounts" | "users",
): (text: string, values: readonly unknown[]) => Promise<R> {
  return async (text, values) => {
    try {
      return await run(text, values)
    } catch (error) {
      throw schemaMismatch(error, tables, table)
    }
  }
}

/**
 * Takes the key's lock as the first statements of a transaction already begun (see
 * `SqlDatabase.lockStatements`) and returns what undoes its session settings, to run before the
 * transaction ends (also when it fails). @internal
 */
async function lockAccount(
  run: SqlRunner,
  tables: SqlTables,
  key: AccountKey,
  lockTimeoutMs: number | undefined,
): Promise<() => Promise<void>> {
  const { take, restore } = tables.database.lockStatements(
    key,
    {
      accounts: tables.accounts,
      provider: tables.column("provider"),
      providerAccountId: tables.column("providerAccountId"),
    },
    lockTimeoutMs,
  )
  const accounts = on(run, tables, "accounts")
  const undo = async () => {
    for (const statement of restore) await run(statement.text, statement.values)
  }
  try {
    for (const statement of take) await accounts(statement.text, statement.values)
  } catch (error) {
    await undo().catch(() => undefined)
    throw error
  }
  return undo
}

/**
 * `work` under the key's lock, on `run` inside a transaction the client has begun: takes the lock, hands
 * `work` a LockedAccount that refuses use after the callback, and undoes the lock's session settings
 * before the client ends the transaction. The one sequence every SQL store runs. @internal
 */
/** How long a transaction waits for the key's lock, and whether its caller still waits for it. @internal */
export interface SqlLockBound {
  timeoutMs: number | undefined
  signal?: AbortSignal | undefined
}

export async function underAccountLock<T>(
  run: SqlRunner,
  tables: SqlTables,
  key: AccountKey,
  lock: SqlLockBound,
  insertOptions: SqlInsertOptions,
  work: (account: LockedAccount) => Promise<T>,
): Promise<T> {
  // The caller already gave up waiting (AccountLockOptions.signal): no lock statement, no read.
  if (lock.signal?.aborted) throw new AbandonedWait()
  const restore = await lockAccount(run, tables, key, lock.timeoutMs)
  const scoped = scopedLockedAccount(sqlLockedAccount(run, tables, key, insertOptions), `${tables.store}AccountStore`)
  try {
    return await work(scoped.account)
  } finally {
    scoped.close()
    await restore()
  }
}

/**
 * Runs `transaction` once more when it failed on a duplicate key, for databases whose account lock is a
 * row lock (`SqlDatabase.lockKind` "row"): a key with no row yet cannot be row-locked, so the loser of two
 * concurrent first inserts gets the schema's duplicate-key error; run again, its locking read finds the
 * winner's row and waits on it. Once only: a second duplicate-key error is a real one. @internal
 */
export async function retryFirstInsertRace<T>(database: SqlDatabase, transaction: () => Promise<T>): Promise<T> {
  try {
    return await transaction()
  } catch (error) {
    if (database.lockKind !== "row" || database.classifyError(error).kind !== "duplicate-key") throw error
    return transaction()
  }
}

/** A user id as a statement parameter: numbers and strings as they are, a bigint as its decimal text. */
const idParameter = (userId: UserId): string | number => (typeof userId === "bigint" ? String(userId) : userId)

/** How `sqlLockedAccount` inserts. @internal */
export interface SqlInsertOptions {
  /** Columns (Auth.js field names) added to every insert, e.g. a generated `id`. */
  defaults?: () => Record<string, unknown>
  /**
   * When given, the insert ends in `RETURNING *` (`SqlDatabase.returningAll`, which the database must
   * have) and resolves to the returned row passed through this (the shape the client's official adapter
   * gives back from `linkAccount`).
   */
  returning?: (row: Record<string, unknown>) => Record<string, unknown>
}

/**
 * The LockedAccount operations as SQL over `run`, which must execute inside the transaction that holds
 * the key's lock. @internal
 */
function sqlLockedAccount(
  run: SqlRunner,
  tables: SqlTables,
  key: AccountKey,
  insertOptions: SqlInsertOptions = {},
): LockedAccount {
  const { database } = tables
  const insertDefaults = insertOptions.defaults ?? (() => ({}))
  const { returning } = insertOptions
  const returningAll = database.returningAll
  if (returning && !returningAll)
    throw new Error(`${tables.store}: this database's INSERT cannot return the inserted row.`)
  const column = tables.column
  const tokenColumn = (field: string) => column(checkTokenColumn(field))
  const byKey = (sql: StatementBuilder) =>
    `${column("provider")} = ${sql.param(key.provider)} AND ` +
    `${column("providerAccountId")} = ${sql.param(key.providerAccountId)}`
  const accounts = on(run, tables, "accounts")
  const users = on(run, tables, "users")
  const rowOf = (row: Record<string, unknown>) => toStoredAccountRow(tables.fieldsOf(row))
  return {
    async readAll() {
      const sql = new StatementBuilder(database)
      const select = `SELECT * FROM ${tables.accounts} WHERE ${byKey(sql)}`
      // Locked too when other writers skip the account lock: their UPDATE then waits for this transaction.
      const locking = tables.lockRowsOnRead && database.lockRows ? database.lockRows(select) : select
      const rows = await accounts(locking, sql.values)
      return rows.map(rowOf)
    },

    async userExists(userId: UserId) {
      const sql = new StatementBuilder(database)
      const rows = await users(
        database.limitRows(
          `SELECT 1 AS ${database.quote("found")} FROM ${tables.users} ` +
            `WHERE ${tables.userId} = ${sql.param(idParameter(userId))}`,
          1,
        ),
        sql.values,
      )
      return rows.length > 0
    },

    async insert(row: AccountRow) {
      const sql = new StatementBuilder(database)
      const columns: string[] = []
      const placeholders: string[] = []
      const add = (quotedColumn: string, value: unknown) => {
        columns.push(quotedColumn)
        placeholders.push(sql.param(value))
      }
      for (const [field, value] of Object.entries(insertDefaults()))
        add(column(checkIdentifier(field, "column name")), value)
      // The row's own key, not the caller's: the lock covers exactly this key.
      add(column("userId"), idParameter(row.userId))
      add(column("provider"), key.provider)
      if (tables.hasColumn("type")) add(column("type"), row.type)
      add(column("providerAccountId"), key.providerAccountId)
      for (const [field, value] of definedEntries(row.tokens))
        if (tables.hasColumn(field)) add(tokenColumn(field), tables.toColumn(field, value))
      const insert = `INSERT INTO ${tables.accounts} (${columns.join(", ")}) VALUES (${placeholders.join(", ")})`
      if (!returning || !returningAll) {
        await accounts(insert, sql.values)
        return
      }
      const [inserted] = await accounts(returningAll.call(database, insert), sql.values)
      return inserted ? returning(inserted) : undefined
    },

    async update(patch: AccountPatch, scope: AccountRowScope) {
      const owner = ownerOf(scope)
      const sql = new StatementBuilder(database)
      const assignments: string[] = []
      if (patch.userId !== undefined) assignments.push(`${column("userId")} = ${sql.param(idParameter(patch.userId))}`)
      for (const [field, value] of definedEntries(patch.tokens))
        if (tables.hasColumn(field))
          assignments.push(`${tokenColumn(field)} = ${sql.param(tables.toColumn(field, value))}`)
      if (assignments.length === 0) return
      // Scoped to the owner: rows of the key that belong to anyone else are never touched. Compared as
      // text, so that integer ids (serial users.id) match the strings the interface speaks.
      const where = `${byKey(sql)} AND ${database.asText(column("userId"))} = ${sql.param(owner)}`
      await accounts(`UPDATE ${tables.accounts} SET ${assignments.join(", ")} WHERE ${where}`, sql.values)
    },
  }
}

/**
 * What runs the one-statement sign-in: a runner on one connection and, where the database's UPDATE returns
 * no rows (`OwnTokensStatement.returnsRows` false), what runs a write and resolves to the number of rows it
 * matched. @internal
 */
export interface OwnTokensRunner {
  run: SqlRunner
  affected?: (text: string, values: readonly unknown[]) => Promise<number>
}

/**
 * A value the one-statement sign-in writes: a token column's, or a Date the driver formats (Prisma's `@updatedAt`
 * where the adapter stores dates as text). @internal
 */
export type OwnTokensValue = TokenColumnValue | Date

/**
 * `updateOwnTokens` in SQL: the database's one statement (`SqlDatabase.ownTokens`, databases/*), which
 * writes the caller's rows of the key only when no row of the key is someone else's, and never waits for
 * a lock. What it cannot write now ("not-written"), the locked path writes, with its bounded wait; a
 * server that lacks the statement ("unsupported") turns it off for this store, once. Undefined where the
 * database has no such statement. @internal
 */
export function sqlUpdateOwnTokens(
  tables: SqlTables,
):
  | ((
      runner: OwnTokensRunner,
      key: AccountKey,
      userId: UserId,
      tokens: Record<string, OwnTokensValue>,
      unchanged?: Record<string, TokenColumnValue>,
      around?: (write: SqlStatement) => SqlStatement,
    ) => Promise<OwnTokensWritten>)
  | undefined {
  const { database } = tables
  const ownTokens = database.ownTokens
  if (!ownTokens) return undefined
  const asStored = (rows: Record<string, unknown>[]) => rows.map((row) => toStoredAccountRow(tables.fieldsOf(row)))
  const none = (): OwnTokensWritten => (ownTokens.returnsRows ? [] : { written: 0 })
  let supported = true
  return async ({ run, affected }, key, userId, tokens, unchanged, around) => {
    if (!ownTokens.returnsRows && !affected)
      throw new Error(`${tables.store}: this database's one-statement sign-in needs the count of rows written.`)
    if (!supported) return none()
    const assignments = definedEntries(tokens)
      .filter(([field]) => tables.hasColumn(field))
      .map(([field, value]) => [tables.column(checkTokenColumn(field)), tables.toColumn(field, value)] as const)
    if (assignments.length === 0) return none()
    // A column the table lacks cannot have changed: it is left out of the comparison (it reads as null).
    const same = Object.entries(unchanged ?? {})
      .filter(([field]) => tables.hasColumn(field))
      .map(([field, value]) => [tables.column(checkTokenColumn(field)), tables.toColumn(field, value ?? null)] as const)
    const write = ownTokens.statement({
      accounts: tables.accounts,
      column: tables.column,
      key,
      owner: String(idParameter(userId)),
      assignments,
      unchanged: same,
    })
    // `around` adds to the write in the same statement (the lease's release); it keeps the write's rows.
    const { text, values } = around ? around(write) : write
    try {
      if (affected && !ownTokens.returnsRows) return { written: await on(affected, tables, "accounts")(text, values) }
      return asStored(await on(run, tables, "accounts")(text, values))
    } catch (error) {
      const meaning = ownTokens.failure(error)
      if (meaning === "failed") throw error
      if (meaning === "unsupported") supported = false
      return none()
    }
  }
}

/** One pooled connection held for one statement: its runner(s), and what gives it back. @internal */
export interface HeldConnection extends OwnTokensRunner {
  release(): void
}

/**
 * `AccountStore.updateOwnTokens` from `sqlUpdateOwnTokens` and a way to hold a pooled connection: `begin`
 * comes after the pool's wait and before the statement is sent, and the connection is given back after.
 * Undefined where the database has no one-statement sign-in. @internal
 */
export function updateOwnTokensOn(
  tables: SqlTables,
  hold: () => Promise<HeldConnection>,
): NonNullable<AccountStore["updateOwnTokens"]> | undefined {
  const update = sqlUpdateOwnTokens(tables)
  if (!update) return undefined
  return async (key, userId, tokens, begin) => {
    const connection = await hold()
    try {
      begin()
      return await update(connection, key, userId, tokens)
    } finally {
      connection.release()
    }
  }
}

/**
 * `findAccounts` in SQL: one statement, each key once even when the table holds duplicates (the first
 * row of a key wins). @internal
 */
export async function sqlFindAccounts(
  run: SqlRunner,
  tables: SqlTables,
  userId: string,
  provider: string,
): Promise<StoredAccountRow[]> {
  const sql = new StatementBuilder(tables.database)
  const column = tables.column
  const rows = await on(
    run,
    tables,
    "accounts",
  )(
    `SELECT * FROM ${tables.accounts} WHERE ${column("userId")} = ` +
      `${sql.param(userId)} AND ${column("provider")} = ${sql.param(provider)}`,
    sql.values,
  )
  return uniqueByKey(rows.map((row) => toStoredAccountRow(tables.fieldsOf(row))))
}

/**
 * `sqlFindAccounts` on a pooled connection held for it, looked at in between: a caller that left while the
 * pool was busy (AccountReadOptions.signal) gets no read sent on its behalf. @internal
 */
export async function sqlFindAccountsHeld(
  hold: () => Promise<HeldConnection>,
  signal: AbortSignal,
  tables: SqlTables,
  userId: string,
  provider: string,
): Promise<StoredAccountRow[]> {
  const held = await hold()
  try {
    if (signal.aborted) throw new AbandonedWait()
    return await sqlFindAccounts(held.run, tables, userId, provider)
  } finally {
    held.release()
  }
}

/** Keyset paging's condition: the keys after `after` in (provider, providerAccountId) order. */
function keyAfter(tables: SqlTables, sql: StatementBuilder, after: AccountKey): string {
  return tables.database.rowAfter(
    [tables.column("provider"), tables.column("providerAccountId")],
    [sql.param(after.provider), sql.param(after.providerAccountId)],
  )
}

/**
 * `scanAccounts` in SQL: a keyset page of up to `limit` keys and every row of each (a schema without a
 * unique key may hold duplicates; a page never splits a key's rows). @internal
 */
export async function sqlScanAccounts(
  run: SqlRunner,
  tables: SqlTables,
  page: AccountScanPage,
): Promise<StoredAccountRow[]> {
  // A checked integer, written into the text: drivers that prepare statements differ on `LIMIT ?`.
  const limit = checkPageLimit(page.limit)
  const sql = new StatementBuilder(tables.database)
  const provider = tables.column("provider")
  const providerAccountId = tables.column("providerAccountId")
  const after = page.after ? `WHERE ${keyAfter(tables, sql, page.after)}` : ""
  const rows = await on(
    run,
    tables,
    "accounts",
  )(
    `SELECT a.* FROM ${tables.accounts} a JOIN (` +
      tables.database.limitRows(
        `SELECT DISTINCT ${provider}, ${providerAccountId} FROM ${tables.accounts} ${after} ` +
          `ORDER BY ${provider}, ${providerAccountId}`,
        limit,
      ) +
      `) page USING (${provider}, ${providerAccountId}) ORDER BY a.${provider}, a.${providerAccountId}`,
    sql.values,
  )
  return rows.map((row) => toStoredAccountRow(tables.fieldsOf(row)))
}

/**
 * `listReauthMarks` in SQL: one statement reading the key, the owner and the mark column of the marked rows
 * (non-null, non-empty) of up to `limit` keys after `page.after`, in key order, never a token column. A page
 * never splits a key; each (key, owner, mark) once. @internal
 */
export async function sqlListReauthMarks(
  run: SqlRunner,
  tables: SqlTables,
  page: ReauthMarkPage,
): Promise<ReauthMark[]> {
  // A checked integer, written into the text: drivers that prepare statements differ on `LIMIT ?`.
  const limit = checkMarkLimit(page.limit)
  const { database } = tables
  const mark = tables.column(checkMarkColumn(page.column))
  const provider = tables.column("provider")
  const providerAccountId = tables.column("providerAccountId")
  const marked = (at: string) => `${at}${mark} IS NOT NULL AND ${at}${mark} <> ''`
  const sql = new StatementBuilder(database)
  const conditions = [marked("")]
  if (page.provider !== undefined) conditions.push(`${provider} = ${sql.param(page.provider)}`)
  if (page.after) conditions.push(keyAfter(tables, sql, page.after))
  const as = (column: string, field: string) => `a.${column} AS ${database.quote(field)}`
  const rows = await on(
    run,
    tables,
    "accounts",
  )(
    `SELECT ${as(tables.column("userId"), "userId")}, ${as(provider, "provider")}, ` +
      `${as(providerAccountId, "providerAccountId")}, ${as(mark, "reason")} FROM ${tables.accounts} a JOIN (` +
      database.limitRows(
        `SELECT DISTINCT ${provider}, ${providerAccountId} FROM ${tables.accounts} ` +
          `WHERE ${conditions.join(" AND ")} ORDER BY ${provider}, ${providerAccountId}`,
        limit,
      ) +
      `) page USING (${provider}, ${providerAccountId}) WHERE ${marked("a.")} ` +
      `ORDER BY a.${provider}, a.${providerAccountId}`,
    sql.values,
  )
  return uniqueMarks(
    rows.map((row) => ({
      userId: String(row.userId),
      provider: String(row.provider),
      providerAccountId: String(row.providerAccountId),
      reason: String(row.reason),
    })),
  )
}
