/**
 * Bounds on waits that the database client may not bound itself: a pooled connection (node-postgres waits
 * forever by default), BEGIN and the account lock. Used by the sign-in write path and by the refresh.
 */

/**
 * Thrown into a transaction whose caller already gave up waiting for it, so that it rolls back unused (or never
 * begins).
 */
export class AbandonedWait extends Error {
  override name = "AbandonedWait"
}

/**
 * Bounds the wait until `work` STARTS (a pooled connection, BEGIN, the account lock), not the work itself.
 *
 * `run(begin)` must call `begin()` first thing inside the transaction. When `timeoutMs` passes before
 * that, the returned promise rejects with `onTimeout()` at once, and a late `begin()` throws
 * `AbandonedWait`, so the transaction that finally got its connection rolls back without doing anything
 * (in particular, without calling the provider). A pool whose every connection is held by the app, or an
 * app transaction holding the account's lock, therefore costs a typed error in bounded time, not a hang.
 */
export function boundedStart<T>(
  timeoutMs: number,
  onTimeout: () => Error,
  run: (begin: () => void, abandoned: AbortSignal) => Promise<T>,
): Promise<T> {
  let state: "waiting" | "started" | "abandoned" = "waiting"
  // Handed to the store (AccountLockOptions.signal): a connection that arrives after the caller gave up
  // sends no BEGIN or lock statement, so queued work left behind by timeouts does not pile up.
  const abandonment = new AbortController()
  const begin = (): void => {
    if (state === "abandoned") throw new AbandonedWait()
    state = "started"
  }
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      if (state !== "waiting") return
      state = "abandoned"
      abandonment.abort()
      reject(onTimeout())
    }, timeoutMs)
    run(begin, abandonment.signal).then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        // After abandonment the caller has its answer; the late rollback is nobody's business.
        if (state !== "abandoned") reject(error)
      },
    )
  })
}

/**
 * Bounds a read that needs no cleanup: past `timeoutMs` it rejects with `onTimeout()` and aborts the signal
 * it gave `read` (a store can then skip a read it has not sent yet); a late answer is ignored.
 */
export function boundedRead<T>(
  timeoutMs: number,
  onTimeout: () => Error,
  read: (abandoned: AbortSignal) => Promise<T>,
): Promise<T> {
  const abandonment = new AbortController()
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      abandonment.abort()
      reject(onTimeout())
    }, timeoutMs)
    read(abandonment.signal).then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}
