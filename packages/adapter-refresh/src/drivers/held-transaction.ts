/**
 * A transaction of a client that runs one only around a callback (Drizzle's `db.transaction`), held open
 * as a SqlTransactionConnection: the client begins it, it commits when `commit` lets the callback resolve
 * and rolls back when `rollback` (or a `release` before either) makes it reject. Internal: not part of the
 * package's exports.
 */
import type { SqlTransactionConnection } from "../sql-store.js"
import type { SqlRunner } from "../statements.js"

/** Thrown into the client's callback to roll back; never reaches a caller. */
const ROLL_BACK = Symbol("roll back")

/**
 * The transaction `open` starts, once the client has begun it and handed over its transaction object
 * (`tx`), as a connection whose statements run through `runnerOf(tx)`. @internal
 */
export function heldTransaction<X>(
  open: (callback: (tx: X) => Promise<void>) => Promise<unknown>,
  runnerOf: (tx: X) => SqlRunner,
): Promise<SqlTransactionConnection> {
  return new Promise((resolve, reject) => {
    let started = false
    const done = open(
      (tx) =>
        new Promise<void>((commit, rollBack) => {
          started = true
          let settled = false
          const settle = async (how: () => void) => {
            if (settled) return
            settled = true
            how()
            await ended
          }
          resolve({
            run: runnerOf(tx),
            begin: async () => undefined,
            commit: () => settle(commit),
            rollback: () => settle(() => rollBack(ROLL_BACK)),
            release: () => settle(() => rollBack(ROLL_BACK)).catch(() => undefined),
          })
        }),
    )
    // What the client's transaction ended in: a rollback of ours is no failure.
    const ended = done.then(
      () => undefined,
      (error: unknown) => {
        if (error !== ROLL_BACK) throw error
      },
    )
    // The client failed before it began (no connection, BEGIN refused): no transaction to hand over.
    ended.catch((error: unknown) => {
      if (!started) reject(error)
    })
  })
}
