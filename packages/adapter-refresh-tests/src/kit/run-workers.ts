import { spawn, type ChildProcess } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { OperationOutcome, WorkerConfig, WorkerMessage, WorkerOperation } from "./worker-protocol.js"

const kitDir = dirname(fileURLToPath(import.meta.url))
const packageDir = join(kitDir, "..", "..")
/** The worker runs from source under tsx (fixture modules may be TypeScript), or from dist when built. */
const workerFile = join(kitDir, import.meta.url.endsWith(".ts") ? "worker.ts" : "worker.js")

export interface ProcessOutcome {
  pid: number
  outcomes: OperationOutcome[]
}

function readMessages(child: ChildProcess, onMessage: (message: WorkerMessage) => void): void {
  let buffer = ""
  child.stdout!.setEncoding("utf8")
  child.stdout!.on("data", (chunk: string) => {
    buffer += chunk
    for (let newline = buffer.indexOf("\n"); newline >= 0; newline = buffer.indexOf("\n")) {
      const line = buffer.slice(0, newline).trim()
      buffer = buffer.slice(newline + 1)
      if (line.startsWith("{")) onMessage(JSON.parse(line) as WorkerMessage)
    }
  })
}

/**
 * Runs each list of operations in its own OS process, all released at once: every worker first builds
 * its fixture and says "ready"; only when all are ready does each get "go". Bounded by `timeoutMs`.
 */
export async function runInWorkerProcesses(
  base: Omit<WorkerConfig, "operations">,
  operationsPerProcess: WorkerOperation[][],
  timeoutMs = 60_000,
): Promise<ProcessOutcome[]> {
  const children: ChildProcess[] = []
  const stderr: string[] = []
  let ready = 0
  const results: ProcessOutcome[] = []

  const finished = new Promise<ProcessOutcome[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`workers did not finish within ${timeoutMs} ms; stderr: ${stderr.join("").slice(-2000)}`)), timeoutMs)
    for (const operations of operationsPerProcess) {
      const config: WorkerConfig = { ...base, operations }
      const child = spawn(
        process.execPath,
        ["--conditions=@authjs-adapter-refresh/source", "--import", "tsx", "--no-warnings", workerFile, JSON.stringify(config)],
        { cwd: packageDir, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, NODE_OPTIONS: "" } },
      )
      children.push(child)
      child.stderr!.setEncoding("utf8")
      child.stderr!.on("data", (chunk: string) => stderr.push(chunk))
      child.on("exit", (code) => {
        if (code !== 0 && !results.some((r) => r.pid === child.pid)) {
          clearTimeout(timer)
          reject(new Error(`worker ${child.pid} exited with ${code}; stderr: ${stderr.join("").slice(-2000)}`))
        }
      })
      readMessages(child, (message) => {
        if (message.type === "ready" && ++ready === operationsPerProcess.length) {
          for (const c of children) c.stdin!.write("go\n")
        } else if (message.type === "done") {
          results.push({ pid: message.pid, outcomes: message.outcomes })
          if (results.length === operationsPerProcess.length) {
            clearTimeout(timer)
            resolve(results)
          }
        } else if (message.type === "failed") {
          clearTimeout(timer)
          reject(new Error(`worker ${message.pid} failed: ${message.reason}`))
        }
      })
    }
  })
  try {
    return await finished
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL")
  }
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
