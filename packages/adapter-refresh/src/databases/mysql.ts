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
import type { AccountKey } from "../store.js"
import {
  driverCodes,
  driverMessages,
  type DatabaseErrorKind,
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
}
