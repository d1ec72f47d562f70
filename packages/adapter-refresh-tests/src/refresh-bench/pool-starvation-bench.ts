/**
 * `pnpm bench` section "pool starvation": 40 accounts expiring together on ONE pg Pool of 10, the provider
 * answering in 1.5 s (a real delaying proxy in front of the real rotating oidc-provider). A row per mode:
 * lock mode with the default per-process cap (`maxConcurrentRefreshes`: 4), lock mode without a cap, and
 * lease mode (`refresh.coordination: "lease"`, when this build has it). Per row: callers served within
 * 3 s (two round trips), the last caller's time, and an unrelated `SELECT 1` the application sends on the
 * same pool every 50 ms whether or not the previous one answered (open loop), each timed from its own send.
 * Meanwhile "nothing held" is sampled on the server every 100 ms: the pool's sessions `idle in
 * transaction`, the server connections they use, and the locks they hold (pg_locks, advisory included).
 */
import pg from "pg"
import { withTokenSync } from "authjs-adapter-refresh"
import { Browser } from "../harness/browser.js"
import { startRewritingProxy } from "../harness/rewriting-proxy.js"
import { createDatabase } from "../harness/postgres.js"
import { SCHEMA_TABLES } from "../fixtures/databases.js"
import { percentile } from "./run-storm.js"
import { LEASE_MISSING, LEASE_TABLE_SQL, leaseModeAvailable, loadText, type Coordination } from "./lease-mode.js"
import { PROVIDER_ID, startRefreshScenario } from "./scenario.js"

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a")
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const POOL_SIZE = 10
const STORM_ACCOUNTS = 40
const PROVIDER_DELAY_MS = 1_500
const PROBE_EVERY_MS = 50
const SAMPLE_EVERY_MS = 100
/** Two provider round trips: the target for every caller. */
const SERVED_WITHIN_MS = 3_000
const SLOW_PROBE_MS = 250
/** The application_name of the pool the application and the library share: how the sampler finds its sessions. */
const POOL_APP = "bench-pool"
/**
 * A transaction open this long spans more than a few statements: the provider answers in 1.5 s, and a short
 * write transaction (lease mode's write and release) lasts milliseconds even on a loaded machine.
 */
const LONG_TRANSACTION_MS = 100

interface Mode {
  label: string
  coordination: Coordination
  maxConcurrentRefreshes?: number
}

/** What the server showed of the pool's sessions, the highest of each over the storm's samples. */
interface Held {
  samples: number
  connections: number
  /** Sessions not `idle` (running a statement, or inside a transaction). */
  inUse: number
  idleInTransaction: number
  /** Of those, in a transaction open for `LONG_TRANSACTION_MS` or more (one that spans a provider request). */
  idleInLongTransaction: number
  /** The oldest transaction of the pool's sessions, in ms. */
  longestTransactionMs: number
  locks: number
  /** Locks of sessions that ran no statement from before the lock read to after it. */
  locksBetweenStatements: number
  /** Of those, in a transaction open for `LONG_TRANSACTION_MS` or more. */
  locksBetweenStatementsLong: number
  advisoryLocks: number
}

interface StarvationStats {
  mode: Mode
  accounts: number
  gotToken: number
  failures: string[]
  grants: number
  servedWithin: number
  lastCallerMs: number
  probes: number
  probesFailed: number
  p50: number
  p99: number
  max: number
  slowProbes: number
  /** When the slowest probe was sent, ms after the storm began. */
  worstSentAfterMs: number
  idleP99: number
  held: Held
  load: string
}

/**
 * `SELECT 1` on `pool` every `PROBE_EVERY_MS`, whether or not the previous one answered, each timed from its
 * own send (an app under steady traffic: a stall shows in every probe sent during it, not in one).
 */
function openLoopProbe(pool: pg.Pool): {
  stop(): Promise<{ latencies: number[]; failed: number; worstSentAt: number }>
} {
  const pending: Array<Promise<number | undefined>> = []
  let worst = 0
  let worstSentAt = NaN
  const send = () => {
    const sent = performance.now()
    pending.push(
      pool.query("SELECT 1").then(
        () => {
          const latency = performance.now() - sent
          if (latency > worst) [worst, worstSentAt] = [latency, sent]
          return latency
        },
        () => undefined,
      ),
    )
  }
  send()
  const timer = setInterval(send, PROBE_EVERY_MS)
  return {
    async stop() {
      clearInterval(timer)
      const all = await Promise.all(pending)
      const latencies = all.filter((t): t is number => t !== undefined)
      return { latencies, failed: all.length - latencies.length, worstSentAt }
    },
  }
}

interface Activity {
  pid: number
  state: string | null
  state_change: string | null
  /** How long its transaction has been open, ms; null outside a transaction. */
  xact_ms: number | null
}

/**
 * Samples the pool's sessions every `SAMPLE_EVERY_MS` until `stop()`, on its own connection. Each sample reads
 * pg_stat_activity, then pg_locks, then pg_stat_activity again (three autocommit statements, so three fresh
 * snapshots): a lock counts as held between statements only when its session was not `active` in both reads
 * with the same `state_change`, i.e. it ran no statement while the lock was read.
 */
async function startSampler(url: string): Promise<{ stop(): Promise<Held> }> {
  const observer = new pg.Client({ connectionString: url, application_name: "bench-observer" })
  await observer.connect()
  const activitySql =
    "SELECT pid, state, state_change::text, " +
    "(extract(epoch FROM clock_timestamp() - xact_start) * 1000)::float8 AS xact_ms FROM pg_stat_activity " +
    "WHERE application_name = $1 AND datname = current_database()"
  const locksSql =
    "SELECT pid, count(*)::int AS n, (count(*) FILTER (WHERE locktype = 'advisory'))::int AS advisory " +
    "FROM pg_locks WHERE pid = ANY($1::int[]) GROUP BY pid"
  const held: Held = {
    samples: 0,
    connections: 0,
    inUse: 0,
    idleInTransaction: 0,
    idleInLongTransaction: 0,
    longestTransactionMs: 0,
    locks: 0,
    locksBetweenStatements: 0,
    locksBetweenStatementsLong: 0,
    advisoryLocks: 0,
  }
  const long = (a: Activity) => (a.xact_ms ?? 0) >= LONG_TRANSACTION_MS
  let running = true
  const loop = (async () => {
    while (running) {
      const before = (await observer.query(activitySql, [POOL_APP])).rows as Activity[]
      const locks = (await observer.query(locksSql, [before.map((a) => a.pid)])).rows as Array<{
        pid: number
        n: number
        advisory: number
      }>
      const after = new Map(((await observer.query(activitySql, [POOL_APP])).rows as Activity[]).map((a) => [a.pid, a]))
      const still = (a: Activity) => {
        const b = after.get(a.pid)
        return a.state !== "active" && b?.state === a.state && b.state_change === a.state_change
      }
      const idleInTx = before.filter((a) => a.state?.startsWith("idle in transaction"))
      const quiet = new Set(before.filter(still).map((a) => a.pid))
      const quietLong = new Set(before.filter((a) => still(a) && long(a)).map((a) => a.pid))
      held.samples++
      held.connections = Math.max(held.connections, before.length)
      held.inUse = Math.max(held.inUse, before.filter((a) => a.state !== "idle").length)
      held.idleInTransaction = Math.max(held.idleInTransaction, idleInTx.length)
      held.idleInLongTransaction = Math.max(held.idleInLongTransaction, idleInTx.filter(long).length)
      held.longestTransactionMs = Math.max(held.longestTransactionMs, ...before.map((a) => a.xact_ms ?? 0))
      held.locks = Math.max(
        held.locks,
        locks.reduce((sum, l) => sum + l.n, 0),
      )
      held.locksBetweenStatements = Math.max(
        held.locksBetweenStatements,
        locks.filter((l) => quiet.has(l.pid)).reduce((sum, l) => sum + l.n, 0),
      )
      held.locksBetweenStatementsLong = Math.max(
        held.locksBetweenStatementsLong,
        locks.filter((l) => quietLong.has(l.pid)).reduce((sum, l) => sum + l.n, 0),
      )
      held.advisoryLocks = Math.max(
        held.advisoryLocks,
        locks.reduce((sum, l) => sum + l.advisory, 0),
      )
      await sleep(SAMPLE_EVERY_MS)
    }
  })()
  return {
    async stop() {
      running = false
      await loop
      await observer.end()
      return held
    },
  }
}

/**
 * `STORM_ACCOUNTS` accounts (each linked by a real sign-in) expire together; each is asked for a token
 * once, concurrently, through ONE pg Pool of `POOL_SIZE`, while the provider takes `PROVIDER_DELAY_MS` to
 * answer. Run for each mode on the same accounts (they expire again between runs).
 */
async function measure(adminUrl: string, modes: Mode[]): Promise<StarvationStats[]> {
  const db = await createDatabase(adminUrl, "bench_pool_starvation")
  const TTL = 8
  const s = await startRefreshScenario({
    cell: "pg",
    databaseUrl: db.url,
    login: "starve-0",
    skewSeconds: 0,
    provider: { accessTokenTtl: TTL },
    setupSql: LEASE_TABLE_SQL,
  })
  const proxy = await startRewritingProxy(s.op.endpoints.token)
  proxy.delayMs = PROVIDER_DELAY_MS
  const pool = new pg.Pool({ connectionString: db.url, max: POOL_SIZE, application_name: POOL_APP })
  const out: StarvationStats[] = []
  try {
    const logins = Array.from({ length: STORM_ACCOUNTS }, (_, i) => `starve-${i}`)
    for (const login of logins.slice(1)) {
      const r = await s.app.signIn(new Browser(), { login })
      if (!r.ok) throw new Error(`sign-in failed:\n${r.trace}`)
    }
    const accountsSql =
      `SELECT "userId", "providerAccountId", expires_at ` + `FROM ${SCHEMA_TABLES.pg.accounts} WHERE provider = $1`
    const rows = (await pool.query(accountsSql, [PROVIDER_ID])).rows as Array<{
      userId: unknown
      providerAccountId: string
      expires_at: unknown
    }>
    if (rows.length !== STORM_ACCOUNTS) throw new Error(`expected ${STORM_ACCOUNTS} accounts, found ${rows.length}`)

    for (const mode of modes) {
      const engine = withTokenSync(s.fixture.adapter, pool, {
        refresh: {
          providers: [{ ...s.providerConfig, token: proxy.url }],
          skewSeconds: 0,
          // The provider's tokens live TTL s here: no floor, so that every run finds them expired.
          minRefreshIntervalSeconds: 0,
          coordination: mode.coordination,
          ...(mode.maxConcurrentRefreshes ? { maxConcurrentRefreshes: mode.maxConcurrentRefreshes } : {}),
        },
      })
      await Promise.all(Array.from({ length: POOL_SIZE }, () => pool.query("SELECT 1"))) // open the pool's connections
      const idle = openLoopProbe(pool)
      await sleep(1_000)
      const baseline = await idle.stop()
      // Wait until every account is expired: they all are due together.
      const latest = Math.max(...(await pool.query(accountsSql, [PROVIDER_ID])).rows.map((r) => Number(r.expires_at)))
      const wait = latest * 1000 - Date.now() + 100
      if (wait > 0) await sleep(wait)
      const grants = s.op.stats.refreshGrants
      const sampler = await startSampler(db.url)
      const probe = openLoopProbe(pool)
      const started = performance.now()
      const servedAt: number[] = []
      const results = await Promise.allSettled(
        rows.map(async (row, i) => {
          try {
            return await engine.getAccessToken({ userId: String(row.userId), provider: PROVIDER_ID })
          } finally {
            servedAt[i] = performance.now() - started
          }
        }),
      )
      const during = await probe.stop()
      const held = await sampler.stop()
      const failures = results.flatMap((r) =>
        r.status === "rejected" ? [String((r.reason as { code?: unknown })?.code ?? (r.reason as Error)?.name)] : [],
      )
      out.push({
        mode,
        accounts: STORM_ACCOUNTS,
        gotToken: results.filter((r) => r.status === "fulfilled").length,
        failures,
        grants: s.op.stats.refreshGrants - grants,
        servedWithin: results.filter((r, i) => r.status === "fulfilled" && servedAt[i]! <= SERVED_WITHIN_MS).length,
        lastCallerMs: Math.max(...servedAt),
        probes: during.latencies.length + during.failed,
        probesFailed: during.failed,
        p50: percentile(during.latencies, 50),
        p99: percentile(during.latencies, 99),
        max: Math.max(...during.latencies),
        slowProbes: during.latencies.filter((t) => t > SLOW_PROBE_MS).length,
        worstSentAfterMs: during.worstSentAt - started,
        idleP99: percentile(baseline.latencies, 99),
        held,
        load: loadText(),
      })
    }
    return out
  } finally {
    await pool.end()
    await proxy.stop()
    await s.stop()
    await db.drop()
  }
}

function table(rows: StarvationStats[], leaseMissing: boolean): string[] {
  const out: string[] = []
  out.push(
    `Pool starvation: ${STORM_ACCOUNTS} accounts expiring together, one pg Pool of ${POOL_SIZE}, ` +
      `provider answering in ${PROVIDER_DELAY_MS / 1000} s (delaying proxy in front of the real provider); ` +
      `the app's SELECT 1 sent every ${PROBE_EVERY_MS} ms on the same pool whether or not the previous one ` +
      `answered, each timed from its own send`,
  )
  out.push(
    "| mode | got a token | served within 3 s | last caller | failed | refresh grants " +
      "| SELECT 1 during storm: p50 | p99 | max (sent at) | > 250 ms | (n) | SELECT 1 idle p99 | load (1 min) |",
  )
  out.push(
    "|------|------------:|------------------:|------------:|-------:|---------------:" +
      "|---------------------------:|----:|----:|---------:|----:|------------------:|-------------:|",
  )
  for (const r of rows) {
    const failed = r.failures.length ? `${r.failures.length} (${[...new Set(r.failures)].join(", ")})` : "0"
    const probes = r.probesFailed ? `${r.probes}, ${r.probesFailed} failed` : `${r.probes}`
    out.push(
      `| ${r.mode.label} | ${r.gotToken}/${r.accounts} | ${r.servedWithin}/${r.accounts} ` +
        `| ${fmt(r.lastCallerMs / 1000, 2)} s | ${failed} | ${r.grants} ` +
        `| ${fmt(r.p50, 1)} ms | ${fmt(r.p99, 1)} ms | ${fmt(r.max, 1)} ms (${fmt(r.worstSentAfterMs, 0)} ms) ` +
        `| ${r.slowProbes} | ${probes} ` +
        `| ${fmt(r.idleP99, 2)} ms | ${r.load.split(" ")[2]} |`,
    )
  }
  out.push("")
  out.push(
    `Nothing held: the pool's sessions sampled every ${SAMPLE_EVERY_MS} ms during each storm ` +
      "(pg_stat_activity, pg_locks; the highest of any sample)",
  )
  out.push(
    "| mode | samples | server connections | in use | idle in transaction: any | in a transaction ≥ 100 ms " +
      "| longest transaction | locks | locks between statements: any | in a transaction ≥ 100 ms | advisory locks |",
  )
  out.push("|------|--------:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
  for (const { mode, held: h } of rows) {
    out.push(
      `| ${mode.label} | ${h.samples} | ${h.connections} | ${h.inUse} | ${h.idleInTransaction} ` +
        `| ${h.idleInLongTransaction} | ${fmt(h.longestTransactionMs, 0)} ms | ${h.locks} ` +
        `| ${h.locksBetweenStatements} | ${h.locksBetweenStatementsLong} | ${h.advisoryLocks} |`,
    )
  }
  if (leaseMissing) out.push(LEASE_MISSING)
  out.push(`machine: ${rows.at(-1)?.load ?? loadText()} at the end of the last row`)
  return out
}

/** Runs the section and returns its tables. */
export async function poolStarvation(adminUrl: string): Promise<string[]> {
  const probe = new pg.Pool({ connectionString: adminUrl, max: 1 })
  const lease = leaseModeAvailable(probe)
  await probe.end()
  const modes: Mode[] = [
    { label: "lock, cap 4 (default)", coordination: "lock", maxConcurrentRefreshes: 4 },
    { label: `lock, no cap (${STORM_ACCOUNTS})`, coordination: "lock", maxConcurrentRefreshes: STORM_ACCOUNTS },
    ...(lease ? [{ label: "lease", coordination: "lease" } as const] : []),
  ]
  return table(await measure(adminUrl, modes), !lease)
}
