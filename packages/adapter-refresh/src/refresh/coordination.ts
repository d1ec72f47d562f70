/**
 * In-process coordination of refreshes: one flight per account and a cap on concurrent refreshes (their
 * waits are bounded with ../bounded-wait.ts). No I/O of its own; the cross-process part is the store's
 * account lock.
 */

/**
 * Callers asking for the same key while a flight is under way share its promise. Each flight carries the
 * `meta` it was started with (e.g. its lock bound), so a caller that joined one knows what it joined.
 */
export class SingleFlight<T, M = undefined> {
  private readonly flights = new Map<string, { promise: Promise<T>; meta: M }>()

  /** The flight under way for `key`, or a new one started with `meta`; returned with the flight's own meta. */
  join(key: string, meta: M, start: () => Promise<T>): { promise: Promise<T>; meta: M } {
    let flight = this.flights.get(key)
    if (!flight) {
      flight = { promise: start().finally(() => this.flights.delete(key)), meta }
      this.flights.set(key, flight)
    }
    return flight
  }

  run(key: string, meta: M, start: () => Promise<T>): Promise<T> {
    return this.join(key, meta, start).promise
  }
}

/** Marks a transaction the caller stopped waiting for (see boundedStart): a start bound passed. */
export class StartTimeout extends Error {}

/** Raised by `Semaphore.acquire` when no slot freed up within the bound. */
export class SlotWaitTimeout extends Error {
  override name = "SlotWaitTimeout"
}

/**
 * A counting semaphore with a bounded, first-come-first-served wait. It caps how many refreshes one
 * process runs at once: each holds a pooled connection (the account lock is a transaction) for the
 * length of the provider's answer, so without a cap a storm of expiries takes the whole pool.
 */
export class Semaphore {
  private active = 0
  private readonly waiting: Array<{ grant: () => void }> = []

  constructor(readonly limit: number) {}

  /** Resolves with a release function once a slot is free; rejects with SlotWaitTimeout after `timeoutMs`. */
  acquire(timeoutMs: number): Promise<() => void> {
    const release = (): void => {
      const next = this.waiting.shift()
      if (next) next.grant()
      else this.active--
    }
    if (this.active < this.limit) {
      this.active++
      return Promise.resolve(once(release))
    }
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => {
          clearTimeout(timer)
          resolve(once(release))
        },
      }
      const timer = setTimeout(() => {
        const index = this.waiting.indexOf(entry)
        if (index >= 0) this.waiting.splice(index, 1)
        reject(new SlotWaitTimeout())
      }, timeoutMs)
      this.waiting.push(entry)
    })
  }

  async run<T>(timeoutMs: number, work: () => Promise<T>): Promise<T> {
    const release = await this.acquire(timeoutMs)
    try {
      return await work()
    } finally {
      release()
    }
  }
}

function once(fn: () => void): () => void {
  let done = false
  return () => {
    if (!done) {
      done = true
      fn()
    }
  }
}
