/**
 * One OS process of the chaos run: the pg fixture (@auth/pg-adapter on a node-postgres Pool) wrapped by
 * withTokenSync, asking every account for a token in a loop (one loop per account, each asking again just
 * after the token it got expires), until its stdin closes or it is killed. Before each step of a refresh it
 * appends a line to its own journal (chaos-protocol.ts), written synchronously so a SIGKILL loses none:
 * - "taken": the library's lock-wait event (lock mode), or a lease take that returned a row (lease mode);
 * - "sent" / "answered": undici's diagnostics channels for the request to the token endpoint (Node's fetch);
 * - "committed" / "released": the driver's statement that ended the hold, seen by wrapping pg's
 *   `Client.prototype.query` in this process (no library change);
 * each attributed to its account through an AsyncLocalStorage the account's loop runs in.
 */
import { AsyncLocalStorage } from "node:async_hooks"
import diagnostics from "node:diagnostics_channel"
import { closeSync, openSync, writeSync } from "node:fs"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { createInterface } from "node:readline"
import pg from "pg"
import { TOKEN_SYNC_CHANNELS, withTokenSync, type LockWaitEvent } from "authjs-adapter-refresh"
import PostgresAdapter from "@auth/pg-adapter"
import { errorLabel } from "../kit/barrier-worker.js"
import { REAUTH_COLUMN, type ChaosWorkerConfig, type ChaosWorkerMessage, type JournalLine } from "./chaos-protocol.js"

const config = JSON.parse(process.argv[2] ?? "{}") as ChaosWorkerConfig
const send = (message: ChaosWorkerMessage): void => void process.stdout.write(`${JSON.stringify(message)}\n`)

/** One account's loop: what its current refresh has done so far. */
interface Flight {
  a: number
  holding: boolean
  answered: boolean
}
const flights = new AsyncLocalStorage<Flight>()

const fd = openSync(join(config.journalDir, `worker-${process.pid}.ndjson`), "a")
function journal(line: Omit<JournalLine, "t">): void {
  writeSync(fd, `${JSON.stringify({ t: performance.timeOrigin + performance.now(), ...line })}\n`)
}

// ---- taken (lock mode): the library's own event, published once the account's lock is granted ----
diagnostics.subscribe(TOKEN_SYNC_CHANNELS.lockWait, (message) => {
  const event = message as LockWaitEvent
  const flight = flights.getStore()
  if (!flight || event.purpose !== "refresh" || event.outcome !== "acquired") return
  flight.holding = true
  flight.answered = false
  journal({ ev: "taken", a: flight.a })
})

// ---- sent / answered: the token request, through undici's channels (Node's fetch) ----
const tokenUrl = new URL(config.provider.token)
const requests = new WeakMap<object, { flight: Flight; status?: number }>()
interface UndiciRequest {
  origin?: unknown
  path?: unknown
}
diagnostics.subscribe("undici:request:create", (message) => {
  const { request } = message as { request: UndiciRequest }
  const flight = flights.getStore()
  if (!flight || String(request.origin) !== tokenUrl.origin || request.path !== tokenUrl.pathname) return
  requests.set(request, { flight })
})
diagnostics.subscribe("undici:client:sendHeaders", (message) => {
  const { request, socket } = message as { request: object; socket: { localPort?: number } }
  const entry = requests.get(request)
  if (entry) journal({ ev: "sent", a: entry.flight.a, port: socket.localPort ?? 0 })
})
diagnostics.subscribe("undici:request:headers", (message) => {
  const { request, response } = message as { request: object; response: { statusCode: number } }
  const entry = requests.get(request)
  if (entry) entry.status = response.statusCode
})
diagnostics.subscribe("undici:request:trailers", (message) => {
  const { request } = message as { request: object }
  const entry = requests.get(request)
  if (!entry) return
  entry.flight.answered = entry.status === 200
  journal({ ev: "answered", a: entry.flight.a, status: entry.status ?? 0 })
})
diagnostics.subscribe("undici:request:error", (message) => {
  const { request } = message as { request: object }
  const entry = requests.get(request)
  if (entry) journal({ ev: "answered", a: entry.flight.a, status: 0 })
})

// ---- taken (lease mode), committed, released: the statements themselves, as they finish ----
type Query = (this: pg.Client, ...args: unknown[]) => unknown
const clientPrototype = pg.Client.prototype as unknown as { query: Query }
const originalQuery = clientPrototype.query
clientPrototype.query = function (this: pg.Client, ...args: unknown[]): unknown {
  const flight = flights.getStore()
  const result = originalQuery.apply(this, args)
  const first = args[0]
  const text = typeof first === "string" ? first : (first as { text?: unknown } | null)?.text
  if (!flight || typeof text !== "string" || !(result instanceof Promise)) return result
  const statement = text.trimStart().slice(0, 40).toUpperCase()
  const isEnd = statement.startsWith("COMMIT") || statement.startsWith("ROLLBACK")
  const isTake = /^(WITH|INSERT)/.test(statement) && /authjs_refresh_lease/i.test(text) && /INSERT/i.test(text)
  const isRelease =
    /^UPDATE/.test(statement) && /authjs_refresh_lease/i.test(text) && /lease_until\s*=\s*NULL/i.test(text)
  const isWrite = /authjs_refresh_lease/i.test(text) && /UPDATE\s+"?accounts"?/i.test(text)
  if (!isEnd && !isTake && !isRelease && !isWrite) return result
  // Registered before the caller's own await: the line is written before the library goes on.
  result.then(
    (answer: { rowCount?: number | null }) => {
      if (isTake && (answer.rowCount ?? 0) > 0 && !flight.holding) {
        flight.holding = true
        flight.answered = false
        journal({ ev: "taken", a: flight.a })
      } else if ((isEnd || isRelease || isWrite) && flight.holding) {
        flight.holding = false
        journal({ ev: flight.answered ? "committed" : "released", a: flight.a })
        flight.answered = false
      }
    },
    () => {},
  )
  return result
}

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
      // Waits for another holder end sooner than the default 10 s, so that a stopping worker stops soon.
      lockTimeoutMs: 5_000,
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
