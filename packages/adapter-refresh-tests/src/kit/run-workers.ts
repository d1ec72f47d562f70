import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { runBarrierWorkers } from "./barrier-workers.js"
import type {
  LeaseOutcome,
  LeaseWorkerConfig,
  OperationOutcome,
  WorkerConfig,
  WorkerOperation,
} from "./worker-protocol.js"

const kitDir = dirname(fileURLToPath(import.meta.url))
/** The worker next to this module: worker.ts in the workspace's source, worker.js in dist (as installed). */
const workerFile = join(kitDir, import.meta.url.endsWith(".ts") ? "worker.ts" : "worker.js")
const leaseWorkerFile = join(kitDir, import.meta.url.endsWith(".ts") ? "lease-worker.ts" : "lease-worker.js")

/** What one worker process reported: its pid and the outcome of each of its operations. */
export interface ProcessOutcome {
  pid: number
  outcomes: OperationOutcome[]
}

/**
 * The loader flags a built worker needs to import the fixture module: none for JavaScript; for TypeScript
 * tsx, resolved from the fixture's folder first (the user's dev dependency), then from the kit's.
 * Run from the workspace's source the worker is under tsx already.
 */
export function fixtureLoaderFlags(fixtureModule: string, explicit?: readonly string[], worker = workerFile): string[] {
  if (explicit) return [...explicit]
  const fixturePath = fixtureModule.startsWith("file:") ? fileURLToPath(fixtureModule) : fixtureModule
  if (!/\.[cm]?ts$/.test(fixturePath) || worker.endsWith(".ts")) return []
  for (const from of [fixturePath, fileURLToPath(import.meta.url)]) {
    try {
      return ["--import", pathToFileURL(createRequire(from).resolve("tsx")).href]
    } catch {
      // not resolvable from here: try the next place
    }
  }
  if ((process.features as { typescript?: unknown }).typescript) return [] // this Node strips types itself
  throw new Error(
    `the fixture module ${fixturePath} is TypeScript, and the kit's worker processes cannot load it: install tsx ` +
      `(npm i -D tsx) or pass workerExecArgv, e.g. ["--import", "<your loader>"], or give a .js fixture`,
  )
}

/**
 * Runs each list of operations in its own OS process, all released at once (see runBarrierWorkers), to
 * test an adapter + store pair under real cross-process concurrency.
 *
 * @returns One outcome list per process, with each operation's start and end times.
 * @throws Error when a worker cannot load the fixture module or does not finish within `timeoutMs`.
 */
export async function runInWorkerProcesses(
  base: Omit<WorkerConfig, "operations"> & { workerExecArgv?: readonly string[] | undefined },
  operationsPerProcess: WorkerOperation[][],
  timeoutMs = 60_000,
): Promise<ProcessOutcome[]> {
  const { workerExecArgv, ...shared } = base
  const configs: WorkerConfig[] = operationsPerProcess.map((operations) => ({ ...shared, operations }))
  const execArgv = fixtureLoaderFlags(shared.fixtureModule, workerExecArgv)
  return (await runBarrierWorkers<OperationOutcome>(workerFile, configs, { timeoutMs, execArgv })).processes
}
/**
 * How concurrent a run really was, to check that a test raced what it meant to race.
 *
 * @returns The largest number of operations in flight at one instant, and of processes with an operation in flight.
 */
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

/**
 * Runs lease workers (lease-worker.ts), one OS process per config, all released at once: the kit's
 * "leases" section takes one key from several processes with these.
 *
 * @returns One outcome list per process, one outcome per take.
 * @throws Error when a worker cannot load the fixture module or does not finish within `timeoutMs`.
 */
export async function runLeaseWorkers(
  configs: LeaseWorkerConfig[],
  workerExecArgv?: readonly string[],
  timeoutMs = 60_000,
): Promise<{ pid: number; outcomes: LeaseOutcome[] }[]> {
  const execArgv = fixtureLoaderFlags(configs[0]!.fixtureModule, workerExecArgv, leaseWorkerFile)
  return (await runBarrierWorkers<LeaseOutcome>(leaseWorkerFile, configs, { timeoutMs, execArgv })).processes
}
