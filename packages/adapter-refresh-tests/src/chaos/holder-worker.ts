/**
 * A process for the lease failure tests: the pg store's adapter asks for one account's token with
 * `callers` concurrent calls, and reports each refresh phase (refresh-phases.ts) on stdout as it happens,
 * written synchronously. With `pauseAt`, the process stops right there, inside the library's flow, until a
 * line arrives on stdin: the test kills it (SIGKILL) or stalls it (SIGSTOP) at that exact point.
 *
 * stdin: each "go" starts a round of calls; "continue" ends a pause. stdout: HolderMessage lines.
 */
import { readSync, writeSync } from "node:fs"
import PostgresAdapter from "@auth/pg-adapter"
import pg from "pg"
import { withTokenSync, type RefreshOptions } from "authjs-adapter-refresh"
import { errorLabel } from "../kit/barrier-worker.js"
import type { JournalLine } from "./chaos-protocol.js"
import { flights, watchRefreshPhases } from "./refresh-phases.js"

export interface HolderConfig {
  databaseUrl: string
  /** `application_name` of the process's connections, so a test can find (and terminate) them. */
  applicationName: string
  provider: { id: string; issuer: string; clientId: string; clientSecret: string; token: string }
  userId: string
  callers: number
  /** The refresh options beyond the provider (coordination, bounds). */
  refresh: Partial<RefreshOptions>
  /** Stop the process at this phase of its first refresh until "continue" arrives. */
  pauseAt?: JournalLine["ev"]
}

export type HolderMessage =
  | { type: "ready"; pid: number }
  | { type: "phase"; ev: JournalLine["ev"]; t: number }
  | { type: "done"; outcomes: HolderOutcome[] }
  | { type: "failed"; reason: string }

export interface HolderOutcome {
  ok: boolean
  refreshed?: boolean
  /** The token came from memory: the database refused its write. */
  persistError?: boolean
  /** The error's code (or class name), never its message. */
  code?: string
}

const config = JSON.parse(process.argv[2] ?? "{}") as HolderConfig
const say = (message: HolderMessage): void => void writeSync(1, `${JSON.stringify(message)}\n`)

/** Reads one line from stdin, blocking the whole process (that is the point: nothing else runs meanwhile). */
function readLineSync(): string {
  const byte = Buffer.alloc(1)
  let line = ""
  for (;;) {
    let n: number
    try {
      n = readSync(0, byte, 0, 1, null)
    } catch (error) {
      if ((error as { code?: string }).code !== "EAGAIN") throw error
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5)
      continue
    }
    if (n === 0) return line
    const char = byte.toString("utf8")
    if (char === "\n") return line
    line += char
  }
}

let paused = false
watchRefreshPhases(config.provider.token, config.refresh.coordination ?? "lock", (line) => {
  say({ type: "phase", ev: line.ev, t: performance.timeOrigin + performance.now() })
  if (config.pauseAt === line.ev && !paused) {
    paused = true
    readLineSync()
  }
})

async function main(): Promise<void> {
  const url = new URL(config.databaseUrl)
  url.searchParams.set("application_name", config.applicationName)
  const pool = new pg.Pool({ connectionString: url.toString(), max: 10 })
  pool.on("error", () => {})
  const { id, issuer, clientId, clientSecret, token } = config.provider
  const adapter = withTokenSync(PostgresAdapter(pool), pool, {
    refresh: {
      providers: [{ id, type: "oidc", issuer, clientId, clientSecret, token }],
      skewSeconds: 0,
      minRefreshIntervalSeconds: 0,
      ...config.refresh,
    },
  })
  await pool.query("SELECT 1")
  say({ type: "ready", pid: process.pid })
  // One round of calls per "go", until stdin ends.
  while (readLineSync() === "go") say({ type: "done", outcomes: await round(adapter, id) })
  await pool.end()
}

async function round(adapter: ReturnType<typeof withTokenSync>, id: string): Promise<HolderOutcome[]> {
  const flight = { a: 0, holding: false, answered: false }
  return Promise.all(
    Array.from({ length: config.callers }, () =>
      flights
        .run(flight, () => adapter.getAccessToken({ userId: config.userId, provider: id }))
        .then(
          (result): HolderOutcome => ({
            ok: true,
            refreshed: result.refreshed,
            persistError: result.persistError !== undefined,
          }),
          (error: unknown): HolderOutcome => {
            const code = (error as { code?: unknown } | null)?.code
            return { ok: false, code: typeof code === "string" ? code : errorLabel(error) }
          },
        ),
    ),
  )
}

main().catch((error: unknown) => {
  say({ type: "failed", reason: errorLabel(error) })
  process.exitCode = 1
})
