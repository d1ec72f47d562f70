/**
 * Waiting for SQLite's file lock from the event loop, for Drizzle's SQLite drivers: their busy timeout
 * waits on the JavaScript thread, so a wait for a lock that this same process holds across an await (a
 * refresh request) would block the very code that is to release it. Internal: not part of the package's
 * exports.
 */
import { sqlite } from "../databases/sqlite.js"

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
