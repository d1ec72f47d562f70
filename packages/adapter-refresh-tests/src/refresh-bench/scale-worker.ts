/**
 * One OS process of the scale bench: the pg fixture (@auth/pg-adapter on a node-postgres Pool of 10)
 * wrapped by withTokenSync with the default refresh options (maxConcurrentRefreshes 4) and the row's
 * `coordination` (lock or lease). At "go" it reads
 * the phase (first expiry, window) from the database, then asks getAccessToken for each of its accounts
 * just after that account's stored token expires, and reports one summary (scale-protocol.ts).
 */
import { writeFile } from "node:fs/promises"
import { Session } from "node:inspector/promises"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import pg from "pg"
import { withTokenSync } from "authjs-adapter-refresh"
import { createPgFixture } from "../fixtures/databases.js"
import { errorLabel, runBarrierWorker } from "../kit/barrier-worker.js"
import {
  accountNumberOf,
  asks,
  expiryOf,
  PHASE_TABLE,
  type ScaleOutcome,
  type ScaleWorkerConfig,
} from "./scale-protocol.js"

const config = JSON.parse(process.argv[2] ?? "{}") as ScaleWorkerConfig
const round = (ms: number): number => Math.round(ms * 10) / 10

type ConnectCallback = (error: Error | undefined, client: unknown, done: unknown) => void

// Count every statement sent (the store's and the fixture's go through node-postgres' Client#query).
let statements = 0
/**
 * Statements by their text's first 80 characters (values are parameters, so one text per kind), as sent: the
 * bench process collapses whitespace when it prints them, so counting costs a slice, not a regex.
 */
const kinds = new Map<string, number>()
let countingKinds = false
const originalQuery = pg.Client.prototype.query
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements++
  if (countingKinds) {
    const first = args[0] as string | { text?: unknown } | undefined
    const text = typeof first === "string" ? first : String(first?.text ?? "")
    const kind = text.slice(0, 80)
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
  }
  return (originalQuery as (...a: unknown[]) => unknown).apply(this, args)
} as typeof pg.Client.prototype.query

await runBarrierWorker(
  async () => {
    const fixture = await createPgFixture(config.databaseUrl)
    const { id, issuer, clientId, clientSecret } = config.provider
    const adapter = withTokenSync(fixture.adapter, fixture.db, {
      // The provider's tokens live an hour: every call of a phase finds its account due only because the
      // bench set expires_at. No minimum interval, so that the next phase can expire them again.
      refresh: {
        providers: [{ id, type: "oidc", issuer, clientId, clientSecret }],
        skewSeconds: 0,
        minRefreshIntervalSeconds: 0,
        coordination: config.coordination ?? "lock",
        ...(config.patient ? { queueTimeoutMs: 600_000, lockTimeoutMs: 120_000 } : {}),
      },
    })
    // Time every wait for a pooled connection (pool.query goes through pool.connect too).
    const poolWaits: number[] = []
    let measuring = false
    const pool = fixture.pool
    const connect = pool.connect.bind(pool) as (callback?: ConnectCallback) => Promise<unknown> | undefined
    const timed = (callback?: ConnectCallback): Promise<unknown> | undefined => {
      const started = performance.now()
      const record = () => measuring && poolWaits.push(round(performance.now() - started))
      if (callback) return connect((error, client, done) => (record(), callback(error, client, done)))
      return connect()!.then((client) => (record(), client))
    }
    ;(pool as unknown as { connect: typeof timed }).connect = timed
    const rows = (await pool.query(`SELECT "userId", "providerAccountId" FROM accounts WHERE provider = $1`, [id]))
      .rows as Array<{ userId: number; providerAccountId: string }>
    const mine = rows
      .map((row) => ({ userId: String(row.userId), n: accountNumberOf(row.providerAccountId) }))
      .filter(({ n }) => n < config.accounts && asks(n, config.index, config.processes, config.askers))
    // Open the pool's connections before the burst, so it measures the operations, not connecting.
    await Promise.all(Array.from({ length: 10 }, () => pool.query("SELECT 1")))
    // Load fetch (Node's bundled undici is compiled on first use, tens of ms) before the burst too: a
    // point of 100 accounts over 8 processes otherwise bills it to a dozen grants per process.
    await (await fetch(`${config.provider.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`)).arrayBuffer()
    return {
      fixture,
      adapter,
      mine,
      poolWaits,
      startMeasuring: () => (measuring = true),
      stopMeasuring: () => (measuring = false),
    }
  },
  async ({ fixture, adapter, mine, poolWaits, startMeasuring, stopMeasuring }) => {
    const phase = (await fixture.pool.query(`SELECT start_second, window_seconds FROM ${PHASE_TABLE}`)).rows[0] as {
      start_second: string
      window_seconds: number
    }
    const startSecond = Number(phase.start_second)
    const profiler = config.profileDir ? new Session() : undefined
    if (profiler) {
      profiler.connect()
      await profiler.post("Profiler.enable")
      await profiler.post("Profiler.start")
    }
    const elu = performance.eventLoopUtilization()
    const cpu = process.cpuUsage()
    const statementsBefore = statements
    countingKinds = true
    startMeasuring()
    let samples = 0
    let waitingSum = 0
    let waitingMax = 0
    const sampler = setInterval(() => {
      samples++
      waitingSum += fixture.pool.waitingCount
      waitingMax = Math.max(waitingMax, fixture.pool.waitingCount)
    }, 50)
    const latencies: number[] = []
    const failures: Record<string, number> = {}
    const failedAccounts: number[] = []
    let refreshed = 0
    let maxLateMs = 0
    await Promise.all(
      mine.map(
        ({ userId, n }) =>
          new Promise<void>((resolve, reject) => {
            // Just after the expiry: every process asking for this account aims at the same moment (an
            // offset within the second fixed per account) plus up to 50 ms of its own.
            const due =
              expiryOf(n, config.accounts, startSecond, phase.window_seconds) * 1000 +
              20 +
              ((n * 7919) % 900) +
              Math.random() * 50
            // A throw outside the try still settles this promise: Promise.all fails instead of waiting forever.
            const call = async () => {
              maxLateMs = Math.max(maxLateMs, Date.now() - due)
              const started = performance.now()
              try {
                const result = await adapter.getAccessToken({ userId, provider: config.provider.id })
                if (result.refreshed) refreshed++
              } catch (error) {
                const waitedFor = (error as { waitedFor?: unknown } | null)?.waitedFor
                const code = (error as { code?: unknown } | null)?.code
                const label =
                  (typeof code === "string" ? code : errorLabel(error)) +
                  (typeof waitedFor === "string" ? ` (${waitedFor})` : "")
                failures[label] = (failures[label] ?? 0) + 1
                failedAccounts.push(n)
              }
              latencies.push(round(performance.now() - started))
            }
            setTimeout(() => void call().then(resolve, reject), Math.max(0, due - Date.now()))
          }),
      ),
    )
    clearInterval(sampler)
    stopMeasuring()
    const used = process.cpuUsage(cpu)
    const sent = statements - statementsBefore
    countingKinds = false
    if (profiler) {
      const { profile } = await profiler.post("Profiler.stop")
      profiler.disconnect()
      const file = join(config.profileDir!, `${config.profileName ?? "scale"}-${config.index}.cpuprofile`)
      await writeFile(file, JSON.stringify(profile))
    }
    const outcome: ScaleOutcome = {
      calls: mine.length,
      latencies,
      refreshed,
      failures,
      failedAccounts,
      cpuMs: (used.user + used.system) / 1000,
      systemCpuMs: used.system / 1000,
      statements: sent,
      statementKinds: Object.fromEntries(kinds),
      poolWaits,
      waitingMax,
      waitingMean: samples ? waitingSum / samples : 0,
      maxLateMs: Math.max(0, maxLateMs),
      eventLoopUtilization: performance.eventLoopUtilization(elu).utilization,
    }
    return [outcome]
  },
  ({ fixture }) => fixture.close(),
)
