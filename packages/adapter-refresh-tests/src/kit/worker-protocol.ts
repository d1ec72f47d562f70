import type { BarrierMessage } from "./barrier-workers.js"

/** Messages between the kit and its worker processes (one JSON object per stdout line). */

/**
 * One operation a worker process runs: a `linkAccount` or a sign-in sync of `account`, or "increment": under
 * the store's `withAccountLock` on `account`'s key, read the counter `n.<k>` in the key's access token and
 * write `n.<k+1>` (a lost update shows a lock that did not exclude, or a write that outlived its lock).
 */
export interface WorkerOperation {
  kind: "link" | "sync" | "increment"
  account: Record<string, unknown>
}

/** What one worker process runs: the fixture, the database, the mode and its operations. */
export interface WorkerConfig {
  fixtureModule: string
  databaseUrl: string
  /** "wrapped": through withTokenSync; "bare": the unwrapped adapter's linkAccount (the control run). */
  mode: "wrapped" | "bare"
  operations: WorkerOperation[]
}

/** How one operation of a worker ended, and when it started and ended. */
export interface OperationOutcome {
  index: number
  ok: boolean
  /** Error class name and code only: never the message, which a broken implementation might fill with tokens. */
  error?: string
  /** Wall-clock start and end in epoch milliseconds (fractional). */
  startedAt: number
  endedAt: number
}

export type WorkerMessage = BarrierMessage<OperationOutcome>

/** What one lease worker process runs (lease-worker.ts): rounds of concurrent takes, one key per round. */
export interface LeaseWorkerConfig {
  fixtureModule: string
  databaseUrl: string
  /** One key per round. */
  keys: { provider: string; providerAccountId: string }[]
  /** Concurrent takes of the round's key in this process. */
  takesPerRound: number
  durationMs: number
  /** The first round starts this long after "go"; each next one `roundSpacingMs` later. */
  startDelayMs: number
  roundSpacingMs: number
  /** Shifts the process's `Date.now()` and `new Date()` by this much (ms). */
  clockShiftMs?: number
}

/** How one take of a lease worker ended. */
export interface LeaseOutcome {
  round: number
  taken: boolean
  fence?: string | undefined
  remainingMs: number | null
  /** Error class name and code only. */
  error?: string
  startedAt: number
  endedAt: number
}
