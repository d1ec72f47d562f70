/**
 * Lease mode's refresh flight (`refresh.coordination: "lease"`, docs/design/lease-coordination.md 2.2): the
 * account's lease is taken, renewed and released in short steps of the store, so while the provider answers
 * this process holds no pooled connection and no open transaction.
 *
 *   slot of the provider's limit → admission → TAKE, which brings the key's rows and the store's clock (busy:
 *   is the other holder's result in those rows? else leave admission, wait, take again, bounded) → READ: the
 *   decision on those rows, no statement → before each attempt: enough lease left? (a retry, or a first attempt after
 *   a slow take, renews first) →
 *   SEND → WRITE (a short locked transaction, compare-and-set on what READ saw) → RELEASE.
 *
 * No database and no provider here: the engine hands in the steps (`LeaseFlightSteps`), so every branch is
 * unit-tested with a fake lease store.
 */
import { randomBytes } from "node:crypto"
import { AbandonedWait } from "../bounded-wait.js"
import { RefreshLeaseExpiredError, RefreshLockTimeoutError } from "../errors.js"
import type { AccountKey, AccountLeases, HeldLease, LeaseTake, StoredAccountRow } from "../store.js"
import type { AdmissionRelease } from "./admission.js"
import type { LateAnswer } from "./provider.js"
import { Semaphore, SlotWaitTimeout } from "./coordination.js"

/** Covers READ and the longest backoff between the take and the first byte sent (design 4). */
export const LEASE_SLACK_MS = 2_000
/** The first pause of a waiter, then x1.5 per poll up to the cap, each ±20 %. */
export const FIRST_POLL_MS = 100
export const MAX_POLL_MS = 1_000

/** L: one attempt (W), the write of its answer and pauses (M), and the time from TAKE to SEND. */
export const leaseLengthMs = (requestTimeoutMs: number, leaseMarginMs: number): number =>
  requestTimeoutMs + leaseMarginMs + LEASE_SLACK_MS

export interface LeaseFlightSettings {
  /** W: one request's bound. */
  requestTimeoutMs: number
  /** M: what must be left of the lease beyond W when a request is sent. */
  leaseMarginMs: number
  /**
   * How much longer than W a request already sent may wait for its answer, the lease renewed for it; 0 or
   * absent: abandoned at W.
   */
  lateAnswerMs?: number
  /** Longest wait for another holder's lease (lockTimeoutMs), ms. */
  waitBoundMs: number
  /** false: take once and report busy at once (refreshExpiring skips an account another process refreshes). */
  wait: boolean
  /**
   * Admission before each TAKE (admission.ts), held by a holder until its flight ends and given back by a
   * waiter: resolves to its release, or rejects (with the error to throw) after `boundMs`. Waiting for it
   * holds nothing.
   */
  admit?(boundMs: number): Promise<AdmissionRelease>
  /** Longest wait for the first admission, ms (`queueTimeoutMs`). */
  admissionBoundMs?: number
}

/** What TAKE read after it (`LeaseTake`): every row of the key and the store's clock then. */
export interface LeaseLook {
  rows: StoredAccountRow[]
  /** The store's clock when the rows were read, epoch ms. */
  nowMs: number
  /** performance.now() when the take resolved: the store's now later is `nowMs` plus the time since. */
  at: number
}

/** The flight's steps that touch the store or the provider, given by the engine. */
export interface LeaseFlightSteps<R, G> {
  /** A busy TAKE's rows: the result when the key's row is now done (the other holder's answer), else undefined. */
  poll(look: LeaseLook): Promise<R | undefined>
  /** READ, on the rows the TAKE brought: finish without a request (fresh, refused...), or the token to send. */
  read(look: LeaseLook): Promise<{ finish: R } | { send: string }>
  /**
   * SEND, outside any transaction. `beforeAttempt` must run before each attempt; it throws (and nothing is
   * sent) when too little of the lease is left or a retry's renewal found it lost. `lateAnswer` is asked when
   * an attempt is unanswered at W: the ms it may still wait (the lease renewed for them), 0 to abandon it.
   */
  send(refreshToken: string, beforeAttempt: (attempt: number) => Promise<void>, lateAnswer: LateAnswer): Promise<G>
  /**
   * WRITE, right after the answer (or the refusal): compare-and-set under a short lock. A write that ended
   * the lease in its own statement (`updateOwnTokensAndRelease`) says so through `lease.released`.
   */
  write(answer: G, lease: LeaseAtWrite): Promise<R>
}

/** The held lease as WRITE gets it: the write may end it in its own statement, and then calls `released`. */
export interface LeaseAtWrite {
  held: HeldLease
  released(): void
}

/**
 * A lease this process kept after a failed write: the answer lives only in its memory (issued-tokens.ts),
 * so no other process may send the consumed refresh token meanwhile, and this process must not wait for
 * its own lease.
 */
export interface KeptLease {
  /** The lease kept by an earlier flight of this key: renewed first, used when still ours. */
  resume?: HeldLease | undefined
  /** Receives the lease when this flight's write failed: it stays taken until it ends or is released. */
  keep?(held: HeldLease): void
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const jittered = (ms: number): number => ms * (0.8 + Math.random() * 0.4)

/** `promise`'s value, or undefined when it has not settled within `ms`. */
async function withinMs<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms)
    })
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

/** A fresh 128-bit holder value: an old holder cannot be mistaken for a new one even if the fence restarts. */
export const newHolder = (): string => randomBytes(16).toString("hex")

/**
 * One refresh under the key's lease. Release is best effort and fenced (it cannot free another holder's
 * lease); after a write that failed the lease is left to end by itself, so no other process sends the
 * consumed refresh token while this one retries writing the answer it keeps (issued-tokens.ts).
 */
export async function runLeaseFlight<R, G>(
  leases: AccountLeases,
  key: AccountKey,
  settings: LeaseFlightSettings,
  steps: LeaseFlightSteps<R, G>,
  signal?: AbortSignal,
  keptLease: KeptLease = {},
): Promise<R> {
  const durationMs = leaseLengthMs(settings.requestTimeoutMs, settings.leaseMarginMs)
  let admitted: AdmissionRelease | undefined
  try {
    const resumed = keptLease.resume && (await resume(leases, key, keptLease.resume, durationMs, settings))
    const taken = resumed ?? (await takeOrWait(leases, key, settings, durationMs, steps, signal))
    if ("done" in taken) return taken.done
    admitted = taken.admitted
    return await holding(leases, key, settings, durationMs, steps, signal, keptLease, taken)
  } finally {
    admitted?.(true)
  }
}

/** The flight once this process holds the lease: READ, SEND, WRITE, RELEASE. */
async function holding<R, G>(
  leases: AccountLeases,
  key: AccountKey,
  settings: LeaseFlightSettings,
  durationMs: number,
  steps: LeaseFlightSteps<R, G>,
  signal: AbortSignal | undefined,
  keptLease: KeptLease,
  taken: Held,
): Promise<R> {
  const { requestTimeoutMs, leaseMarginMs } = settings
  const { held } = taken
  let deadline = taken.deadline
  const release = (): Promise<void> => leases.release(key, held).catch(() => undefined)

  let decision: { finish: R } | { send: string }
  try {
    decision = await steps.read(taken.look)
  } catch (error) {
    await release()
    throw error
  }
  if ("finish" in decision) {
    await release()
    return decision.finish
  }

  /** The end of the current attempt's late wait, set when it is first asked for; reset by each attempt. */
  let lateUntil: number | undefined
  const beforeAttempt = async (attempt: number): Promise<void> => {
    // Every caller left before anything was sent: nobody needs this refresh now.
    if (attempt === 1 && signal?.aborted) throw new AbandonedWait()
    // A retry renews first. So does a first attempt whose READ outlasted the lease's slack (a loaded
    // database or process): one short fenced statement judged by the store's clock, not a failed refresh.
    if (attempt > 1 || deadline - performance.now() < requestTimeoutMs + leaseMarginMs) {
      // Counted from before the renewal was sent: the store's answer is never taken as younger than it is.
      const asked = performance.now()
      const renewed = await leases.renew(key, held, durationMs)
      if (!renewed) throw new RefreshLeaseExpiredError(key.provider, 0, attempt > 1)
      deadline = asked + renewed.remainingMs
    }
    const remaining = deadline - performance.now()
    if (remaining < requestTimeoutMs + leaseMarginMs)
      throw new RefreshLeaseExpiredError(key.provider, remaining, attempt > 1)
    lateUntil = undefined
  }
  // An attempt unanswered at W: the provider may be slow rather than gone, and may have rotated the token
  // already. Renew the lease and keep waiting, up to lateAnswerMs past W, never past the renewed lease less
  // M (the write of the answer). No renewal, no wait: the lease may end, and another process send.
  const lateAnswer: LateAnswer = async () => {
    const asked = performance.now()
    lateUntil ??= asked + (settings.lateAnswerMs ?? 0)
    if (lateUntil <= asked) return 0
    const renewed = await withinMs(
      leases.renew(key, held, durationMs).catch(() => null),
      Math.max(0, deadline - asked - leaseMarginMs / 2),
    )
    if (!renewed) return 0
    deadline = asked + renewed.remainingMs
    return Math.max(0, Math.min(lateUntil, deadline - leaseMarginMs) - performance.now())
  }
  let answer: G
  try {
    answer = await steps.send(decision.send, beforeAttempt, lateAnswer)
  } catch (error) {
    await release()
    throw error
  }
  // The write throwing keeps the lease (see above); otherwise it is freed after the commit (or by the write's
  // own statement), so a process that sees it free also sees what was written.
  let result: R
  let releasedByWrite = false
  try {
    result = await steps.write(answer, { held, released: () => (releasedByWrite = true) })
  } catch (error) {
    keptLease.keep?.(held)
    throw error
  }
  if (!releasedByWrite) await release()
  return result
}

type Held = { held: HeldLease; deadline: number; look: LeaseLook; admitted: AdmissionRelease | undefined }
type Taken<R> = Held | { done: R }

const admission = (settings: LeaseFlightSettings, boundMs: number): Promise<AdmissionRelease | undefined> =>
  settings.admit ? settings.admit(Math.max(1, boundMs)) : Promise.resolve(undefined)

/**
 * Renews a lease this process kept; undefined when it is no longer ours (then TAKE as usual). Its READ is a
 * take's look without the take: the kept lease is this process's, so the rows come from a read of its own.
 */
async function resume(
  leases: AccountLeases,
  key: AccountKey,
  held: HeldLease,
  durationMs: number,
  settings: LeaseFlightSettings,
): Promise<Held | undefined> {
  // Counted from before the renewal was sent: the store's answer is never taken as younger than it is.
  const asked = performance.now()
  const renewed = await leases.renew(key, held, durationMs).catch(() => null)
  if (!renewed) return undefined
  const admitted = await admission(settings, settings.admissionBoundMs ?? settings.waitBoundMs)
  // A take by the same holder value is refused while the lease is held: it only brings the rows and the clock.
  let look: LeaseTake
  try {
    look = await leases.take(key, held.holder, durationMs)
  } catch (error) {
    admitted?.(false)
    throw error
  }
  const at = performance.now()
  return {
    held,
    deadline: asked + renewed.remainingMs,
    look: { rows: look.rows, nowMs: look.nowMs, at },
    admitted,
  }
}

/**
 * Admission, then TAKE; when another process holds the lease: its result in the rows the take brought, or
 * leave admission, wait and take again, all within the bound.
 */
async function takeOrWait<R, G>(
  leases: AccountLeases,
  key: AccountKey,
  settings: LeaseFlightSettings,
  durationMs: number,
  steps: LeaseFlightSteps<R, G>,
  signal: AbortSignal | undefined,
): Promise<Taken<R>> {
  const holder = newHolder()
  const timeout = (): RefreshLockTimeoutError =>
    new RefreshLockTimeoutError(key.provider, settings.waitBoundMs, "lease")
  // The wait for another holder counts from the first admission: the wait for admission has its own bound.
  let started: number | undefined
  const left = (): number =>
    started === undefined ? settings.waitBoundMs : started + settings.waitBoundMs - performance.now()
  let backoff = FIRST_POLL_MS
  for (;;) {
    if (signal?.aborted) throw new AbandonedWait()
    let admitted: AdmissionRelease | undefined
    if (started === undefined) {
      admitted = await admission(settings, settings.admissionBoundMs ?? settings.waitBoundMs)
      started = performance.now()
    } else {
      admitted = await admission(settings, left()).catch((error: unknown) => {
        throw error instanceof RefreshLockTimeoutError ? timeout() : error
      })
    }
    let took: LeaseTake
    try {
      took = await leases.take(key, holder, durationMs, signal ? { signal } : {})
    } catch (error) {
      admitted?.(false)
      throw error
    }
    // remainingMs is what is left when the take resolved (the store counts from the send).
    const at = performance.now()
    const look = { rows: took.rows, nowMs: took.nowMs, at }
    if (took.taken) return { held: took.lease, deadline: at + took.remainingMs, look, admitted }
    admitted?.(false)
    const done = await steps.poll(look)
    if (done !== undefined) return { done }
    if (!settings.wait || left() <= 0) throw timeout()
    await sleep(Math.max(1, Math.min(jittered(backoff), took.remainingMs ?? Infinity, left())))
    backoff = Math.min(backoff * 1.5, MAX_POLL_MS)
    // Nothing is sent once the bound has passed.
    if (left() <= 0) throw timeout()
  }
}

/**
 * `refresh.providerConcurrency`: at most n refreshes of a provider at once in this process (for providers
 * with rate limits). It replaces `maxConcurrentRefreshes` in lease mode, where nothing is held that the
 * pool would miss. Waiting for a slot holds nothing and is bounded by `queueTimeoutMs`.
 */
export class ProviderSlots {
  private readonly slots = new Map<string, Semaphore>()

  constructor(limits: Readonly<Record<string, number>> = {}) {
    for (const [provider, limit] of Object.entries(limits)) this.slots.set(provider, new Semaphore(limit))
  }

  async run<T>(provider: string, queueTimeoutMs: number, work: () => Promise<T>): Promise<T> {
    const slots = this.slots.get(provider)
    if (!slots) return work()
    let release: () => void
    try {
      release = await slots.acquire(queueTimeoutMs)
    } catch (error) {
      if (error instanceof SlotWaitTimeout) throw new RefreshLockTimeoutError(provider, queueTimeoutMs, "provider_slot")
      throw error
    }
    try {
      return await work()
    } finally {
      release()
    }
  }
}
