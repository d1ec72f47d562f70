/**
 * The test side of holder-worker.ts: starts a holder process, waits for its phases, releases it, kills or
 * stalls it. Every wait is bounded.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { workerNodeFlags } from "../kit/barrier-workers.js"
import type { JournalLine } from "./chaos-protocol.js"
import type { HolderConfig, HolderMessage, HolderOutcome } from "./holder-worker.js"

const here = dirname(fileURLToPath(import.meta.url))
const workerFile = join(here, "holder-worker.ts")
const packageDir = join(here, "..", "..")
/** The preload that shifts a process's `Date.now()` (shift-clock.ts). */
export const SHIFT_CLOCK_PRELOAD = join(here, "shift-clock.ts")

export interface Holder {
  pid: number
  child: ChildProcess
  /** Every phase reported so far, with its time (performance.timeOrigin + performance.now()). */
  phases: Array<{ ev: JournalLine["ev"]; t: number }>
  ready: Promise<void>
  /** Starts one round of calls; resolves with their outcomes. */
  go(timeoutMs?: number): Promise<HolderOutcome[]>
  /** Resolves at the first `ev` phase reported (counting those already reported). */
  phase(ev: JournalLine["ev"], timeoutMs?: number): Promise<number>
  /** Ends a pause (the line waits in the pipe if the process is stopped). */
  resume(): void
  /** Ends the process: its stdin closes, then a SIGKILL if it is still there after `graceMs`. */
  stop(graceMs?: number): Promise<void>
  exited: Promise<void>
}

const bounded = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (error: unknown) => (clearTimeout(timer), reject(error instanceof Error ? error : new Error(String(error)))),
    )
  })

export function startHolder(
  config: HolderConfig,
  options: { env?: Record<string, string>; execArgv?: string[] } = {},
): Holder {
  const child = spawn(
    process.execPath,
    [...workerNodeFlags(workerFile, options.execArgv), workerFile, JSON.stringify(config)],
    {
      cwd: packageDir,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NODE_OPTIONS: "", ...options.env },
    },
  )
  const stderr: string[] = []
  child.stderr!.setEncoding("utf8")
  child.stderr!.on("data", (chunk: string) => stderr.push(chunk))
  const phases: Holder["phases"] = []
  const waiters: Array<() => void> = []
  const rounds: Array<(outcomes: HolderOutcome[]) => void> = []
  let failed: Error | undefined
  let markReady: () => void = () => {}
  let markFailed: (error: Error) => void = () => {}
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve
    markFailed = reject
  })
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()))
  void exited.then(() => {
    failed ??= new Error(`holder ${child.pid} exited; stderr: ${stderr.join("").slice(-1500)}`)
    markFailed(failed)
    for (const wake of waiters.splice(0)) wake()
  })
  let buffer = ""
  child.stdout!.setEncoding("utf8")
  child.stdout!.on("data", (chunk: string) => {
    buffer += chunk
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      const line = buffer.slice(0, nl).trim()
      buffer = buffer.slice(nl + 1)
      if (!line.startsWith("{")) continue
      const message = JSON.parse(line) as HolderMessage
      if (message.type === "ready") markReady()
      else if (message.type === "phase") phases.push({ ev: message.ev, t: message.t })
      else if (message.type === "done") rounds.shift()?.(message.outcomes)
      else if (message.type === "failed") {
        failed = new Error(`holder ${child.pid} failed: ${message.reason}; stderr: ${stderr.join("").slice(-1500)}`)
        markFailed(failed)
      }
      for (const wake of waiters.splice(0)) wake()
    }
  })
  const holder: Holder = {
    pid: child.pid ?? -1,
    child,
    phases,
    ready: bounded(ready, 60_000, `holder ${child.pid} ready`),
    go(timeoutMs = 30_000) {
      const done = new Promise<HolderOutcome[]>((resolve) => rounds.push(resolve))
      child.stdin!.write("go\n")
      return bounded(
        Promise.race([done, exited.then(() => Promise.reject(failed ?? new Error("holder exited")))]),
        timeoutMs,
        `holder ${child.pid} round`,
      )
    },
    async phase(ev, timeoutMs = 30_000) {
      const deadline = performance.now() + timeoutMs
      for (;;) {
        const seen = phases.find((p) => p.ev === ev)
        if (seen) return seen.t
        if (child.exitCode !== null || child.signalCode !== null)
          throw failed ?? new Error(`holder ${child.pid} ended before "${ev}"`)
        const left = deadline - performance.now()
        if (left <= 0) throw new Error(`holder ${child.pid}: no "${ev}" within ${timeoutMs} ms`)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 200))
          waiters.push(() => (clearTimeout(timer), resolve()))
        })
      }
    },
    resume() {
      child.stdin!.write("continue\n")
    },
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.stdin!.end()
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs)
      await exited
      clearTimeout(timer)
    },
    exited,
  }
  // A holder that dies before "ready" is reported by whoever awaits it; nothing else may reject unobserved.
  holder.ready.catch(() => {})
  return holder
}
