/**
 * Drizzle on better-sqlite3 (`drizzle-orm/better-sqlite3`). Drizzle's transactions there are synchronous
 * and share the app's one connection, so one cannot stay open across an await (a refresh request) without
 * taking in every other statement the app sends meanwhile. The store opens ONE connection of its own to the
 * same file (the app's Database class and file name) for its transactions, the sign-in and the leases,
 * one at a time per process; reads go through Drizzle's session. Busy timeout 0 on that connection: the
 * file's lock is asked for again from the event loop (drivers/sqlite-wait.ts). Internal: not part of the
 * package's exports.
 */
import { SQLITE_BEGIN_LOCKED, sqlite } from "../databases/sqlite.js"
import { unheld } from "../sql-leases.js"
import type { SqlDriver } from "../sql-store.js"
import type { HeldConnection, SqlRunner } from "../statements.js"
import { driverError, sessionRunner, type DrizzleRunnable } from "./drizzle-session.js"
import { serialTurns, SQLITE_DEFAULT_LOCK_WAIT_MS, untilNotBusy } from "./sqlite-wait.js"

/** A better-sqlite3 Database, as far as this driver uses it. @internal */
export interface BetterSqliteLike {
  readonly name: string
  readonly memory: boolean
  readonly open: boolean
  readonly inTransaction: boolean
  prepare(text: string): {
    readonly reader: boolean
    all(...values: unknown[]): unknown[]
    run(...values: unknown[]): unknown
  }
  pragma(text: string, options?: { simple: boolean }): unknown
  close(): void
}

/** A runner on a better-sqlite3 connection of the store's own. */
function runnerOn(connection: BetterSqliteLike): SqlRunner {
  return async (text, values) => {
    const statement = connection.prepare(text)
    if (statement.reader) return statement.all(...values) as Record<string, unknown>[]
    statement.run(...values)
    return []
  }
}

/** The driver of a better-sqlite3 Drizzle database on a file; `lockTimeoutMs` bounds a lease's wait. @internal */
export function drizzleBetterSqliteDriver(
  db: DrizzleRunnable & { readonly $client?: unknown },
  lockTimeoutMs: number | undefined,
): SqlDriver {
  const run = sessionRunner(db, (session, query) => session.prepareQuery(query, undefined, "all", false).all())
  return ownConnectionSqliteDriver(db.$client as BetterSqliteLike, run, lockTimeoutMs)
}

/**
 * Reads on `run` (the app's client), and transactions, the sign-in and leases on a better-sqlite3 connection
 * of the store's own to the app client's file (also TypeORM's better-sqlite3 driver). @internal
 */
export function ownConnectionSqliteDriver(
  appClient: BetterSqliteLike,
  run: SqlRunner,
  lockTimeoutMs: number | undefined,
): SqlDriver {
  const turn = serialTurns()
  let own: BetterSqliteLike | undefined
  /** The store's own connection, opened on first use (and again if closed). */
  function connection(): BetterSqliteLike {
    if (own?.open) return own
    const Database = Object.getPrototypeOf(appClient).constructor as new (
      file: string,
      options: { timeout: number },
    ) => BetterSqliteLike
    // timeout 0: a busy file answers at once, and the store asks again from the event loop (untilNotBusy).
    const opened = new Database(appClient.name, { timeout: 0 })
    // Foreign keys are a per-connection setting: the store's connection enforces what the app's does.
    opened.pragma(`foreign_keys = ${appClient.pragma("foreign_keys", { simple: true }) ? "ON" : "OFF"}`)
    own = opened
    return opened
  }
  const busyRetried = (run: () => Promise<Record<string, unknown>[]>, deadline: number) =>
    untilNotBusy(run, deadline, driverError)
  return {
    database: sqlite,
    run,
    hold: unheld(run),
    // Never inside one of the store's transactions: checked in the same synchronous step that runs it.
    signIn: unheld(async (text, values) => (connection().inTransaction ? [] : runnerOn(connection())(text, values))),
    // Between the store's transactions, asked again while the file is busy.
    async leases(): Promise<HeldConnection> {
      const release = await turn()
      const deadline = Date.now() + (lockTimeoutMs ?? SQLITE_DEFAULT_LOCK_WAIT_MS)
      return { run: (text, values) => busyRetried(() => runnerOn(connection())(text, values), deadline), release }
    },
    async acquire(lock) {
      const deadline = Date.now() + (lock.timeoutMs ?? SQLITE_DEFAULT_LOCK_WAIT_MS)
      const release = await turn()
      const connected = connection()
      const on = runnerOn(connected)
      return {
        run: on,
        begin: async () => void (await busyRetried(() => on(SQLITE_BEGIN_LOCKED, []), deadline)),
        // A COMMIT can find readers on the file (rollback journal): it is asked again like the lock.
        commit: async () =>
          void (await busyRetried(
            () => on("COMMIT", []),
            Math.max(deadline, Date.now() + SQLITE_DEFAULT_LOCK_WAIT_MS),
          )),
        rollback: async () => void (connected.open && (await on("ROLLBACK", []).catch(() => undefined))),
        release,
      }
    },
  }
}
