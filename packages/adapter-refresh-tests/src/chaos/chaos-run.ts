/**
 * One chaos run (docs/design/lease-coordination.md 7.3): N worker processes (chaos-worker.ts) share one real
 * PostgreSQL database and the real rotating oidc-provider, reached through the rewriting proxy that holds
 * each answer back 0-300 ms. A killer sends SIGKILL to a random running worker at random times
 * (exponential gaps) and starts a replacement, until the provider has granted enough refreshes. The proxy
 * records every refresh token presented (its account, a hash prefix, the client's port); the workers'
 * journals say what each process was doing; chaos-analysis.ts puts both together.
 */
import { AsyncLocalStorage } from "node:async_hooks"
import { spawn, type ChildProcess } from "node:child_process"
import { createHash } from "node:crypto"
import diagnostics from "node:diagnostics_channel"
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises"
import { cpus, loadavg, tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { applySchema } from "../fixtures/databases.js"
import { startOidcProvider, type TestOidcProvider } from "../harness/oidc-provider.js"
import { createDatabase } from "../harness/postgres.js"
import { startRewritingProxy } from "../harness/rewriting-proxy.js"
import { workerNodeFlags } from "../kit/barrier-workers.js"
import { analyse, type ChaosReport, type Kill, type Presentation } from "./chaos-analysis.js"
import {
  chaosAccountId,
  chaosAccountNumber,
  REAUTH_COLUMN,
  type ChaosWorkerConfig,
  type ChaosWorkerMessage,
  type Coordination,
  type JournalLine,
} from "./chaos-protocol.js"

const here = dirname(fileURLToPath(import.meta.url))
const workerFile = join(here, "chaos-worker.ts")
const packageDir = join(here, "..", "..")
/** The provider id of the chaos accounts. */
export const CHAOS_PROVIDER_ID = "chaos-oidc"
const PROVIDER_ID = CHAOS_PROVIDER_ID

/** The lease table of the design (3.2); lock mode ignores it. */
export const LEASE_TABLE_SQL =
  "CREATE TABLE IF NOT EXISTS authjs_refresh_lease (provider text NOT NULL, provider_account_id text NOT NULL, " +
  "fence bigint NOT NULL, holder text NOT NULL, lease_until timestamptz(3), " +
  "PRIMARY KEY (provider, provider_account_id))"

export interface ChaosOptions {
  coordination: Coordination
  workers: number
  accounts: number
  /** Stop once the provider granted this many refreshes... */
  grants: number
  /** ...and the killer sent at least this many kills... */
  minKills: number
  /** ...or after this long (ms) since the first worker started asking, whichever comes first. */
  maxRunMs: number
  /** The killer's mean gap (exponential), ms. */
  killMeanMs: number
  /** The provider holds each answer back a random 0..this ms. */
  maxDelayMs: number
  requestTimeoutMs: number
  leaseMarginMs: number
  log: (line: string) => void
}

export interface ChaosResult {
  options: Omit<ChaosOptions, "log">
  report: ChaosReport
  /** The provider's own count of refresh grants. */
  grants: number
  refreshErrors: number
  seconds: number
  loadBefore: number[]
  loadAfter: number[]
  cpus: number
  /** Accounts given a new grant after theirs was lost. */
  revived: number
}

interface Worker {
  child: ChildProcess
  pid: number
  ready: boolean
  done: Promise<ChaosWorkerMessage | undefined>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const clock = () => performance.timeOrigin + performance.now()
const fingerprint = (token: string) => createHash("sha256").update(token).digest("hex").slice(0, 16)

/** Seeds `accounts` users and accounts, each with a real offline grant; returns each grant's account. */
export async function seedChaosAccounts(
  pool: pg.Pool,
  op: TestOidcProvider,
  accounts: number,
): Promise<Map<string, number>> {
  const grantAccount = new Map<string, number>()
  const refreshTokens: string[] = []
  const accessTokens: string[] = []
  for (let n = 0; n < accounts; n++) {
    const grant = await op.issueOfflineGrant(chaosAccountId(n))
    grantAccount.set(grant.grantId, n)
    refreshTokens.push(grant.refreshToken)
    accessTokens.push(grant.accessToken)
  }
  await pool.query(
    `INSERT INTO users (id, name, email, "emailVerified") SELECT n + 1, 'Chaos user ' || n, ` +
      `'chaos-' || n || '@example.test', now() FROM generate_series(0, $1::int - 1) n`,
    [accounts],
  )
  await pool.query(`SELECT setval(pg_get_serial_sequence('users', 'id'), $1)`, [accounts])
  // Expired from the start: the first ask of every account refreshes it.
  await pool.query(
    `INSERT INTO accounts ("userId", type, provider, "providerAccountId", refresh_token, access_token, expires_at,
       scope, token_type)
     SELECT n + 1, 'oidc', $2, 'chaos-' || n, r, a, extract(epoch FROM now())::bigint - 1, $3, 'bearer'
     FROM unnest($1::int[], $4::text[], $5::text[]) AS t(n, r, a)`,
    [
      Array.from({ length: accounts }, (_, n) => n),
      PROVIDER_ID,
      "openid email profile offline_access",
      refreshTokens,
      accessTokens,
    ],
  )
  return grantAccount
}

/** Parses a worker's journal; a line cut by SIGKILL mid-write is dropped. */
function parseJournal(text: string): JournalLine[] {
  const lines: JournalLine[] = []
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue
    try {
      lines.push(JSON.parse(line) as JournalLine)
    } catch {
      // The last line of a killed process may be partial.
    }
  }
  return lines
}

export async function runChaos(adminUrl: string, options: ChaosOptions): Promise<ChaosResult> {
  const { log } = options
  const db = await createDatabase(adminUrl, `chaos_${options.coordination}`)
  const journalDir = await mkdtemp(join(tmpdir(), "authjs-refresh-chaos-"))
  const op = await startOidcProvider({ accessTokenTtl: 2, rotateRefreshToken: true })
  const proxy = await startRewritingProxy(op.endpoints.token)
  const pool = new pg.Pool({ connectionString: db.url, max: 4 })
  pool.on("error", () => {})
  const workers = new Map<number, Worker>()
  try {
    await applySchema("pg", db.url)
    await pool.query(`ALTER TABLE accounts ADD COLUMN ${REAUTH_COLUMN} text`)
    await pool.query(LEASE_TABLE_SQL)
    const grantAccount = await seedChaosAccounts(pool, op, options.accounts)

    // ---- the provider's side: every refresh token presented, with its account and the client's port ----
    const tokenAccount = new Map<string, number>()
    let indexed = 0
    const accountOfToken = (token: string): number => {
      for (; indexed < op.issued.length; indexed++) {
        const issued = op.issued[indexed]!
        if (issued.kind === "refresh_token" && issued.accountId)
          tokenAccount.set(issued.value, chaosAccountNumber(issued.accountId))
      }
      return tokenAccount.get(token) ?? -1
    }
    // The proxy's request handler runs in the context its server's request.start event entered.
    const clientPort = new AsyncLocalStorage<number>()
    const onRequest = (message: unknown) => {
      const port = (message as { socket?: { remotePort?: number } }).socket?.remotePort
      if (port !== undefined) clientPort.enterWith(port)
    }
    diagnostics.subscribe("http.server.request.start", onRequest)
    const presentations: Presentation[] = []
    /** Presentations whose answer the provider has not given yet, by token. */
    const pending = new Map<string, Presentation[]>()
    proxy.intercept = (request) => {
      const token = request.form.get("refresh_token")
      if (request.form.get("grant_type") !== "refresh_token" || !token) return undefined
      const p: Presentation = {
        t: clock(),
        a: accountOfToken(token),
        token: fingerprint(token),
        port: clientPort.getStore() ?? 0,
        status: 0,
      }
      presentations.push(p)
      pending.set(p.token, [...(pending.get(p.token) ?? []), p])
      return undefined
    }
    proxy.rewrite = (_body, status, request) => {
      const token = request.form.get("refresh_token")
      const waiting = token ? pending.get(fingerprint(token)) : undefined
      const p = waiting?.shift()
      if (p) p.status = status
      return undefined
    }
    // A random hold-back per answer (the proxy reads delayMs once per answer it delays).
    Object.defineProperty(proxy, "delayMs", { get: () => Math.random() * options.maxDelayMs })

    const config = (): ChaosWorkerConfig => ({
      databaseUrl: db.url,
      journalDir,
      coordination: options.coordination,
      accounts: options.accounts,
      provider: {
        id: PROVIDER_ID,
        issuer: op.issuer,
        clientId: op.clientId,
        clientSecret: op.clientSecret,
        token: proxy.url,
      },
      requestTimeoutMs: options.requestTimeoutMs,
      leaseMarginMs: options.leaseMarginMs,
    })
    const stderr: string[] = []
    let failure: Error | undefined
    const startWorker = (): Worker => {
      const child = spawn(process.execPath, [...workerNodeFlags(workerFile), workerFile, JSON.stringify(config())], {
        cwd: packageDir,
        stdio: ["pipe", "pipe", "pipe"],
        env: { ...process.env, NODE_OPTIONS: "" },
      })
      const worker: Worker = { child, pid: child.pid ?? -1, ready: false, done: Promise.resolve(undefined) }
      child.stderr!.setEncoding("utf8")
      child.stderr!.on("data", (chunk: string) => stderr.push(chunk))
      worker.done = new Promise((resolve) => {
        let last: ChaosWorkerMessage | undefined
        let buffer = ""
        child.stdout!.setEncoding("utf8")
        child.stdout!.on("data", (chunk: string) => {
          buffer += chunk
          for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
            const line = buffer.slice(0, nl).trim()
            buffer = buffer.slice(nl + 1)
            if (!line.startsWith("{")) continue
            const message = JSON.parse(line) as ChaosWorkerMessage
            last = message
            if (message.type === "ready") {
              worker.ready = true
              child.stdin!.write("go\n")
            } else if (message.type === "failed") {
              failure ??= new Error(`chaos worker ${message.pid} failed: ${message.reason}`)
            }
          }
        })
        // "close", not "exit": the last stdout line may still be on its way when the process exits.
        child.on("close", () => resolve(last))
      })
      workers.set(worker.pid, worker)
      return worker
    }

    const loadBefore = loadavg()
    for (let i = 0; i < options.workers; i++) startWorker()
    // The run starts when the first worker asks.
    const startBound = performance.now() + 120_000
    while (![...workers.values()].some((w) => w.ready)) {
      if (failure) throw failure
      if (performance.now() > startBound) throw new Error(`no chaos worker started: ${stderr.join("").slice(-2000)}`)
      await sleep(50)
    }
    const started = performance.now()
    const kills: Kill[] = []
    let stopping = false
    const killer = (async () => {
      while (!stopping) {
        await sleep(-Math.log(1 - Math.random()) * options.killMeanMs)
        const running = [...workers.values()].filter((w) => w.ready && w.child.exitCode === null)
        if (stopping || running.length === 0) continue
        const victim = running[Math.floor(Math.random() * running.length)]!
        kills.push({ t: clock(), pid: victim.pid })
        victim.child.kill("SIGKILL")
        workers.delete(victim.pid)
        startWorker()
      }
    })()
    // A lost grant would leave its account dead for the rest of the run: once a worker has marked it
    // (refresh_error), give it a new grant, as the user signing in again would.
    let reviving = false
    const revive = async () => {
      if (reviving) return
      reviving = true
      try {
        const marked = await pool.query(
          `SELECT "providerAccountId" AS id FROM accounts WHERE provider = $1 AND ${REAUTH_COLUMN} IS NOT NULL`,
          [PROVIDER_ID],
        )
        for (const { id } of marked.rows as Array<{ id: string }>) {
          const grant = await op.issueOfflineGrant(id)
          grantAccount.set(grant.grantId, chaosAccountNumber(id))
          await pool.query(
            `UPDATE accounts SET refresh_token = $1, access_token = $2, expires_at = $3, ${REAUTH_COLUMN} = NULL ` +
              `WHERE provider = $4 AND "providerAccountId" = $5 AND ${REAUTH_COLUMN} IS NOT NULL`,
            [grant.refreshToken, grant.accessToken, grant.expiresAt, PROVIDER_ID, id],
          )
          revived++
        }
      } finally {
        reviving = false
      }
    }
    let revived = 0
    let lastReport = 0
    while (true) {
      void revive().catch((error: unknown) => (failure ??= error instanceof Error ? error : new Error(String(error))))
      if (failure) throw failure
      const elapsed = performance.now() - started
      if (op.stats.refreshGrants >= options.grants && kills.length >= options.minKills) break
      if (elapsed > options.maxRunMs) {
        log(`[chaos] time bound (${options.maxRunMs} ms) reached with ${op.stats.refreshGrants} grants`)
        break
      }
      if (elapsed - lastReport > 10_000) {
        lastReport = elapsed
        log(
          `[chaos] ${options.coordination}: ${op.stats.refreshGrants} grants, ` +
            `${kills.length} kills, ${(elapsed / 1000).toFixed(0)} s`,
        )
      }
      await sleep(100)
    }
    stopping = true
    await killer
    // Stop asking: every worker finishes its current calls and says "done".
    const finals = [...workers.values()]
    for (const w of finals) w.child.stdin!.end()
    const results = await Promise.race([Promise.all(finals.map((w) => w.done)), sleep(30_000).then(() => undefined)])
    if (!results) throw new Error(`chaos workers did not stop within 30 s: ${stderr.join("").slice(-2000)}`)
    const seconds = (performance.now() - started) / 1000
    await sleep(500) // answers the proxy still holds back
    const loadAfter = loadavg()
    diagnostics.unsubscribe("http.server.request.start", onRequest)

    const journals = new Map<number, JournalLine[]>()
    for (const file of await readdir(journalDir)) {
      const pid = Number(/^worker-(\d+)\.ndjson$/.exec(file)?.[1])
      if (Number.isInteger(pid)) journals.set(pid, parseJournal(await readFile(join(journalDir, file), "utf8")))
    }
    const revokedAccounts = [...new Set(op.stats.revokedGrantIds)].map((id) => grantAccount.get(id) ?? -1)
    const report = analyse({ journals, kills, presentations, revokedAccounts })
    const { log: _log, ...rest } = options
    return {
      options: rest,
      report,
      grants: op.stats.refreshGrants,
      refreshErrors: op.stats.refreshErrors.length,
      seconds,
      loadBefore,
      loadAfter,
      cpus: cpus().length,
      revived,
    }
  } finally {
    for (const w of workers.values()) if (w.child.exitCode === null) w.child.kill("SIGKILL")
    await pool.end()
    await proxy.stop()
    await op.stop()
    await db.drop().catch(() => {})
    // AUTHJS_REFRESH_CHAOS_KEEP=1 keeps the journals to read (they hold no token).
    if (process.env.AUTHJS_REFRESH_CHAOS_KEEP === "1") log(`[chaos] journals kept in ${journalDir}`)
    else await rm(journalDir, { recursive: true, force: true })
  }
}
