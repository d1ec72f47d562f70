/**
 * Runs a refresh storm in several OS processes released together: every worker builds its fixture and
 * says "ready"; the runner then awaits `beforeGo` (e.g. until the stored token has expired) and sends
 * "go" to all of them at once.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { StormMessage, StormOutcome, StormWorkerConfig } from "./storm-protocol.js"

const here = dirname(fileURLToPath(import.meta.url))
const packageDir = join(here, "..", "..")
const workerFile = join(here, "storm-worker.ts")

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
  const children: ChildProcess[] = []
  const stderr: string[] = []
  const outcomes: StormOutcome[] = []
  let ready = 0
  let done = 0
  let goAt = 0
  const timeoutMs = options.timeoutMs ?? 60_000

  const finished = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`storm workers did not finish within ${timeoutMs} ms; stderr: ${stderr.join("").slice(-2000)}`)), timeoutMs)
    const fail = (error: Error): void => {
      clearTimeout(timer)
      reject(error)
    }
    for (let i = 0; i < options.processes; i++) {
      const config: StormWorkerConfig = { ...base, callers: options.callersPerProcess }
      const child = spawn(
        process.execPath,
        ["--conditions=@authjs-adapter-refresh/source", "--import", "tsx", "--no-warnings", workerFile, JSON.stringify(config)],
        { cwd: packageDir, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, NODE_OPTIONS: "" } },
      )
      children.push(child)
      child.stderr!.setEncoding("utf8")
      child.stderr!.on("data", (chunk: string) => stderr.push(chunk))
      child.on("exit", (code) => {
        if (code !== 0) fail(new Error(`storm worker ${child.pid} exited with ${code}; stderr: ${stderr.join("").slice(-2000)}`))
      })
      let buffer = ""
      child.stdout!.setEncoding("utf8")
      child.stdout!.on("data", (chunk: string) => {
        buffer += chunk
        for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
          const line = buffer.slice(0, nl).trim()
          buffer = buffer.slice(nl + 1)
          if (!line.startsWith("{")) continue
          const message = JSON.parse(line) as StormMessage
          if (message.type === "ready" && ++ready === options.processes) {
            void (async () => {
              try {
                await options.beforeGo?.()
              } catch (error) {
                fail(error as Error)
                return
              }
              goAt = performance.now()
              for (const c of children) c.stdin!.write("go\n")
            })()
          } else if (message.type === "done") {
            outcomes.push(...message.outcomes)
            if (++done === options.processes) {
              clearTimeout(timer)
              resolve()
            }
          } else if (message.type === "failed") {
            fail(new Error(`storm worker ${message.pid} failed: ${message.reason}`))
          }
        }
      })
    }
  })
  try {
    await finished
    return { outcomes, processes: options.processes, wallMs: performance.now() - goAt }
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL")
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}
