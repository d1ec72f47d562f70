/**
 * PostgreSQL: `$n` parameters, double-quoted identifiers, and a transaction-scoped advisory lock on the
 * hashed key. Transaction-scoped, not session-scoped, because it must end with the transaction on every
 * path (also behind PgBouncer in transaction mode, Supabase or Neon, where a session lock would stay on a
 * pooled server connection); and advisory, because it locks a key that may have no row yet and schemas
 * that have no unique key on it. @internal
 */
import type { AccountKey, HeldLease } from "../store.js"
import {
  assignmentsOf,
  unchangedCondition,
  driverCodes,
  driverMessages,
  StatementBuilder,
  type DatabaseErrorKind,
  type LeaseAccounts,
  type LeaseSql,
  type LockTarget,
  type OwnTokensStatement,
  type SqlDatabase,
  type SqlStatement,
} from "./sql-database.js"

/**
 * The 64-bit advisory-lock key SQL every PostgreSQL store uses, so that stores of different ORMs on one
 * database still exclude each other. `$1` is the provider, `$2` the providerAccountId. The prefix keeps
 * our keys apart from advisory locks the application takes for its own reasons.
 */
export const ADVISORY_LOCK_KEY_SQL = advisoryLockKeySql("$1", "$2")

/** The advisory-lock key of ADVISORY_LOCK_KEY_SQL, with the key's values at the given placeholders. */
function advisoryLockKeySql(provider: string, providerAccountId: string): string {
  return `hashtextextended('authjs-adapter-refresh:' || ${provider}::text || chr(31) || ${providerAccountId}::text, 0)`
}

/**
 * PostgreSQL's lease statements. The time is `clock_timestamp()`, the real time when it is read, not
 * `now()`, the transaction's start: a take that waited for a row lock would otherwise judge, and set, its
 * lease from before the wait. `$1`, `$2` are the key in every statement. @internal
 */
export const postgresLeases: LeaseSql = {
  returning: true,
  take(table: string, key: AccountKey, holder: string, durationMs: number): SqlStatement {
    // The try-lock is the lock-mode account lock, asked without waiting: while a locked transaction (a sign-in,
    // a lock-mode refresh) holds the key, the take inserts nothing and is busy. Held only by this statement.
    return {
      text:
        `INSERT INTO ${table} AS l (provider, provider_account_id, fence, holder, lease_until) ` +
        `SELECT $1::text, $2::text, 1, $3::text, ${LEASE_END} ` +
        `WHERE pg_try_advisory_xact_lock(${ADVISORY_LOCK_KEY_SQL}) ` +
        `ON CONFLICT (provider, provider_account_id) DO UPDATE SET fence = l.fence + 1, ` +
        `holder = EXCLUDED.holder, lease_until = EXCLUDED.lease_until ` +
        `WHERE l.lease_until IS NULL OR l.lease_until <= clock_timestamp() ` +
        `RETURNING ${leaseRow("l", "true")}`,
      values: [key.provider, key.providerAccountId, holder, durationMs],
    }
  },
  renew(table: string, key: AccountKey, lease: HeldLease, durationMs: number): SqlStatement {
    return {
      text:
        `UPDATE ${table} AS l SET lease_until = ${LEASE_END} ` +
        `WHERE ${LEASE_KEY} AND l.fence = $5::bigint AND l.holder = $3 AND l.lease_until > clock_timestamp() ` +
        `RETURNING ${leaseRow("l", "true")}`,
      values: [key.provider, key.providerAccountId, lease.holder, durationMs, lease.fence],
    }
  },
  release(table: string, key: AccountKey, lease: HeldLease): SqlStatement {
    return {
      text: `UPDATE ${table} AS l SET lease_until = NULL WHERE ${LEASE_KEY} AND l.fence = $3::bigint AND l.holder = $4`,
      values: [key.provider, key.providerAccountId, lease.fence, lease.holder],
    }
  },
  releasingAfter(write: SqlStatement, table: string, key: AccountKey, lease: HeldLease): SqlStatement {
    // RELEASE itself, its parameters numbered after the write's, made conditional on the write's rows. Data-
    // modifying CTEs run to completion whether or not the outer SELECT reads them, in the write's transaction.
    const release = postgresLeases.release(table, key, lease)
    const shift = write.values.length
    const releaseText = release.text.replace(/\$(\d+)/g, (_, position: string) => `$${Number(position) + shift}`)
    return {
      text:
        `WITH written AS (${write.text}), freed AS (${releaseText} AND EXISTS (SELECT 1 FROM written)) ` +
        `SELECT * FROM written`,
      values: [...write.values, ...release.values],
    }
  },
  state(table: string, key: AccountKey, holder: string): SqlStatement {
    return {
      text: `SELECT ${leaseRow("l", "l.holder = $3")} FROM ${table} AS l WHERE ${LEASE_KEY}`,
      values: [key.provider, key.providerAccountId, holder],
    }
  },
  look(table: string, key: AccountKey, holder: string, accounts?: LeaseAccounts): SqlStatement {
    const join = accounts
      ? `LEFT JOIN ${accounts.table} AS a ON a.${accounts.provider} = $1 AND a.${accounts.providerAccountId} = $2 `
      : ""
    return {
      text:
        `SELECT ${accounts ? "a.*, " : ""}${leaseRow("l", "l.holder = $3")}, ` +
        `floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms ` +
        `FROM (SELECT 1) AS k LEFT JOIN ${table} AS l ON ${LEASE_KEY} ${join}`,
      values: [key.provider, key.providerAccountId, holder],
    }
  },
  lostRace: () => false,
}

/** The lease's end, `$4` ms from the real time now. */
const LEASE_END = "clock_timestamp() + $4::float8 * interval '1 millisecond'"
const LEASE_KEY = "l.provider = $1 AND l.provider_account_id = $2"

/** The columns every lease statement returns (LeaseSql), from the row aliased `alias`. */
function leaseRow(alias: string, mine: string): string {
  return (
    `${alias}.fence::text AS fence, ${mine} AS mine, ` +
    `floor(extract(epoch FROM (${alias}.lease_until - clock_timestamp())) * 1000)::bigint AS remaining_ms`
  )
}

/** Column names PostgreSQL reports missing are names we sent: plain identifiers, never values. */
const MISSING_COLUMN = /column "([A-Za-z_][A-Za-z0-9_]*)"/

/**
 * The one-statement sign-in on PostgreSQL (`ctid` and `FOR UPDATE ... SKIP LOCKED` are PostgreSQL's):
 *
 *     UPDATE accounts SET <tokens> WHERE ctid IN (SELECT ctid FROM accounts mine
 *       WHERE <key> AND userId = <owner> AND pg_try_advisory_xact_lock(<key>) AND NOT EXISTS (a row of the
 *       key owned by anyone else) FOR UPDATE OF mine SKIP LOCKED) RETURNING *
 *
 * The try-lock is the very lock every locked transaction takes (lockStatements), held until this statement
 * commits, so a refresh or a first link that holds it makes this match nothing, and none of them can start
 * while this runs; SKIP LOCKED passes over a row an app transaction holds. Under READ COMMITTED the row
 * lock re-reads the newest version, so a transaction that committed just before is overwritten only by
 * this, the later sign-in. It waits for nothing, so no error means "not written".
 */
const ownTokens: OwnTokensStatement = {
  returnsRows: true,
  statement(parts) {
    const sql = new StatementBuilder(postgres)
    const assignments = assignmentsOf(sql, parts)
    // Numbered parameters, each used more than once.
    const provider = sql.param(parts.key.provider)
    const providerAccountId = sql.param(parts.key.providerAccountId)
    const owner = sql.param(parts.owner)
    const { accounts, column } = parts
    const keyOf = (alias: string) =>
      `${alias}.${column("provider")} = ${provider} AND ${alias}.${column("providerAccountId")} = ${providerAccountId}`
    const ownedBy = (alias: string, comparison: "=" | "<>") =>
      `${postgres.asText(`${alias}.${column("userId")}`)} ${comparison} ${owner}`
    const tryLock = `pg_try_advisory_xact_lock(${advisoryLockKeySql(provider, providerAccountId)})`
    return sql.statement(
      `UPDATE ${accounts} SET ${assignments} WHERE ctid IN (` +
        `SELECT mine.ctid FROM ${accounts} mine WHERE ${keyOf("mine")} ` +
        `AND ${ownedBy("mine", "=")}${unchangedCondition(sql, parts, "IS NOT DISTINCT FROM", "mine")} AND ${tryLock} ` +
        `AND NOT EXISTS (SELECT 1 FROM ${accounts} other ` +
        `WHERE ${keyOf("other")} AND ${ownedBy("other", "<>")}) ` +
        `FOR UPDATE OF mine SKIP LOCKED) RETURNING *`,
    )
  },
  failure: () => "failed",
}

/** @internal */
export const postgres: SqlDatabase = {
  name: "postgres",
  quote: (identifier) => `"${identifier.replaceAll('"', '""')}"`,
  placeholder: (position) => `$${position}`,
  asText: (column) => `${column}::text`,
  returningAll: (statement) => `${statement} RETURNING *`,
  limitRows: (select, count) => `${select} LIMIT ${count}`,
  rowAfter: (columns, values) => `(${columns.join(", ")}) > (${values.join(", ")})`,
  lockKind: "advisory",
  lockRows: (select) => `${select} FOR UPDATE`,
  begin: ["BEGIN ISOLATION LEVEL READ COMMITTED"],

  lockStatements(key: AccountKey, _target: LockTarget, lockTimeoutMs: number | undefined) {
    const lock = `SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_KEY_SQL})`
    const values = [key.provider, key.providerAccountId]
    // The bound rides in the lock statement (one round trip, not two). set_config(..., true) is SET LOCAL:
    // it ends with the transaction, so nothing needs restoring. It is volatile, so PostgreSQL cannot pull
    // the subquery up: it runs first, and the lock's wait then starts under the new lock_timeout.
    const take: SqlStatement =
      lockTimeoutMs === undefined
        ? { text: lock, values }
        : {
            text: `${lock} FROM (SELECT set_config('lock_timeout', $3, true)) AS bound`,
            values: [...values, `${lockTimeoutMs}ms`],
          }
    return { take: [take], restore: [] }
  },

  ownTokens,

  classifyError(error: unknown): DatabaseErrorKind {
    const codes = driverCodes(error)
    if (codes.includes("42P01")) return { kind: "missing-table" }
    if (codes.includes("42703")) {
      const column = driverMessages(error)
        .map((message) => MISSING_COLUMN.exec(message)?.[1])
        .find(Boolean)
      return { kind: "missing-column", column }
    }
    // 55P03 lock_not_available: our lock_timeout expired while another transaction held the lock.
    if (codes.includes("55P03")) return { kind: "lock-timeout" }
    if (codes.includes("23505")) return { kind: "duplicate-key" }
    return { kind: "other" }
  },

  leases: postgresLeases,
}
