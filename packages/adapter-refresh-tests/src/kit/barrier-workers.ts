import { spawn, type ChildProcess } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

/**
 * Runs one worker script per config in its own OS process, all released at once: each worker builds
 * what it needs and prints {"type":"ready"}; when every worker is ready (and `beforeGo` resolved) each
 * gets "go" on stdin, runs its burst and prints {"type":"done", outcomes}. Bounded by `timeoutMs`.
 * Used by the conformance kit's storms and by the refresh storm/bench.
 */
export type BarrierMessage<Outcome> =
  | { type: "ready"; pid: number }
  | { type: "done"; pid: number; outcomes: Outcome[] }
  | { type: "failed"; pid: number; reason: string }

export interface ProcessOutcome<Outcome> {
  pid: number
  outcomes: Outcome[]
}

export interface BarrierRun<Outcome> {
  processes: ProcessOutcome<Outcome>[]
  /** `performance.now()` at the moment "go" was sent. */
  goAt: number
}

/** The package root: workers run there so `--import tsx` resolves. */
const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..")

/**
 * Node flags for a worker: a TypeScript worker file is this workspace's source, run under tsx with the
 * workspace's source condition; a built one (dist, as installed from npm) runs as plain JavaScript, with
 * only the flags the caller adds (a loader for a TypeScript fixture, for one).
 */
export function workerNodeFlags(workerFile: string, extra: readonly string[] = []): string[] {
  const fromSource = /\.[cm]?ts$/.test(workerFile)
  return [
    ...(fromSource ? ["--conditions=@authjs-adapter-refresh/source", "--import", "tsx"] : []),
    ...extra,
    "--no-warnings",
  ]
}

export async function runBarrierWorkers<Outcome>(
  workerFile: string,
  configs: readonly unknown[],
  options: { beforeGo?: () => Promise<void>; timeoutMs?: number; execArgv?: readonly string[] } = {},
): Promise<BarrierRun<Outcome>> {
  const timeoutMs = options.timeoutMs ?? 60_000
  const children: ChildProcess[] = []
  const stderr: string[] = []
  const results: ProcessOutcome<Outcome>[] = []
  let ready = 0
  let goAt = 0

  const finished = new Promise<void>((resolve, reject) => {
    // Says how far the workers got: a loaded machine may spend the bound starting them.
    const progress = (): string =>
      `${ready} of ${configs.length} ready, ${goAt ? "go sent" : "no go sent"}, ${results.length} done`
    const timer = setTimeout(
      () => fail(new Error(`workers did not finish within ${timeoutMs} ms (${progress()})`)),
      timeoutMs,
    )
    function fail(error: Error): void {
      clearTimeout(timer)
      reject(new Error(`${error.message}; worker stderr: ${stderr.join("").slice(-2000)}`))
    }
    const onMessage = (message: BarrierMessage<Outcome>): void => {
      if (message.type === "ready" && ++ready === configs.length) {
        Promise.resolve(options.beforeGo?.()).then(() => {
          goAt = performance.now()
          for (const child of children) child.stdin!.write("go\n")
        }, fail)
      } else if (message.type === "done") {
        results.push({ pid: message.pid, outcomes: message.outcomes })
        if (results.length === configs.length) {
          clearTimeout(timer)
          resolve()
        }
      } else if (message.type === "failed") {
        fail(new Error(`worker ${message.pid} failed: ${message.reason}`))
      }
    }
    for (const config of configs) {
      const child = spawn(
        process.execPath,
        [...workerNodeFlags(workerFile, options.execArgv), workerFile, JSON.stringify(config)],
        { cwd: packageDir, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, NODE_OPTIONS: "" } },
      )
      children.push(child)
      child.stderr!.setEncoding("utf8")
      child.stderr!.on("data", (chunk: string) => stderr.push(chunk))
      child.on("exit", (code) => {
        if (code !== 0 && !results.some((r) => r.pid === child.pid))
          fail(new Error(`worker ${child.pid} exited with ${code}`))
      })
      let buffer = ""
      child.stdout!.setEncoding("utf8")
      child.stdout!.on("data", (chunk: string) => {
        buffer += chunk
        for (let newline = buffer.indexOf("\n"); newline >= 0; newline = buffer.indexOf("\n")) {
          const line = buffer.slice(0, newline).trim()
          buffer = buffer.slice(newline + 1)
          if (line.startsWith("{")) onMessage(JSON.parse(line) as BarrierMessage<Outcome>)
        }
      })
    }
  })
  try {
    await finished
    return { processes: results, goAt }
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL")
  }
}
