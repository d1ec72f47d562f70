/** Starts the re-encryption worker as a child process and follows its progress lines. */
import { spawn, type ChildProcess } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { AccountKey, ReencryptProgress, ReencryptResult } from "authjs-adapter-refresh"
import type { PgCell } from "../fixtures/databases.js"

export interface ReencryptWorkerConfig {
  cell: PgCell
  databaseUrl: string
  keys: string
  batchSize: number
  after?: AccountKey
  pauseMs?: number
}

export interface ReencryptProcess {
  child: ChildProcess
  progress: ReencryptProgress[]
  /** Resolves at the first progress report matching `predicate` (bounded by `timeoutMs`). */
  waitForProgress(predicate: (p: ReencryptProgress) => boolean, timeoutMs: number): Promise<ReencryptProgress>
  /** Resolves when the process exits: its result line, if it printed one, and the exit signal. */
  exited: Promise<{
    result: ReencryptResult | undefined
    code: number | null
    signal: NodeJS.Signals | null
    stderr: string
  }>
}

const workerFile = join(dirname(fileURLToPath(import.meta.url)), "reencrypt-worker.ts")
const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..")

export function startReencryptProcess(config: ReencryptWorkerConfig): ReencryptProcess {
  const child = spawn(
    process.execPath,
    [
      "--conditions=@authjs-adapter-refresh/source",
      "--import",
      "tsx",
      "--no-warnings",
      workerFile,
      JSON.stringify(config),
    ],
    {
      cwd: packageDir,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NODE_OPTIONS: "" },
    },
  )
  const progress: ReencryptProgress[] = []
  const waiters: Array<{ predicate: (p: ReencryptProgress) => boolean; resolve: (p: ReencryptProgress) => void }> = []
  let result: ReencryptResult | undefined
  let stderr = ""
  let buffer = ""
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    buffer += chunk
    for (let newline = buffer.indexOf("\n"); newline >= 0; newline = buffer.indexOf("\n")) {
      const line = buffer.slice(0, newline).trim()
      buffer = buffer.slice(newline + 1)
      if (!line.startsWith("{")) continue
      const message = JSON.parse(line) as { type: string } & ReencryptResult
      const { type, ...body } = message
      if (type === "result") result = body
      else {
        progress.push(body)
        for (const waiter of waiters.splice(0)) {
          if (waiter.predicate(body)) waiter.resolve(body)
          else waiters.push(waiter)
        }
      }
    }
  })
  const exited = new Promise<{
    result: ReencryptResult | undefined
    code: number | null
    signal: NodeJS.Signals | null
    stderr: string
  }>((resolve) => child.on("exit", (code, signal) => resolve({ result, code, signal, stderr })))
  return {
    child,
    progress,
    exited,
    waitForProgress(predicate, timeoutMs) {
      const seen = progress.find(predicate)
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching progress within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`)),
          timeoutMs,
        )
        waiters.push({ predicate, resolve: (p) => (clearTimeout(timer), resolve(p)) })
        void exited.then(
          () => (
            clearTimeout(timer),
            reject(new Error(`the worker exited before a matching progress; stderr: ${stderr.slice(-2000)}`))
          ),
        )
      })
    },
  }
}
