/**
 * Reference store WITHOUT transactions, for the proof that `leaseLockedAccountStore` fits stores like Redis,
 * DynamoDB or an HTTP API: PostgreSQL used only through single autocommit statements (`pool.query`, one
 * statement each: no BEGIN, no advisory lock, no session state), compare-and-set included. It runs on the
 * @auth/pg-adapter schema plus two lease tables of the same shape: `authjs_refresh_lease` (lease mode's
 * refresh leases) and `authjs_lock_lease` (the per-key lock's leases, apart so a refresh never waits for
 * itself). Every write is fenced IN ITS STATEMENT: a CTE locks the lock-lease row `FOR SHARE` only while
 * it is held by that fence and holder and `lease_until > clock_timestamp()`, so a take (which updates that
 * row) is ordered after the write, and a write after the lease's end changes nothing.
 *
 * Not a library entry: PostgreSQL users have `pgAccountStore` (one transaction, nothing to poll). This store
 * exists to prove the transaction-less contract across processes with the kit, and as a worked example for
 * a Redis or DynamoDB store (each statement below is one script or one conditional write there).
 */
import {
  leaseLockedAccountStore,
  type AccountKey,
  type AccountLeases,
  type AccountLockLeases,
  type AccountPatch,
  type AccountRow,
  type AccountRowScope,
  type AccountStore,
  type FencedWrite,
  type HeldLease,
  type LeaseLockedStoreParts,
  type LockLeaseTake,
  type StoredAccountRow,
  type UserId,
} from "authjs-adapter-refresh"

/** The part of a node-postgres Pool this store uses: one autocommit statement per call. */
export interface AutocommitPool {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>
}

/**
 * Named fault controls (tests only), each removing one guarantee so a test can show it matters:
 * - "unfenced-writes": writes skip the lock-lease condition (a write after the lease's end goes through);
 * - "always-taken": the refresh lease's take answers "taken" whoever holds it (after its real take and a
 *   2 s pause, so every storm process reads the unrotated rows before any sends);
 * - "no-lock": the lock lease's take answers "taken" without asking, and writes are unfenced (no exclusion).
 */
export type AutocommitFault = "unfenced-writes" | "always-taken" | "no-lock"

export interface AutocommitPgStoreOptions {
  /** Length of the per-key lock lease, ms (default: the composer's 5,000). */
  lockLeaseMs?: number
  /** Wait for the lock lease, ms (default: the composer's 10,000). */
  lockTimeoutMs?: number
  /** A named fault control; never in production. */
  fault?: AutocommitFault
}

/** The lock-lease table; the refresh-lease one is the library's documented `authjs_refresh_lease`. */
export const LOCK_LEASE_TABLE = "authjs_lock_lease"
export const REFRESH_LEASE_TABLE = "authjs_refresh_lease"

/** The lock-lease table's SQL (the refresh-lease table has the same shape, from the README's migration). */
export const LOCK_LEASE_TABLE_SQL = `
CREATE TABLE IF NOT EXISTS ${LOCK_LEASE_TABLE} (
  provider            TEXT NOT NULL,
  provider_account_id TEXT NOT NULL,
  fence               BIGINT NOT NULL,
  holder              TEXT NOT NULL,
  lease_until         TIMESTAMPTZ(3),
  PRIMARY KEY (provider, provider_account_id)
);`

const KEY_COLUMNS = new Set(["id", "userId", "type", "provider", "providerAccountId"])
const ident = (column: string): string => {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(column)) throw new TypeError(`autocommit-pg: unusable column name`)
  return `"${column}"`
}
const remainingSql = (alias: string) =>
  `GREATEST(0, extract(epoch FROM (${alias}.lease_until - clock_timestamp())) * 1000)::float8`

function storedRow(row: Record<string, unknown>): StoredAccountRow {
  const tokens: Record<string, unknown> = {}
  for (const [column, value] of Object.entries(row)) if (!KEY_COLUMNS.has(column)) tokens[column] = value
  return {
    provider: String(row.provider),
    providerAccountId: String(row.providerAccountId),
    userId: String(row.userId),
    type: String(row.type),
    tokens,
  }
}

/** JSON a record of the accounts table can be populated from (bigint ids as text). */
const asJson = (values: Record<string, unknown>): string =>
  JSON.stringify(values, (_key, value: unknown) => (typeof value === "bigint" ? String(value) : value))

/** A lease's SQL: take (one upsert), renew, release, each one statement judged by clock_timestamp(). */
function leaseSql(pool: AutocommitPool, table: string) {
  const where = `provider = $1 AND provider_account_id = $2`
  return {
    /** The take: taken with its fence and what is left, or no row (busy). */
    async take(
      key: AccountKey,
      holder: string,
      durationMs: number,
    ): Promise<{ fence: string; remainingMs: number } | undefined> {
      const { rows } = await pool.query(
        `INSERT INTO ${table} AS l (provider, provider_account_id, fence, holder, lease_until)
         VALUES ($1, $2, 1, $3, clock_timestamp() + $4::int * interval '1 millisecond')
         ON CONFLICT (provider, provider_account_id) DO UPDATE
           SET fence = l.fence + 1, holder = EXCLUDED.holder, lease_until = EXCLUDED.lease_until
           WHERE l.lease_until IS NULL OR l.lease_until <= clock_timestamp()
         RETURNING l.fence::text AS fence, ${remainingSql("l")} AS remaining_ms`,
        [key.provider, key.providerAccountId, holder, durationMs],
      )
      const row = rows[0]
      return row && { fence: String(row.fence), remainingMs: Number(row.remaining_ms) }
    },
    async remaining(key: AccountKey): Promise<number | null> {
      const { rows } = await pool.query(`SELECT ${remainingSql("l")} AS remaining_ms FROM ${table} l WHERE ${where}`, [
        key.provider,
        key.providerAccountId,
      ])
      return rows[0] ? Number(rows[0].remaining_ms) : null
    },
    async renew(key: AccountKey, lease: HeldLease, durationMs: number): Promise<{ remainingMs: number } | null> {
      const { rows } = await pool.query(
        `UPDATE ${table} l SET lease_until = clock_timestamp() + $5::int * interval '1 millisecond'
         WHERE ${where} AND fence = $3::bigint AND holder = $4 AND lease_until > clock_timestamp()
         RETURNING ${remainingSql("l")} AS remaining_ms`,
        [key.provider, key.providerAccountId, lease.fence, lease.holder, durationMs],
      )
      return rows[0] ? { remainingMs: Math.floor(Number(rows[0].remaining_ms)) } : null
    },
    async release(key: AccountKey, lease: HeldLease): Promise<void> {
      await pool.query(`UPDATE ${table} SET lease_until = NULL WHERE ${where} AND fence = $3::bigint AND holder = $4`, [
        key.provider,
        key.providerAccountId,
        lease.fence,
        lease.holder,
      ])
    },
  }
}

const checkTake = (holder: string, durationMs: number): void => {
  if (typeof holder !== "string" || holder.length === 0 || holder.length > 64)
    throw new RangeError("a lease's holder must be a string of 1 to 64 characters")
  if (!Number.isSafeInteger(durationMs) || durationMs <= 0)
    throw new RangeError("a lease's duration must be a positive integer of ms")
}

/** The parts of `leaseLockedAccountStore` over single autocommit statements. */
export function autocommitPgParts(pool: AutocommitPool, options: AutocommitPgStoreOptions = {}): LeaseLockedStoreParts {
  const lock = leaseSql(pool, LOCK_LEASE_TABLE)
  const refresh = leaseSql(pool, REFRESH_LEASE_TABLE)
  const unfenced = options.fault === "unfenced-writes" || options.fault === "no-lock"

  const locks: AccountLockLeases = {
    async take(key, holder, durationMs, takeOptions): Promise<LockLeaseTake> {
      checkTake(holder, durationMs)
      if (takeOptions?.signal?.aborted) throw new Error("autocommit-pg: the caller stopped waiting")
      if (options.fault === "no-lock") return { taken: true, lease: { fence: "0", holder }, remainingMs: durationMs }
      const sent = performance.now()
      const took = await lock.take(key, holder, durationMs)
      const spent = performance.now() - sent
      if (took)
        return {
          taken: true,
          lease: { fence: took.fence, holder },
          remainingMs: Math.max(0, Math.floor(took.remainingMs - spent)),
        }
      const left = await lock.remaining(key)
      return { taken: false, remainingMs: left === null ? null : Math.max(0, Math.floor(left)) }
    },
    release: (key, lease) => lock.release(key, lease),
  }

  const leases: AccountLeases = {
    async take(key, holder, durationMs, takeOptions) {
      checkTake(holder, durationMs)
      if (takeOptions?.signal?.aborted) throw new Error("autocommit-pg: the caller stopped waiting")
      const sent = performance.now()
      const took = await refresh.take(key, holder, durationMs)
      // A second statement, after the take committed: the key's rows and the store's clock.
      const { rows } = await pool.query(
        `SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS "__now_ms",
                ${remainingSql("l")} AS "__remaining_ms", a.*
         FROM (SELECT 1) one
         LEFT JOIN ${REFRESH_LEASE_TABLE} l ON l.provider = $1 AND l.provider_account_id = $2
         LEFT JOIN accounts a ON a.provider = $1 AND a."providerAccountId" = $2
         ORDER BY a.id`,
        [key.provider, key.providerAccountId],
      )
      const spent = performance.now() - sent
      const nowMs = Number(rows[0]?.__now_ms)
      const accountRows = rows
        .filter((row) => row.provider !== null && row.provider !== undefined)
        .map(({ __now_ms: _n, __remaining_ms: _r, ...row }) => storedRow(row))
      if (options.fault === "always-taken") {
        await new Promise((resolve) => setTimeout(resolve, 2_000))
        return { taken: true, lease: { fence: "0", holder }, remainingMs: durationMs, rows: accountRows, nowMs }
      }
      if (took)
        return {
          taken: true,
          lease: { fence: took.fence, holder },
          remainingMs: Math.max(0, Math.floor(took.remainingMs - spent)),
          rows: accountRows,
          nowMs,
        }
      const left = rows[0]?.__remaining_ms
      const remainingMs = left === null || left === undefined ? null : Math.max(0, Math.floor(Number(left)))
      return { taken: false, remainingMs, rows: accountRows, nowMs }
    },
    renew: (key, lease, durationMs) => {
      checkTake(lease.holder, durationMs)
      return refresh.renew(key, lease, durationMs)
    },
    release: (key, lease) => refresh.release(key, lease),
  }

  /** The CTE that holds the lock-lease row while the statement writes: only this fence, holder, not ended. */
  const held = unfenced
    ? // The same parameters, typed, so the statement is the same but for the condition.
      `held AS (SELECT 1 WHERE num_nulls($1::text, $2::text, $3::bigint, $4::text) >= 0)`
    : `held AS (SELECT 1 FROM ${LOCK_LEASE_TABLE}
         WHERE provider = $1 AND provider_account_id = $2 AND fence = $3::bigint AND holder = $4
           AND lease_until > clock_timestamp() FOR SHARE)`

  return {
    name: "autocommit-pg",
    linkAccountResult: "inserted-row",
    locks,
    leases,
    async readAll(key) {
      const { rows } = await pool.query(
        `SELECT * FROM accounts WHERE provider = $1 AND "providerAccountId" = $2 ORDER BY id`,
        [key.provider, key.providerAccountId],
      )
      return rows.map(storedRow)
    },
    async userExists(userId: UserId) {
      const { rows } = await pool.query(`SELECT EXISTS (SELECT 1 FROM users WHERE id::text = $1) AS found`, [
        String(userId),
      ])
      return rows[0]?.found === true
    },
    async insert(row: AccountRow, lease: HeldLease): Promise<FencedWrite> {
      const values: Record<string, unknown> = {
        userId: row.userId,
        type: row.type,
        provider: row.provider,
        providerAccountId: row.providerAccountId,
        ...row.tokens,
      }
      const columns = Object.keys(values).map(ident)
      const { rows } = await pool.query(
        `WITH ${held},
         ins AS (INSERT INTO accounts (${columns.join(", ")})
                 SELECT ${columns.map((c) => `r.${c}`).join(", ")}
                 FROM held, json_populate_record(NULL::accounts, $5::json) r
                 RETURNING *)
         SELECT h.n AS "__held", ins.* FROM (SELECT count(*)::int AS n FROM held) h LEFT JOIN ins ON true`,
        [row.provider, row.providerAccountId, lease.fence, lease.holder, asJson(values)],
      )
      const { __held, ...inserted } = rows[0] ?? {}
      if (Number(__held) === 0) return { held: false }
      // As @auth/pg-adapter's linkAccount returns it: expires_at through parseInt.
      return { held: true, row: { ...inserted, expires_at: Number.parseInt(String(inserted.expires_at)) } }
    },
    async update(key: AccountKey, patch: AccountPatch, scope: AccountRowScope, lease: HeldLease): Promise<FencedWrite> {
      const values: Record<string, unknown> = {
        ...patch.tokens,
        ...(patch.userId !== undefined ? { userId: patch.userId } : {}),
      }
      const columns = Object.keys(values).map(ident)
      const args = [key.provider, key.providerAccountId, lease.fence, lease.holder]
      if (columns.length === 0) {
        const { rows } = await pool.query(`WITH ${held} SELECT count(*)::int AS "__held" FROM held`, args)
        return { held: Number(rows[0]?.__held) > 0 }
      }
      const { rows } = await pool.query(
        `WITH ${held},
         upd AS (UPDATE accounts a SET ${columns.map((c) => `${c} = r.${c}`).join(", ")}
                 FROM json_populate_record(NULL::accounts, $5::json) r
                 WHERE a.provider = $1 AND a."providerAccountId" = $2 AND a."userId"::text = $6
                   AND EXISTS (SELECT 1 FROM held)
                 RETURNING 1)
         SELECT (SELECT count(*) FROM held)::int AS "__held"`,
        [...args, asJson(values), scope.userId],
      )
      return { held: Number(rows[0]?.__held) > 0 }
    },
    async findAccounts(userId, provider, readOptions) {
      if (readOptions?.signal?.aborted) throw new Error("autocommit-pg: the caller stopped waiting")
      const { rows } = await pool.query(
        `SELECT DISTINCT ON (provider, "providerAccountId") * FROM accounts
         WHERE "userId"::text = $1 AND provider = $2 ORDER BY provider, "providerAccountId", id`,
        [userId, provider],
      )
      return rows.map(storedRow)
    },
    async scanAccounts(page) {
      const after = page.after
      const { rows } = await pool.query(
        `SELECT a.* FROM accounts a
         JOIN (SELECT DISTINCT provider, "providerAccountId" FROM accounts
               WHERE $1::text IS NULL OR (provider::text, "providerAccountId"::text) > ($1::text, $2::text)
               ORDER BY 1, 2 LIMIT $3) k
           ON k.provider = a.provider AND k."providerAccountId" = a."providerAccountId"
         ORDER BY a.provider, a."providerAccountId", a.id`,
        [after?.provider ?? null, after?.providerAccountId ?? null, page.limit],
      )
      return rows.map(storedRow)
    },
  }
}

/** The reference store: `leaseLockedAccountStore` over {@link autocommitPgParts}. */
export function autocommitPgStore(pool: AutocommitPool, options: AutocommitPgStoreOptions = {}): AccountStore {
  return leaseLockedAccountStore(autocommitPgParts(pool, options), {
    ...(options.lockLeaseMs !== undefined ? { lockLeaseMs: options.lockLeaseMs } : {}),
    ...(options.lockTimeoutMs !== undefined ? { lockTimeoutMs: options.lockTimeoutMs } : {}),
  })
}
