/**
 * `AccountLeases` written once for every SQL database (databases/*: `SqlDatabase.leases`) and run through
 * whatever lends a store a connection for one or two statements (stores/*). Each operation is one
 * autocommit statement judged by the database's clock; `take` is followed on the same connection by one
 * read (`LeaseSql.look`: the lease's state, the database's clock and the key's account rows), `renew` on
 * MySQL/MariaDB by a read of the row by the random holder. Nothing is held between operations. Internal:
 * not part of the package's exports.
 *
 * Where a client has one connection for the store (Kysely and Prisma on SQLite, Drizzle's own better-sqlite3
 * connection), a lease operation waits for the store's transaction in progress to end: call none from inside
 * `withAccountLock`'s work, or it waits for itself.
 */
import { AbandonedWait } from "./bounded-wait.js"
import { driverCodes, type LeaseAccounts, type SqlDatabase, type SqlStatement } from "./databases/sql-database.js"
import { AccountSchemaError, AccountStoreError } from "./errors.js"
import { quoteTableName, schemaMismatch, type HeldConnection, type SqlTables, type TableName } from "./statements.js"
import { toStoredAccountRow } from "./store-support.js"
import type { AccountKey, AccountLeases, AccountReadOptions, HeldLease, LeaseTake, StoredAccountRow } from "./store.js"

/** The lease table's default name. @internal */
export const DEFAULT_LEASE_TABLE = "authjs_refresh_lease"

/** The README section with the lease table's migration, named in the error for a missing table. @internal */
export const LEASE_MIGRATION_SECTION = 'README, section "Lease mode: the migration"'

/** Where a store's leases live and how it runs their statements. @internal */
export interface SqlLeaseOptions {
  database: SqlDatabase
  /** The lease table as configured: "table" or "schema.table", or its parts. */
  table: string | TableName
  /** The store's name in errors, e.g. "pg". */
  store: string
  /** The option that names the table, e.g. `pgAccountStore(pool, { leaseTable })`. */
  option: string
  /** A connection held for one operation (one or two statements), given back after. */
  hold: () => Promise<HeldConnection>
  /**
   * Where `take` reads the key's rows: the store's accounts table, joined in the statement after the take;
   * or, for stores that do not know their table's SQL names (Prisma without a derivable table), the store's
   * own read of the key's rows, run after the connection is given back.
   */
  accounts: SqlTables | { readAll(key: AccountKey): Promise<StoredAccountRow[]> }
}

/** The columns `LeaseSql.look` adds to an account row. */
const LOOK_COLUMNS = new Set(["fence", "mine", "remaining_ms", "now_ms"])

/** One row of a lease statement (LeaseSql), as a driver returns it. */
interface LeaseRow {
  fence: string
  mine: boolean
  remainingMs: number | null
}

function leaseRow(row: Record<string, unknown> | undefined): LeaseRow | undefined {
  if (row === undefined) return undefined
  const remaining = row.remaining_ms
  return {
    fence: String(row.fence),
    // PostgreSQL answers a boolean; MySQL and SQLite 1 or 0 (a bigint through some clients).
    mine: row.mine === true || Number(row.mine) === 1,
    remainingMs: remaining === null || remaining === undefined ? null : Number(remaining),
  }
}

const checkDuration = (durationMs: number): number => {
  if (!Number.isSafeInteger(durationMs) || durationMs <= 0)
    throw new RangeError(`a lease's duration must be a positive integer of ms, not ${durationMs}`)
  return durationMs
}

/** The `holder` column is 64 characters wide (MySQL's VARCHAR(64)). */
const checkHolder = (holder: string): string => {
  if (typeof holder !== "string" || holder.length === 0 || holder.length > 64)
    throw new RangeError("a lease's holder must be a string of 1 to 64 characters")
  return holder
}

/**
 * `AccountLeases` over SQL: `take`, `renew` and `release` as the database's lease statements on one held
 * connection each. Busy is a value, also when the take's write could not get the database's own lock in
 * time (SQLite's SQLITE_BUSY, MariaDB's 1205, PostgreSQL's 55P03: the statement changed nothing); a renew
 * or release that could not is an `AccountStoreError` with `lockTimeout` set. A missing table or column is
 * an `AccountSchemaError` naming the table, the option that names it, and the README section with its
 * migration. @internal
 */
export function sqlLeases(options: SqlLeaseOptions): AccountLeases {
  const { database, hold } = options
  const sql = database.leases
  const table = quoteTableName(database, options.table, "lease table name")
  const configured = typeof options.table === "string" ? options.table : options.table.name

  const schemaError = (error: unknown): unknown => {
    const meaning = database.classifyError(error)
    if (meaning.kind !== "missing-table" && meaning.kind !== "missing-column") return error
    return new AccountSchemaError({
      store: options.store,
      table: configured,
      column: meaning.kind === "missing-column" ? (meaning.column ?? "(unknown)") : undefined,
      option: `${options.option} (the table's migration: ${LEASE_MIGRATION_SECTION})`,
      driverErrorCode: driverCodes(error)[0],
      hint: `lease mode needs the lease table of the ${LEASE_MIGRATION_SECTION}`,
    })
  }

  const lockTimedOut = (error: unknown): boolean =>
    !(error instanceof AccountSchemaError) && database.classifyError(error).kind === "lock-timeout"
  /** A renew or release the database's lock timed out: typed like every store operation's lock timeout. */
  const typedLockTimeout =
    (operation: string) =>
    (error: unknown): never => {
      if (!lockTimedOut(error)) throw error
      throw new AccountStoreError(options.store, `leases.${operation}`, error, { lockTimeout: true })
    }

  const joined: SqlTables | undefined = "accounts" in options.accounts ? options.accounts : undefined
  const readAll = joined ? undefined : (options.accounts as { readAll(key: AccountKey): Promise<StoredAccountRow[]> })
  const accountsJoin: LeaseAccounts | undefined = joined && {
    table: joined.accounts,
    provider: joined.column("provider"),
    providerAccountId: joined.column("providerAccountId"),
  }

  type Run = (statement: SqlStatement) => Promise<Record<string, unknown>[]>
  /** `work` on a held connection; a caller that left while the pool was busy gets nothing sent. */
  const onConnection = async <T>(signal: AbortSignal | undefined, work: (run: Run) => Promise<T>): Promise<T> => {
    if (signal?.aborted) throw new AbandonedWait()
    const held = await hold()
    try {
      if (signal?.aborted) throw new AbandonedWait()
      return await work(async (statement) => {
        try {
          return await held.run(statement.text, statement.values)
        } catch (error) {
          const schema = schemaError(error)
          throw joined && schema === error ? schemaMismatch(error, joined, "accounts") : schema
        }
      })
    } finally {
      held.release()
    }
  }
  const first = async (run: Run, statement: SqlStatement): Promise<LeaseRow | undefined> =>
    leaseRow((await run(statement))[0])

  /** The account rows of a `look` (one row with null account columns when the key has none). */
  const accountRows = (looked: Record<string, unknown>[]): StoredAccountRow[] => {
    if (!joined) return []
    const rows: StoredAccountRow[] = []
    for (const row of looked) {
      const fields = joined.fieldsOf(
        Object.fromEntries(Object.entries(row).filter(([column]) => !LOOK_COLUMNS.has(column))),
      )
      if (fields.provider !== null && fields.provider !== undefined) rows.push(toStoredAccountRow(fields))
    }
    return rows
  }

  return {
    async take(
      key: AccountKey,
      holder: string,
      durationMs: number,
      takeOptions?: AccountReadOptions,
    ): Promise<LeaseTake> {
      const statement = sql.take(table, key, checkHolder(holder), checkDuration(durationMs))
      const look = sql.look(table, key, holder, accountsJoin)
      // Counted from the send, not from before the wait for a connection: a pool wait is not the lease's.
      let sentAt = 0
      const answer = await onConnection(takeOptions?.signal, async (run) => {
        sentAt = performance.now()
        let taken: LeaseRow | undefined
        try {
          taken = await first(run, statement)
        } catch (error) {
          // Another writer held the database's lock past the wait bound: the take changed nothing, and the
          // lease is as busy as the database (how long is unknown). The caller waits and polls as for a lease.
          if (!lockTimedOut(error) && !sql.lostRace(error)) throw error
          if (lockTimedOut(error)) return { taken: undefined, looked: await run(look).catch(typedLockTimeout("take")) }
          // Another take of the key went through (the database rolled this one back whole). Once more, to
          // learn from the committed row whether the lease is now free or whose it is.
          try {
            taken = await first(run, statement)
          } catch (again) {
            if (lockTimedOut(again))
              return { taken: undefined, looked: await run(look).catch(typedLockTimeout("take")) }
            if (!sql.lostRace(again)) throw again
          }
        }
        // A second statement, so its snapshot is younger than the take's commit (design 2.3): it sees what the
        // previous holder wrote before its release. Where the take returned no row (busy, or a database whose
        // writes return none) its lease columns tell, by the random holder, whose the lease is.
        const looked = await run(look)
        return { taken, looked }
      })
      const row = answer.taken ?? leaseRow(answer.looked[0])
      const nowMs = Number(answer.looked[0]?.now_ms)
      if (!Number.isFinite(nowMs)) throw new Error(`${options.store}: the lease read returned no clock`)
      const rows = readAll ? await readAll.readAll(key) : accountRows(answer.looked)
      // What the store measured, less everything since the take was sent: never more than what is left.
      const spent = performance.now() - sentAt
      if (row?.mine) {
        const remainingMs = Math.max(0, Math.floor((row.remainingMs ?? 0) - spent))
        return { taken: true, lease: { fence: row.fence, holder }, remainingMs, rows, nowMs }
      }
      const remainingMs = row?.remainingMs == null ? null : Math.max(0, Math.floor(row.remainingMs - spent))
      return { taken: false, remainingMs, rows, nowMs }
    },

    renew(key: AccountKey, lease: HeldLease, durationMs: number): Promise<{ remainingMs: number } | null> {
      const statement = sql.renew(table, key, lease, checkDuration(durationMs))
      return onConnection(undefined, async (run) => {
        const renewed = await first(run, statement)
        const row = sql.returning ? renewed : await first(run, sql.state(table, key, lease.holder))
        if (!row?.mine || row.fence !== lease.fence || row.remainingMs === null || row.remainingMs <= 0) return null
        return { remainingMs: row.remainingMs }
      }).catch(typedLockTimeout("renew"))
    },

    release(key: AccountKey, lease: HeldLease): Promise<void> {
      const statement = sql.release(table, key, lease)
      return onConnection(undefined, async (run) => {
        await run(statement)
      }).catch(typedLockTimeout("release"))
    },
  }
}

/** A runner with nothing to hold, as a HeldConnection (clients whose pool is their own, e.g. Prisma's). @internal */
export function unheld(run: HeldConnection["run"]): () => Promise<HeldConnection> {
  return async () => ({ run, release: () => undefined })
}
