/**
 * Runs a refresh storm in several OS processes released together: every worker builds its fixture and
 * says "ready"; the runner then awaits `beforeGo` (e.g. until the stored token has expired) and sends
 * "go" to all of them at once.
 */
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { runBarrierWorkers } from "../kit/barrier-workers.js"
import type { StormOutcome, StormWorkerConfig } from "./storm-protocol.js"

const workerFile = join(dirname(fileURLToPath(import.meta.url)), "storm-worker.ts")

export interface StormRun {
  outcomes: StormOutcome[]
  processes: number
  /** From "go" to the last result, ms. */
  wallMs: number
}

export async function runStorm(
  base: Omit<StormWorkerConfig, "callers">,
  options: { processes: number; callersPerProcess: number; beforeGo?: () => Promise<void>; timeoutMs?: number },
): Promise<StormRun> {
  const config: StormWorkerConfig = { ...base, callers: options.callersPerProcess }
  const run = await runBarrierWorkers<StormOutcome>(
    workerFile,
    Array.from({ length: options.processes }, () => config),
    options,
  )
  return {
    outcomes: run.processes.flatMap((p) => p.outcomes),
    processes: options.processes,
    wallMs: performance.now() - run.goAt,
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}
