/**
 * SQLite: `?` parameters, double-quoted identifiers, and the database file's single write lock.
 *
 * SQLite has one writer per database file, so the account lock is that: the transaction begins as a
 * write transaction (`BEGIN IMMEDIATE`) and waits up to the connection's busy timeout for it. It must be
 * taken up front: a deferred transaction that reads first and writes later fails with SQLITE_BUSY at its
 * first write, without waiting, when another connection wrote meanwhile. The cost, documented: while a
 * refresh request runs under the lock, other writers to the same file wait (up to their busy timeout).
 *
 * A client that begins transactions itself with a plain (deferred) BEGIN (Prisma) takes the same lock
 * with a first statement that writes, even one that matches no row (`UPDATE ... WHERE` nothing): SQLite
 * starts the write transaction when such a statement starts, not when it changes a row, and waits for it
 * up to the busy timeout. A read, or an update a client turns into a read (Prisma's `updateMany` with
 * empty `data`), takes only the read lock. Checked with two connections on one file, rollback journal and
 * WAL: while one transaction's first statement was such a write, the other connection's `BEGIN IMMEDIATE`
 * waited its busy timeout and failed with SQLITE_BUSY; after a first read it did not wait.
 * @internal
 */
import type { AccountKey, HeldLease } from "../store.js"
import {
  assignmentsOf,
  unchangedCondition,
  driverCodes,
  driverMessages,
  keyCondition,
  StatementBuilder,
  type DatabaseErrorKind,
  type LeaseAccounts,
  type LeaseSql,
  type OwnTokensStatement,
  type SqlDatabase,
  type SqlStatement,
} from "./sql-database.js"

/** Names SQLite reports missing are names we sent: plain identifiers, never values. */
const NO_SUCH_TABLE = /no such table: (?:[A-Za-z_][A-Za-z0-9_]*\.)?([A-Za-z_][A-Za-z0-9_]*)/
const NO_SUCH_COLUMN = /(?:no such column: (?:[A-Za-z_][A-Za-z0-9_]*\.)?|has no column named )([A-Za-z_][A-Za-z0-9_]*)/

/** The statement that begins an account transaction on SQLite. @internal */
export const SQLITE_BEGIN_LOCKED = "BEGIN IMMEDIATE"

/**
 * A statement that takes the file's write lock inside a deferred transaction and changes nothing: a write
 * that matches no row (see above). For clients whose BEGIN IMMEDIATE cannot be asked again safely
 * (libsql: stores/drizzle.ts); `table` and `column` are quoted identifiers, never values. @internal
 */
export function sqliteNoOpWrite(table: string, column: string): string {
  return `UPDATE ${table} SET ${column} = ${column} WHERE 0`
}

/** Reads the connection's busy timeout (one row, one column, in ms). @internal */
export const SQLITE_READ_BUSY_TIMEOUT = "PRAGMA busy_timeout"

/**
 * The busy timeout in the row `SQLITE_READ_BUSY_TIMEOUT` returns; undefined when it is not a usable number. @internal
 */
export function busyTimeoutOf(row: Record<string, unknown> | undefined): number | undefined {
  const value = Number(row === undefined ? Number.NaN : Object.values(row)[0])
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined
}

/** Sets the connection's busy timeout; PRAGMA takes no parameters, so `ms` is checked to be an integer. @internal */
export function sqliteBusyTimeout(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0)
    throw new RangeError(`busy timeout must be a non-negative integer of ms, not ${ms}`)
  return `PRAGMA busy_timeout = ${ms}`
}

/**
 * The one-statement sign-in on SQLite: an UPDATE starts by taking the file's write lock, the lock every
 * locked transaction holds (BEGIN IMMEDIATE), so the whole statement runs under it; a held lock fails it
 * with SQLITE_BUSY (at once on a connection with busy timeout 0, else after it), and nothing is written.
 * RETURNING * (3.35+).
 */
const ownTokens: OwnTokensStatement = {
  returnsRows: true,
  statement(parts) {
    const sql = new StatementBuilder(sqlite)
    const { accounts, column } = parts
    const assignments = assignmentsOf(sql, parts)
    const other = sqlite.quote("other")
    return sql.statement(
      `UPDATE ${accounts} SET ${assignments} WHERE ${keyCondition(sql, parts)} ` +
        `AND ${sqlite.asText(column("userId"))} = ${sql.param(parts.owner)}` +
        `${unchangedCondition(sql, parts, "IS")} ` +
        `AND NOT EXISTS (SELECT 1 FROM ${accounts} AS ${other} WHERE ${keyCondition(sql, parts, other)} AND ` +
        `${sqlite.asText(`${other}.${column("userId")}`)} <> ${sql.param(parts.owner)}) RETURNING *`,
    )
  },
  failure: (error) => (sqlite.classifyError(error).kind === "lock-timeout" ? "not-written" : "failed"),
}

/**
 * The file's time in integer epoch ms. SQLite keeps 'now' the same for a whole statement, and every process
 * that opens the file reads one host clock.
 */
const LEASE_NOW = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
const LEASE_ROW = `CAST(fence AS TEXT) AS fence, 1 AS mine, lease_until - ${LEASE_NOW} AS remaining_ms`
const LEASE_KEY = "provider = ? AND provider_account_id = ?"

/**
 * SQLite's lease statements (3.35+ for `RETURNING`): `lease_until` is integer epoch ms. Each statement takes
 * the file's write lock for itself, waiting up to the connection's busy timeout. Parameters are positional:
 * the values are in the order the text uses them. @internal
 */
export const sqliteLeases: LeaseSql = {
  returning: true,
  take(table: string, key: AccountKey, holder: string, durationMs: number): SqlStatement {
    return {
      text:
        `INSERT INTO ${table} (provider, provider_account_id, fence, holder, lease_until) ` +
        `VALUES (?, ?, 1, ?, ${LEASE_NOW} + CAST(? AS INTEGER)) ` +
        `ON CONFLICT (provider, provider_account_id) DO UPDATE SET fence = fence + 1, ` +
        `holder = excluded.holder, lease_until = excluded.lease_until ` +
        `WHERE lease_until IS NULL OR lease_until <= ${LEASE_NOW} RETURNING ${LEASE_ROW}`,
      values: [key.provider, key.providerAccountId, holder, durationMs],
    }
  },
  renew(table: string, key: AccountKey, lease: HeldLease, durationMs: number): SqlStatement {
    return {
      text:
        `UPDATE ${table} SET lease_until = ${LEASE_NOW} + CAST(? AS INTEGER) WHERE ${LEASE_KEY} ` +
        `AND fence = CAST(? AS INTEGER) AND holder = ? AND lease_until > ${LEASE_NOW} RETURNING ${LEASE_ROW}`,
      values: [durationMs, key.provider, key.providerAccountId, lease.fence, lease.holder],
    }
  },
  release(table: string, key: AccountKey, lease: HeldLease): SqlStatement {
    return {
      text: `UPDATE ${table} SET lease_until = NULL WHERE ${LEASE_KEY} AND fence = CAST(? AS INTEGER) AND holder = ?`,
      values: [key.provider, key.providerAccountId, lease.fence, lease.holder],
    }
  },
  state(table: string, key: AccountKey, holder: string): SqlStatement {
    return {
      text:
        `SELECT CAST(fence AS TEXT) AS fence, holder = ? AS mine, lease_until - ${LEASE_NOW} AS remaining_ms ` +
        `FROM ${table} WHERE ${LEASE_KEY}`,
      values: [holder, key.provider, key.providerAccountId],
    }
  },
  look(table: string, key: AccountKey, holder: string, accounts?: LeaseAccounts): SqlStatement {
    const join = accounts
      ? ` LEFT JOIN ${accounts.table} AS a ON a.${accounts.provider} = ? AND a.${accounts.providerAccountId} = ?`
      : ""
    return {
      text:
        `SELECT ${accounts ? "a.*, " : ""}CAST(l.fence AS TEXT) AS fence, l.holder = ? AS mine, ` +
        `l.lease_until - ${LEASE_NOW} AS remaining_ms, ${LEASE_NOW} AS now_ms ` +
        `FROM (SELECT 1) AS k LEFT JOIN ${table} AS l ON l.provider = ? AND l.provider_account_id = ?${join}`,
      values: [holder, key.provider, key.providerAccountId, ...(accounts ? [key.provider, key.providerAccountId] : [])],
    }
  },
  lostRace: () => false,
}

/** @internal */
export const sqlite: SqlDatabase = {
  name: "sqlite",
  quote: (identifier) => `"${identifier.replaceAll('"', '""')}"`,
  placeholder: () => "?",
  asText: (column) => `CAST(${column} AS TEXT)`,
  returningAll: (statement) => `${statement} RETURNING *`,
  limitRows: (select, count) => `${select} LIMIT ${count}`,
  rowAfter: (columns, values) => `(${columns.join(", ")}) > (${values.join(", ")})`,
  lockKind: "database",
  timestamp: (date) => date.toISOString(),
  begin: [SQLITE_BEGIN_LOCKED],

  // BEGIN IMMEDIATE is the lock; the wait bound is the connection's busy timeout, which the client sets.
  lockStatements: () => ({ take: [], restore: [] }),

  ownTokens,

  classifyError(error: unknown): DatabaseErrorKind {
    const codes = driverCodes(error)
    const messages = driverMessages(error)
    if (codes.some((code) => code.startsWith("SQLITE_BUSY"))) return { kind: "lock-timeout" }
    if (
      codes.some(
        (code) => code.startsWith("SQLITE_CONSTRAINT_PRIMARYKEY") || code.startsWith("SQLITE_CONSTRAINT_UNIQUE"),
      )
    )
      return { kind: "duplicate-key" }
    if (messages.some((message) => NO_SUCH_TABLE.test(message))) return { kind: "missing-table" }
    const column = messages.map((message) => NO_SUCH_COLUMN.exec(message)?.[1]).find(Boolean)
    if (column !== undefined) return { kind: "missing-column", column }
    return { kind: "other" }
  },

  leases: sqliteLeases,
}
