/**
 * Waiting for SQLite's file lock from the event loop, for Drizzle's SQLite drivers: their busy timeout
 * waits on the JavaScript thread, so a wait for a lock that this same process holds across an await (a
 * refresh request) would block the very code that is to release it. Internal: not part of the package's
 * exports.
 */
import type { SqlDatabase } from "../databases/sql-database.js"
import { busyTimeoutOf, SQLITE_READ_BUSY_TIMEOUT, sqlite, sqliteBusyTimeout } from "../databases/sqlite.js"
import type { SqlDriver } from "../sql-store.js"
import type { HeldConnection, SqlRunner } from "../statements.js"

/** SQLite's default wait for the file's write lock: better-sqlite3's own busy timeout. @internal */
export const SQLITE_DEFAULT_LOCK_WAIT_MS = 5000

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Runs `attempt` until it stops failing with SQLITE_BUSY or `deadline` passes, sleeping between tries;
 * `unwrap` gives the driver's own error of a wrapped one. @internal
 */
export async function untilNotBusy<T>(
  attempt: () => Promise<T>,
  deadline: number,
  unwrap: (error: unknown) => unknown = (error) => error,
): Promise<T> {
  for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
    try {
      return await attempt()
    } catch (raw) {
      const error = unwrap(raw)
      if (sqlite.classifyError(error).kind !== "lock-timeout" || Date.now() + pause > deadline) throw error
      await sleep(pause + Math.random() * pause)
    }
  }
}

/**
 * Turns taken one at a time, in call order (the store's SQLite transactions in one process): `turn()`
 * resolves, once the previous turn ended, to what ends this one. @internal
 */
export function serialTurns(): () => Promise<() => void> {
  let tail: Promise<void> = Promise.resolve()
  return () => {
    let end!: () => void
    const ended = new Promise<void>((resolve) => (end = resolve))
    const started = tail.then(() => end)
    tail = tail.then(() => ended)
    return started
  }
}

/** Sets the connection's busy timeout to `ms` and returns what puts the previous one back. */
async function setBusyTimeout(run: SqlRunner, ms: number): Promise<() => Promise<void>> {
  const previous = busyTimeoutOf((await run(SQLITE_READ_BUSY_TIMEOUT, []))[0])
  await run(sqliteBusyTimeout(ms), [])
  return async () => {
    if (previous !== undefined) await run(sqliteBusyTimeout(previous), []).catch(() => undefined)
  }
}

/**
 * `acquire` and `signInWouldWait` for a client whose pool lends one connection per transaction, and on SQLite
 * has ONE connection (Kysely's SqliteDialect, knex under MikroORM): a locked transaction holds it to its end, so
 * a sign-in meanwhile takes the locked path at once instead of queueing for it, and the transaction waits for
 * the file's lock up to its bound (the busy timeout, set for it and put back after). @internal
 */
export function pooledTransactions(
  database: SqlDatabase,
  hold: () => Promise<HeldConnection>,
): Pick<SqlDriver, "acquire" | "signInWouldWait"> {
  const oneConnection = database === sqlite
  let transactions = 0
  return {
    signInWouldWait: () => oneConnection && transactions > 0,
    async acquire(lock) {
      transactions++
      let held: HeldConnection
      try {
        held = await hold()
      } catch (error) {
        transactions--
        throw error
      }
      let restore: (() => Promise<void>) | undefined
      return {
        run: held.run,
        async begin() {
          if (oneConnection && lock.timeoutMs !== undefined) restore = await setBusyTimeout(held.run, lock.timeoutMs)
          for (const text of database.begin) await held.run(text, [])
        },
        async release() {
          try {
            await restore?.()
          } finally {
            transactions--
            held.release()
          }
        },
      }
    },
  }
}
