/**
 * Lease mode's admission: how many flights one process runs past TAKE at once, adapted to how long they take.
 *
 * A fixed number cannot serve both ends. Small (8), a burst of 40 expiries in one process waits five provider
 * round trips; large, a burst of thousands queues requests at a provider for longer than it takes to answer
 * them. A request still unanswered at `requestTimeoutMs` is waited for (`lateAnswerMs`, the lease renewed), so
 * such a queue costs time, not grants, but it still costs the callers queued behind it. So the limit starts
 * high (a burst of 40 in one round trip) and moves with the flights' own length (additive increase,
 * multiplicative decrease):
 * - a flight that took longer than `slowMs` (a quarter of the request timeout) halves the limit, once per
 *   round: the other slow flights admitted before that halving say nothing new and are ignored;
 * - each quick flight raises it: by one until the first halving (the limit doubles per round trip), by
 *   1/limit after (one per round trip);
 * - never below `min` nor above `max`.
 * A waiter that found the lease busy gives its place back without a sample: it sent nothing.
 *
 * No I/O; the clock is injected so the policy is unit-tested. One per process, shared by its providers.
 */
import { SlotWaitTimeout } from "./coordination.js"

/** The limits of {@link AdaptiveAdmission}. */
export interface AdmissionBounds {
  /** Flights admitted at once before any sample. */
  initial: number
  min: number
  max: number
  /** A flight longer than this, ms, is slow: the limit halves. */
  slowMs: number
}

/**
 * The defaults: 64 to start and at most (a burst of 40 expiries in one process is served in one round trip:
 * docs/BENCHMARKS.md, "Pool starvation"), at least 2, slow past a quarter of the request timeout (a provider's
 * queue grows for a while before its answers come late). Starting at 8 served 8 of those 40 within 3 s; it was
 * the safe value while a request abandoned at its timeout lost its grant (before `lateAnswerMs`).
 */
export const admissionBounds = (requestTimeoutMs: number): AdmissionBounds => ({
  initial: 64,
  min: 2,
  max: 64,
  slowMs: requestTimeoutMs / 4,
})

/**
 * Called once when the place is given back: `flown` true when the flight held the lease (its length is a
 * sample), false when it gave the place back while waiting for another holder.
 */
export type AdmissionRelease = (flown: boolean) => void

interface Waiter {
  grant: () => void
  timer: ReturnType<typeof setTimeout>
}

/** See the module comment. Waits are first come, first served and bounded. */
export class AdaptiveAdmission {
  private window: number
  private active = 0
  private readonly waiting: Waiter[] = []
  /** When the limit last halved; -Infinity before. */
  private halvedAt = Number.NEGATIVE_INFINITY

  constructor(
    readonly bounds: AdmissionBounds,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(bounds.min >= 1 && bounds.min <= bounds.initial && bounds.initial <= bounds.max && bounds.slowMs > 0))
      throw new RangeError("admission bounds need 1 <= min <= initial <= max and slowMs > 0")
    this.window = bounds.initial
  }

  /** Flights admitted at once now. */
  get limit(): number {
    return Math.floor(this.window)
  }

  /** Flights past admission now. */
  get admitted(): number {
    return this.active
  }

  /** Resolves to the release once admitted; rejects with `SlotWaitTimeout` after `timeoutMs`. */
  acquire(timeoutMs: number): Promise<AdmissionRelease> {
    if (this.active < this.limit && this.waiting.length === 0) {
      this.active++
      return Promise.resolve(this.releaseFor(this.now()))
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(waiter.timer)
          resolve(this.releaseFor(this.now()))
        },
        timer: setTimeout(() => {
          const index = this.waiting.indexOf(waiter)
          if (index >= 0) this.waiting.splice(index, 1)
          reject(new SlotWaitTimeout())
        }, timeoutMs),
      }
      this.waiting.push(waiter)
    })
  }

  private releaseFor(admittedAt: number): AdmissionRelease {
    let released = false
    return (flown) => {
      if (released) return
      released = true
      this.active--
      if (flown) this.sample(admittedAt, this.now() - admittedAt)
      this.admitWaiters()
    }
  }

  private sample(admittedAt: number, lengthMs: number): void {
    const { min, max, slowMs } = this.bounds
    if (lengthMs > slowMs) {
      // Admitted before the last halving: that round's slowness has been answered already.
      if (admittedAt < this.halvedAt) return
      this.window = Math.max(min, this.window / 2)
      this.halvedAt = this.now()
      return
    }
    const slowStart = this.halvedAt === Number.NEGATIVE_INFINITY
    this.window = Math.min(max, this.window + (slowStart ? 1 : 1 / this.window))
  }

  private admitWaiters(): void {
    while (this.active < this.limit && this.waiting.length > 0) {
      this.active++
      this.waiting.shift()!.grant()
    }
  }
}
