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
  assignmentsOf,
  unchangedCondition,
  driverCodes,
  driverMessages,
  keyCondition,
  StatementBuilder,
  type DatabaseErrorKind,
  type LeaseAccounts,
  type LeaseSql,
  type LockTarget,
  type OwnTokensStatement,
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

/**
 * The one-statement sign-in on MariaDB: the account lock IS the key's row locks, so the statement takes
 * them itself, with a lock wait of 0 for this statement only (`SET STATEMENT innodb_lock_wait_timeout = 0
 * FOR`): a row a locked transaction (or the app) holds fails it at once with 1205 (or a deadlock, 1213),
 * and nothing is written. The rows of other owners are read with `FOR UPDATE` too, in a derived table
 * (MySQL's error 1093 forbids the target table in a plain subquery), so a row another transaction is
 * inserting or re-pointing fails it the same way. No RETURNING (MariaDB has none for UPDATE): the store
 * counts the rows. MySQL has no SET STATEMENT: its parse error (1064, nothing run) turns the statement off
 * for the store, once, and the locked path does it all.
 */
const ownTokens: OwnTokensStatement = {
  returnsRows: false,
  statement(parts) {
    // `?` parameters are positional: values are added in the order the text uses them.
    const sql = new StatementBuilder(mysql)
    const { accounts, column } = parts
    const assignments = assignmentsOf(sql, parts)
    const mine =
      `${keyCondition(sql, parts)} AND ${mysql.asText(column("userId"))} = ${sql.param(parts.owner)}` +
      unchangedCondition(sql, parts, "<=>")
    const keyRows =
      `SELECT ${column("userId")} AS ${mysql.quote("owner")} ` +
      `FROM ${accounts} WHERE ${keyCondition(sql, parts)} FOR UPDATE`
    return sql.statement(
      `SET STATEMENT innodb_lock_wait_timeout = 0 FOR UPDATE ` +
        `${accounts} SET ${assignments} WHERE ${mine} ` +
        `AND NOT EXISTS (SELECT 1 FROM (${keyRows}) ${mysql.quote("other")} ` +
        `WHERE ${mysql.asText(`${mysql.quote("other")}.${mysql.quote("owner")}`)} ` +
        `<> ${sql.param(parts.owner)})`,
    )
  },
  failure(error) {
    const codes = driverCodes(error)
    if (mysql.classifyError(error).kind === "lock-timeout") return "not-written"
    if (codes.includes("1213") || codes.includes("ER_LOCK_DEADLOCK")) return "not-written"
    if (codes.includes("1064") || codes.includes("ER_PARSE_ERROR")) return "unsupported"
    return "failed"
  },
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
  look(table: string, key: AccountKey, holder: string, accounts?: LeaseAccounts): SqlStatement {
    const sql = new StatementBuilder(mysql)
    const lease =
      `CAST(l.fence AS CHAR) AS fence, CAST(l.holder AS BINARY) = CAST(${sql.param(holder)} AS BINARY) AS mine, ` +
      `TIMESTAMPDIFF(MICROSECOND, ${LEASE_NOW}, l.lease_until) DIV 1000 AS remaining_ms, ` +
      `TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', ${LEASE_NOW}) DIV 1000 AS now_ms`
    const onLease =
      `l.provider = ${sql.param(key.provider)} ` + `AND l.provider_account_id = ${sql.param(key.providerAccountId)}`
    const join = accounts
      ? ` LEFT JOIN ${accounts.table} AS a ON a.${accounts.provider} = ${sql.param(key.provider)} ` +
        `AND a.${accounts.providerAccountId} = ${sql.param(key.providerAccountId)}`
      : ""
    // The select list's parameter comes first in the text: its value was added first.
    const from = `FROM (SELECT 1 AS one) AS k LEFT JOIN ${table} AS l ON ${onLease}${join}`
    return sql.statement(`SELECT ${accounts ? "a.*, " : ""}${lease} ${from}`)
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
  // MariaDB 10.5+ has INSERT ... RETURNING, MySQL has not: statements never rely on it here (no returningAll).
  limitRows: (select, count) => `${select} LIMIT ${count}`,
  rowAfter: (columns, values) => `(${columns.join(", ")}) > (${values.join(", ")})`,
  lockKind: "row",
  lockRows: (select) => `${select} FOR UPDATE`,
  // The level applies to the next transaction of the session only (what Kysely and Drizzle send too).
  begin: ["SET TRANSACTION ISOLATION LEVEL READ COMMITTED", "START TRANSACTION"],
  ownTokens,

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
