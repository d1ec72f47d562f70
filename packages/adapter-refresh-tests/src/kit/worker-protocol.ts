import type { BarrierMessage } from "./barrier-workers.js"

/** Messages between the kit and its worker processes (one JSON object per stdout line). */

/** One operation a worker process runs: a `linkAccount` or a sign-in sync of `account`. */
export interface WorkerOperation {
  kind: "link" | "sync"
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
