import type { BarrierMessage } from "./barrier-workers.js"

/** Messages between the kit and its worker processes (one JSON object per stdout line). */

export interface WorkerOperation {
  kind: "link" | "sync"
  account: Record<string, unknown>
}

export interface WorkerConfig {
  fixtureModule: string
  databaseUrl: string
  /** "wrapped": through withTokenSync; "bare": the unwrapped adapter's linkAccount (the control run). */
  mode: "wrapped" | "bare"
  operations: WorkerOperation[]
}

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
