import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { runBarrierWorkers, type ProcessOutcome as BarrierProcessOutcome } from "./barrier-workers.js"
import type { OperationOutcome, WorkerConfig, WorkerOperation } from "./worker-protocol.js"

const kitDir = dirname(fileURLToPath(import.meta.url))
/** The worker runs from source under tsx (fixture modules may be TypeScript), or from dist when built. */
const workerFile = join(kitDir, import.meta.url.endsWith(".ts") ? "worker.ts" : "worker.js")

export type ProcessOutcome = BarrierProcessOutcome<OperationOutcome>

/** Runs each list of operations in its own OS process, all released at once (see runBarrierWorkers). */
export async function runInWorkerProcesses(
  base: Omit<WorkerConfig, "operations">,
  operationsPerProcess: WorkerOperation[][],
  timeoutMs = 60_000,
): Promise<ProcessOutcome[]> {
  const configs: WorkerConfig[] = operationsPerProcess.map((operations) => ({ ...base, operations }))
  return (await runBarrierWorkers<OperationOutcome>(workerFile, configs, { timeoutMs })).processes
}

/** Largest number of operations in flight at one instant, and largest number of processes with operations in flight at one instant. */
export function peakOverlap(processes: ProcessOutcome[]): { operations: number; processes: number } {
  const events: { at: number; delta: 1 | -1; pid: number }[] = []
  for (const { pid, outcomes } of processes) {
    for (const o of outcomes) events.push({ at: o.startedAt, delta: 1, pid }, { at: o.endedAt, delta: -1, pid })
  }
  // Ends sort before starts at the same instant, so touching intervals do not count as overlapping.
  events.sort((a, b) => a.at - b.at || a.delta - b.delta)
  const inFlight = new Map<number, number>()
  let current = 0
  let best = { operations: 0, processes: 0 }
  for (const event of events) {
    current += event.delta
    inFlight.set(event.pid, (inFlight.get(event.pid) ?? 0) + event.delta)
    const live = [...inFlight.values()].filter((n) => n > 0).length
    best = { operations: Math.max(best.operations, current), processes: Math.max(best.processes, live) }
  }
  return best
}
