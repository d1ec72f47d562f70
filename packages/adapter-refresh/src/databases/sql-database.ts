/**
 * What differs by DATABASE, as one interface: how identifiers are quoted and parameters written, how a
 * row limit, a row-value comparison and RETURNING are written, how a transaction takes one account's lock,
 * the one-statement sign-in, and what its errors mean. Each database is one module here
 * (postgres.ts, mysql.ts, sqlite.ts) of pure functions: strings in, strings out, no I/O. What differs by
 * CLIENT (how a statement and a transaction run: a pg Pool, Kysely's executor, Drizzle's session, Prisma)
 * lives in stores/. Internal: not part of the package's exports.
 */
import type { AccountKey, HeldLease } from "../store.js"

/** One statement: text in the database's own parameter syntax, and its values in order. @internal */
export interface SqlStatement {
  text: string
  values: unknown[]
}

/**
 * How a transaction excludes every other transaction on one account key, in any process:
 * - "advisory": a lock taken by a statement inside the transaction and released by its end
 *   (PostgreSQL's `pg_advisory_xact_lock`); works whether or not the key has a row;
 * - "row": a locking read of the key's rows (`SELECT ... FOR UPDATE`), released by the transaction's
 *   end; a key with no row yet is excluded by the schema's unique key, whose duplicate-key error the
 *   store answers by running the transaction once more (MySQL/MariaDB);
 * - "database": the transaction starts as the database's single writer (SQLite's `BEGIN IMMEDIATE`).
 * @internal
 */
export type AccountLockKind = "advisory" | "row" | "database"

/** What a driver error means to a store. @internal */
export type DatabaseErrorKind =
  | { kind: "missing-table" }
  | { kind: "missing-column"; column: string | undefined }
  | { kind: "lock-timeout" }
  | { kind: "duplicate-key" }
  | { kind: "other" }

/** Table and column names of one account statement, already quoted. @internal */
export interface LockTarget {
  /** The accounts table, quoted. */
  accounts: string
  /** The provider and providerAccountId columns, quoted. */
  provider: string
  providerAccountId: string
}

/**
 * The one-statement sign-in's pieces (`AccountStore.updateOwnTokens`, statements.ts), as the shared SQL
 * hands them to a database: names already checked and quoted, values still values. @internal
 */
export interface OwnTokensParts {
  /** The accounts table, quoted. */
  accounts: string
  /** The quoted column of an accounts field (Auth.js name in). */
  column(field: string): string
  key: AccountKey
  /** The owner the rows must have, as text (ids are compared as text). */
  owner: string
  /** The token columns to write, quoted, each with its value; never empty. */
  assignments: readonly (readonly [column: string, value: unknown])[]
  /**
   * Columns, quoted, that must still hold exactly these values (null: no value) for the row to be written:
   * lease mode's compare-and-set write (`AccountStore.updateOwnTokensIfUnchanged`). Absent or empty: none.
   */
  unchanged?: readonly (readonly [column: string, value: unknown])[]
}

/**
 * How one database writes a sign-in's tokens in one statement that takes the key's lock itself without
 * waiting, and writes only when no row of the key belongs to another user. @internal
 */
export interface OwnTokensStatement {
  /** Whether the statement returns the rows it wrote (`RETURNING *`); else the store counts them. */
  readonly returnsRows: boolean
  statement(parts: OwnTokensParts): SqlStatement
  /**
   * What the statement's error means: "not-written" (a lock is held elsewhere: nothing was written, the
   * core takes the locked path), "unsupported" (this server lacks the statement: off for the store, once),
   * or "failed" (a real failure, rethrown).
   */
  failure(error: unknown): "not-written" | "unsupported" | "failed"
}

/** @internal */
export interface SqlDatabase {
  /** For people reading logs and tests; nothing branches on it (a new database adds no name here). */
  readonly name: string
  /**
   * Quotes a checked name as one identifier: a plain identifier, or a name taken whole from code (a Drizzle
   * table's), whose quote characters are doubled.
   */
  quote(identifier: string): string
  /** The text of the `position`-th parameter (1-based) of a statement. */
  placeholder(position: number): string
  /** `column` compared as text (ids may be integers; the interface speaks strings). */
  asText(column: string): string
  /**
   * `statement` (an INSERT or UPDATE) made to return every row it wrote (`RETURNING *`). Absent where an
   * INSERT cannot return its rows (MySQL).
   */
  returningAll?(statement: string): string
  /** `select` (a SELECT, ORDER BY included) cut to its first `count` rows; `count` is a checked integer. */
  limitRows(select: string, count: number): string
  /**
   * A condition true when the row of `columns` sorts after the row of `values` (placeholders, each used
   * once, in order), comparing column by column: for keyset paging.
   */
  rowAfter(columns: readonly string[], values: readonly string[]): string
  readonly lockKind: AccountLockKind
  /**
   * A SELECT that also locks the rows it reads until the transaction ends (`FOR UPDATE`); absent where the
   * account transaction's begin already excludes every other writer (SQLite's BEGIN IMMEDIATE).
   */
  lockRows?(select: string): string
  /**
   * How a timestamp column's value is bound (`SqlTableNames.timestampFields`). Default: the `Date` itself;
   * SQLite has no timestamp type, and its drivers bind no `Date`: ISO 8601 text, as Better Auth stores it.
   */
  timestamp?(date: Date): unknown
  /**
   * The statements that begin an account transaction on a held connection, in the isolation it needs (READ
   * COMMITTED where the database has levels: each statement after the lock sees what the last holder
   * committed; SQLite: BEGIN IMMEDIATE, the write lock up front).
   */
  readonly begin: readonly string[]
  /**
   * The statements that take the key's lock as the first statements of a transaction already begun
   * (empty for "database": the BEGIN itself is the lock), with the wait bound when one is given, and the
   * statements to run before the transaction ends that undo any session setting the first ones changed.
   */
  lockStatements(
    key: AccountKey,
    target: LockTarget,
    lockTimeoutMs: number | undefined,
  ): { take: SqlStatement[]; restore: SqlStatement[] }
  /**
   * The one-statement sign-in (`AccountStore.updateOwnTokens`); absent where the database has no such
   * statement (the core then always takes the locked path).
   */
  readonly ownTokens?: OwnTokensStatement
  /** What a driver error (or a Prisma error wrapping one) means. */
  classifyError(error: unknown): DatabaseErrorKind
  /** The statements of per-key leases (`AccountLeases`, sql-leases.ts) on this database. */
  readonly leases: LeaseSql
}

/**
 * The lease statements of one database, pure text: each one statement sent outside any transaction
 * (autocommit), every time judged by the database's own clock, never the caller's. `table` is the lease
 * table, already quoted; its columns are `provider`, `provider_account_id`, `fence`, `holder`, `lease_until`.
 * Rows a statement returns have three columns: `fence` (text), `mine` (whether `holder` is the caller's;
 * a boolean or 1/0) and `remaining_ms` (what is left of the lease in whole ms, negative once ended; null
 * when released). @internal
 */
export interface LeaseSql {
  /**
   * Whether `take` and `renew` return the lease's row when they took or renewed it, and no row otherwise
   * (`RETURNING`). When false (MySQL/MariaDB: no `RETURNING`, and an affected-rows count that depends on a
   * client flag), the caller learns the outcome from `state`, sent after them, by the random holder.
   */
  readonly returning: boolean
  /** Takes the lease when it is free or has ended: a new row with fence 1, or the fence raised by one. */
  take(table: string, key: AccountKey, holder: string, durationMs: number): SqlStatement
  /** Sets the lease's end to `durationMs` from now, only while `lease` holds it and it has not ended. */
  renew(table: string, key: AccountKey, lease: HeldLease, durationMs: number): SqlStatement
  /** Frees the lease (its end becomes null) only while `lease` holds it; the fence stays. */
  release(table: string, key: AccountKey, lease: HeldLease): SqlStatement
  /**
   * Optional: `write` (the compared one-statement write, returning its rows) and `release` in one statement,
   * the release made only when `write` wrote a row. Absent: the two are sent one after the other.
   */
  releasingAfter?(write: SqlStatement, table: string, key: AccountKey, lease: HeldLease): SqlStatement
  /** The key's lease row as it is now: its fence, whether `holder` holds it, and what is left. */
  state(table: string, key: AccountKey, holder: string): SqlStatement
  /**
   * In one statement (one snapshot): the key's lease as `state` gives it (null columns when there is no
   * lease row), the database's clock as `now_ms` (integer epoch ms), and, with `accounts`, every row of the
   * key in the accounts table (`a.*`, before the lease's columns). Always at least one row: without account
   * rows, one whose account columns are null. Sent after `take`, never inside it (design 2.3).
   */
  look(table: string, key: AccountKey, holder: string, accounts?: LeaseAccounts): SqlStatement
  /**
   * Whether a `take` failed because it lost a race inside the database and changed nothing (InnoDB's
   * deadlock between concurrent upserts of one key, 1213): another take of the key then went through.
   */
  lostRace(error: unknown): boolean
}

/** The accounts table as `LeaseSql.look` joins it: names already quoted. @internal */
export interface LeaseAccounts {
  table: string
  provider: string
  providerAccountId: string
}

/**
 * Builds a statement left to right, numbering parameters in the database's syntax: `?` parameters are
 * positional, so values must be added in the order their placeholders appear. @internal
 */
export class StatementBuilder {
  readonly values: unknown[] = []
  constructor(private readonly database: SqlDatabase) {}
  /** Adds a value and returns its placeholder. */
  param(value: unknown): string {
    this.values.push(value)
    return this.database.placeholder(this.values.length)
  }
  statement(text: string): SqlStatement {
    return { text, values: this.values }
  }
}

/**
 * `provider = ? AND providerAccountId = ?` for the key of `parts`, columns of the table aliased `alias`
 * when given; its two values are added to `sql` in that order. @internal
 */
export function keyCondition(sql: StatementBuilder, parts: OwnTokensParts, alias?: string): string {
  const at = alias === undefined ? "" : `${alias}.`
  return (
    `${at}${parts.column("provider")} = ${sql.param(parts.key.provider)} AND ` +
    `${at}${parts.column("providerAccountId")} = ${sql.param(parts.key.providerAccountId)}`
  )
}

/**
 * ` AND <column> <same> ?` for each of `parts.unchanged`, or "" when there are none; `same` is the database's
 * null-safe equality (`IS NOT DISTINCT FROM`, `<=>`, `IS`). Values are added to `sql` in order. @internal
 */
export function unchangedCondition(sql: StatementBuilder, parts: OwnTokensParts, same: string, alias?: string): string {
  const at = alias === undefined ? "" : `${alias}.`
  return (parts.unchanged ?? []).map(([column, value]) => ` AND ${at}${column} ${same} ${sql.param(value)}`).join("")
}

/** `column = ?, ...` of the token columns of `parts`, their values added to `sql` in order. @internal */
export function assignmentsOf(sql: StatementBuilder, parts: OwnTokensParts): string {
  return parts.assignments.map(([column, value]) => `${column} = ${sql.param(value)}`).join(", ")
}

/**
 * The codes a driver error carries, wherever the driver puts them: `code` (node-postgres SQLSTATE,
 * mysql2's "ER_..." name, better-sqlite3's "SQLITE_..."), `errno` (mysql2's number), and the original
 * code Prisma keeps under `meta.driverAdapterError.cause`. @internal
 */
export function driverCodes(error: unknown): string[] {
  const codes: string[] = []
  const add = (value: unknown) => {
    if (typeof value === "string" || typeof value === "number") codes.push(String(value))
  }
  if (typeof error !== "object" || error === null) return codes
  const record = error as { code?: unknown; errno?: unknown; rawCode?: unknown; meta?: unknown; cause?: unknown }
  add(record.code)
  add(record.errno)
  const meta = record.meta as
    { driverAdapterError?: { cause?: { originalCode?: unknown; code?: unknown; kind?: unknown } } } | undefined
  const cause = typeof meta === "object" && meta !== null ? meta.driverAdapterError?.cause : undefined
  if (cause) {
    add(cause.originalCode)
    add(cause.code)
  }
  return codes
}

/** The error's message and, for Prisma, its driver's message (column and table names are read from them). @internal */
export function driverMessages(error: unknown): string[] {
  if (typeof error !== "object" || error === null) return []
  const messages: string[] = []
  if (error instanceof Error) messages.push(error.message)
  const meta = (error as { meta?: { driverAdapterError?: { cause?: { originalMessage?: unknown } } } }).meta
  const original = meta?.driverAdapterError?.cause?.originalMessage
  if (typeof original === "string") messages.push(original)
  return messages
}
