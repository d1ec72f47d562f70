/**
 * One OS process of the chaos run: the pg fixture (@auth/pg-adapter on a node-postgres Pool) wrapped by
 * withTokenSync, asking every account for a token in a loop (one loop per account, each asking again just
 * after the token it got expires), until its stdin closes or it is killed. Before each step of a refresh it
 * appends a line to its own journal (chaos-protocol.ts), written synchronously so a SIGKILL loses none; the
 * phases are those refresh-phases.ts sees.
 */
import { closeSync, openSync, writeSync } from "node:fs"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { createInterface } from "node:readline"
import pg from "pg"
import { withTokenSync } from "authjs-adapter-refresh"
import PostgresAdapter from "@auth/pg-adapter"
import { errorLabel } from "../kit/barrier-worker.js"
import { REAUTH_COLUMN, type ChaosWorkerConfig, type ChaosWorkerMessage, type JournalLine } from "./chaos-protocol.js"
import { flights, watchRefreshPhases, type Flight } from "./refresh-phases.js"

const config = JSON.parse(process.argv[2] ?? "{}") as ChaosWorkerConfig
const send = (message: ChaosWorkerMessage): void => void process.stdout.write(`${JSON.stringify(message)}\n`)

const fd = openSync(join(config.journalDir, `worker-${process.pid}.ndjson`), "a")
function journal(line: Omit<JournalLine, "t">): void {
  writeSync(fd, `${JSON.stringify({ t: performance.timeOrigin + performance.now(), ...line })}\n`)
}

watchRefreshPhases(config.provider.token, config.coordination, journal)

const sleep = (ms: number, until?: Promise<void>): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    void until?.then(() => {
      clearTimeout(timer)
      resolve()
    })
  })

async function main(): Promise<void> {
  // The pg cell's adapter and pool, built here rather than through fixtures/databases.ts: a replacement
  // worker starts faster without the other cells' clients (Prisma, Kysely, Drizzle).
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 10 })
  pool.on("error", () => {})
  const { id, issuer, clientId, clientSecret, token } = config.provider
  const adapter = withTokenSync(PostgresAdapter(pool), pool, {
    refresh: {
      providers: [{ id, type: "oidc", issuer, clientId, clientSecret, token }],
      // Tokens live 2 s: every expiry is due at once, and no floor keeps one from being refreshed again.
      skewSeconds: 0,
      minRefreshIntervalSeconds: 0,
      reauthColumn: REAUTH_COLUMN,
      coordination: config.coordination,
      requestTimeoutMs: config.requestTimeoutMs,
      // Longer than the lease (W + M + 2 s): a caller waiting on a killed holder's lease sees its end.
      lockTimeoutMs: config.requestTimeoutMs + config.leaseMarginMs + 5_000,
      leaseMarginMs: config.leaseMarginMs,
    },
  })
  // Open the pool's connections first: the run measures refreshes, not connecting.
  await Promise.all(Array.from({ length: 10 }, () => pool.query("SELECT 1")))
  journal({ ev: "start" })
  send({ type: "ready", pid: process.pid })

  const lines = createInterface({ input: process.stdin })
  await new Promise<void>((resolve) => lines.once("line", () => resolve()))
  // The runner ends the run by closing stdin (or kills this process).
  const stopped = new Promise<void>((resolve) => lines.once("close", () => resolve()))
  let stopping = false
  void stopped.then(() => (stopping = true))

  const loop = async (n: number): Promise<void> => {
    const flight: Flight = { a: n, holding: false, answered: false }
    await sleep(Math.random() * 500, stopped)
    while (!stopping) {
      let wait: number
      journal({ ev: "ask", a: n })
      try {
        const result = await flights.run(flight, () => adapter.getAccessToken({ userId: String(n + 1), provider: id }))
        journal({ ev: "done", a: n, refreshed: result.refreshed })
        // Ask again just after this token expires, as an app's next request would.
        const expiresAt = Number(result.account.expires_at) * 1000
        wait = Math.min(Math.max(expiresAt - Date.now(), 0), 3_000) + Math.random() * 250
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code
        const label = typeof code === "string" ? code : errorLabel(error)
        journal({ ev: "done", a: n, code: label })
        wait = 200 + Math.random() * 300
      }
      await sleep(wait, stopped)
    }
  }
  await Promise.all(Array.from({ length: config.accounts }, (_, n) => loop(n)))
  send({ type: "done", pid: process.pid })
  await pool.end()
  closeSync(fd)
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  send({ type: "failed", pid: process.pid, reason: errorLabel(error) })
  process.exitCode = 1
})
