/**
 * MySQL and MariaDB (InnoDB): `?` parameters, backquoted identifiers, and a row lock on the key.
 *
 * Why a row lock (`SELECT ... FOR UPDATE` on the key, in READ COMMITTED) and not `GET_LOCK`: a named lock
 * belongs to the session, not the transaction, so it outlives COMMIT on a pooled connection and must be
 * released by a statement after it, which a client that runs transactions for us (Prisma) cannot send;
 * a row lock ends with the transaction on every path, like PostgreSQL's xact lock. What a row lock cannot
 * lock is a key with no row yet: there the schema's unique key on (provider, providerAccountId), which
 * every documented Auth.js MySQL schema has, makes the second of two concurrent first inserts wait for the
 * first and then fail with a duplicate-key error (1062), and the store runs its transaction once more,
 * when the locking read finds the winner's row and waits on it.
 *
 * The wait is bounded by `innodb_lock_wait_timeout` (whole seconds; error 1205). A per-call bound sets it
 * for the session and the `restore` statements put the session's own value back before the transaction
 * ends. @internal
 */
import type { AccountKey, HeldLease } from "../store.js"
import {
  StatementBuilder,
  driverCodes,
  driverMessages,
  type DatabaseErrorKind,
  type LeaseSql,
  type LockTarget,
  type SqlDatabase,
  type SqlStatement,
} from "./sql-database.js"

/** Column names MySQL reports unknown are names we sent: plain identifiers, never values. */
const UNKNOWN_COLUMN = /Unknown column '(?:[A-Za-z_][A-Za-z0-9_]*\.)?([A-Za-z_][A-Za-z0-9_]*)'/

/** The session variable that keeps the session's own lock wait bound while ours is set. */
const SAVED_WAIT = "@authjs_refresh_saved_lock_wait"

/**
 * The statements that bound the wait for a lock to `lockTimeoutMs` for this session (rounded up to whole
 * seconds, at least 1, since innodb_lock_wait_timeout counts seconds: never shorter than asked), and the
 * ones that put the session's own value back; none without a bound. @internal
 */
export function mysqlLockWaitBound(lockTimeoutMs: number | undefined): {
  take: SqlStatement[]
  restore: SqlStatement[]
} {
  if (lockTimeoutMs === undefined) return { take: [], restore: [] }
  const seconds = Math.max(1, Math.ceil(lockTimeoutMs / 1000))
  return {
    take: [
      {
        text: `SET ${SAVED_WAIT} = @@SESSION.innodb_lock_wait_timeout, SESSION innodb_lock_wait_timeout = ?`,
        values: [seconds],
      },
    ],
    restore: [{ text: `SET SESSION innodb_lock_wait_timeout = ${SAVED_WAIT}`, values: [] }],
  }
}

/** The database's time: UTC, since DATETIME has no zone and NOW() follows each session's time_zone. */
const LEASE_NOW = "UTC_TIMESTAMP(3)"
/** Whether the lease row being changed is free or has ended (read before `lease_until` is assigned). */
const LEASE_FREE = `(lease_until IS NULL OR lease_until <= ${LEASE_NOW})`
/** The holder compared byte for byte: the column's collation may ignore case and trailing spaces. */
const holderIs = (placeholder: string) => `CAST(holder AS BINARY) = CAST(${placeholder} AS BINARY)`

/**
 * MySQL's and MariaDB's lease statements. No `RETURNING` on UPDATE (and none at all on MySQL), and the
 * affected-rows count of an upsert depends on the client's CLIENT_FOUND_ROWS flag: so `take` and `renew`
 * return nothing and the caller reads `state` after them, which tells by the random holder whether the
 * lease is the caller's. The upsert's assignments run left to right, each seeing the columns assigned before
 * it (MariaDB: unless SIMULTANEOUS_ASSIGNMENT), so every condition reads `lease_until`, which is assigned
 * last: both orders give the same result. `UTC_TIMESTAMP(3)` is the statement's start, so a take that waited
 * for the row judges from before its wait: it may find busy a lease that ended during the wait, never the
 * other way round, and the lease it sets is shorter by the wait; `state` measures what is left. @internal
 */
export const mysqlLeases: LeaseSql = {
  returning: false,
  take(table: string, key: AccountKey, holder: string, durationMs: number): SqlStatement {
    const sql = new StatementBuilder(mysql)
    const values = `${sql.param(key.provider)}, ${sql.param(key.providerAccountId)}, 1, ${sql.param(holder)}`
    return sql.statement(
      `INSERT INTO ${table} (provider, provider_account_id, fence, holder, lease_until) ` +
        `VALUES (${values}, ${LEASE_NOW} + INTERVAL (${sql.param(durationMs)} * 1000) MICROSECOND) ` +
        `ON DUPLICATE KEY UPDATE fence = IF(${LEASE_FREE}, fence + 1, fence), ` +
        `holder = IF(${LEASE_FREE}, VALUES(holder), holder), ` +
        `lease_until = IF(${LEASE_FREE}, VALUES(lease_until), lease_until)`,
    )
  },
  renew(table: string, key: AccountKey, lease: HeldLease, durationMs: number): SqlStatement {
    const sql = new StatementBuilder(mysql)
    const until = `${LEASE_NOW} + INTERVAL (${sql.param(durationMs)} * 1000) MICROSECOND`
    return sql.statement(
      `UPDATE ${table} SET lease_until = ${until} WHERE ${leaseKey(sql, key)} ` +
        `AND fence = ${sql.param(lease.fence)} AND ${holderIs(sql.param(lease.holder))} AND lease_until > ${LEASE_NOW}`,
    )
  },
  release(table: string, key: AccountKey, lease: HeldLease): SqlStatement {
    const sql = new StatementBuilder(mysql)
    return sql.statement(
      `UPDATE ${table} SET lease_until = NULL WHERE ${leaseKey(sql, key)} ` +
        `AND fence = ${sql.param(lease.fence)} AND ${holderIs(sql.param(lease.holder))}`,
    )
  },
  state(table: string, key: AccountKey, holder: string): SqlStatement {
    const sql = new StatementBuilder(mysql)
    return sql.statement(
      `SELECT CAST(fence AS CHAR) AS fence, ${holderIs(sql.param(holder))} AS mine, ` +
        `TIMESTAMPDIFF(MICROSECOND, ${LEASE_NOW}, lease_until) DIV 1000 AS remaining_ms ` +
        `FROM ${table} WHERE ${leaseKey(sql, key)}`,
    )
  },
  // Concurrent upserts of one key can deadlock in InnoDB (each waits on the other's lock on the key); the
  // victim's statement is rolled back whole, the other one goes through.
  lostRace: (error) => driverCodes(error).some((code) => code === "1213" || code === "ER_LOCK_DEADLOCK"),
}

function leaseKey(sql: StatementBuilder, key: AccountKey): string {
  return `provider = ${sql.param(key.provider)} AND provider_account_id = ${sql.param(key.providerAccountId)}`
}

/** @internal */
export const mysql: SqlDatabase = {
  name: "mysql",
  quote: (identifier) => `\`${identifier.replaceAll("`", "``")}\``,
  placeholder: () => "?",
  asText: (column) => `CAST(${column} AS CHAR)`,
  // MariaDB 10.5+ has INSERT ... RETURNING, MySQL has not: statements never rely on it here.
  insertReturning: false,
  lockKind: "row",

  lockStatements(key: AccountKey, target: LockTarget, lockTimeoutMs: number | undefined) {
    const { take, restore } = mysqlLockWaitBound(lockTimeoutMs)
    take.push({
      text:
        `SELECT 1 AS \`locked\` FROM ${target.accounts} WHERE ` +
        `${target.provider} = ? AND ${target.providerAccountId} = ? FOR UPDATE`,
      values: [key.provider, key.providerAccountId],
    })
    return { take, restore }
  },

  classifyError(error: unknown): DatabaseErrorKind {
    const codes = driverCodes(error)
    if (codes.includes("1146") || codes.includes("ER_NO_SUCH_TABLE")) return { kind: "missing-table" }
    if (codes.includes("1054") || codes.includes("ER_BAD_FIELD_ERROR")) {
      const column = driverMessages(error)
        .map((message) => UNKNOWN_COLUMN.exec(message)?.[1])
        .find(Boolean)
      return { kind: "missing-column", column }
    }
    if (codes.includes("1205") || codes.includes("ER_LOCK_WAIT_TIMEOUT")) return { kind: "lock-timeout" }
    if (codes.includes("1062") || codes.includes("ER_DUP_ENTRY")) return { kind: "duplicate-key" }
    return { kind: "other" }
  },

  leases: mysqlLeases,
}
