/**
 * `pnpm bench` section "scale" (`--only=scale`): 10,000 accounts with real refresh tokens at the real
 * rotating oidc-provider, asked for tokens by 8 OS processes (scale-worker.ts, the pg store on a
 * node-postgres Pool each), every account by 3 of them. Two phases: expiries spread over a window, and
 * all at once (a cliff). Then curves, on cliffs: against the number of accounts (300 to 10,000, 8
 * processes) and of processes (1 to 8, 500 accounts). Per point: expiries, refresh grants counted at the provider
 * (must equal expiries, with no invalid_grant and no revoked grant), getAccessToken p50/p99, pool waits, provider
 * requests per second, and what was busy (event-loop utilisation of the provider and workers, machine CPU).
 * Writes the curves as SVG (docs/bench/ by default) and returns the tables. A row per `refresh.coordination`
 * (lock, and lease when this build has it), each with the machine's load beside it.
 *
 * Environment (for a shared or slow machine; the full section runs every point in each mode):
 * - AUTHJS_REFRESH_BENCH_SCALE_POINTS: "all" (default), "headline" (spread, cliff, patient cliff), "cliff"
 *   (the 10,000 x 8 cliff with default waits alone, per mode: about 1.5 min each here), or "<accounts>x<processes>"
 *   (one cliff of that size per mode, e.g. "500x1" to profile one process);
 * - AUTHJS_REFRESH_BENCH_SCALE_MODES: "lock,lease" (default: lease only when this build has it);
 * - AUTHJS_REFRESH_BENCH_CPU_PROF: a directory; every point's workers and the provider's process profile
 *   their CPU during the point (node:inspector), and the section prints the top items per module
 *   (cpu-profile-summary.ts, which also runs alone on that directory).
 *
 * Seeding: each grant is made with oidc-provider's own models (harness issueOfflineGrant), as a code
 * exchange would store it, and users and accounts rows go in with one INSERT each (unnest of arrays).
 */
import { mkdir, writeFile } from "node:fs/promises"
import { Session } from "node:inspector/promises"
import { cpus, loadavg } from "node:os"
import { performance } from "node:perf_hooks"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { startOidcProvider, type TestOidcProvider } from "../harness/oidc-provider.js"
import { createDatabase } from "../harness/postgres.js"
import { applySchema } from "../fixtures/databases.js"
import { runBarrierWorkers } from "../kit/barrier-workers.js"
import { percentile } from "./run-storm.js"
import { summariseProfiles } from "./cpu-profile-summary.js"
import { LEASE_MISSING, LEASE_TABLE_SQL, leaseModeAvailable, loadText, type Coordination } from "./lease-mode.js"
import { PROVIDER_ID } from "./scenario.js"
import { accountIdOf, PHASE_TABLE, type ScaleOutcome, type ScaleWorkerConfig } from "./scale-protocol.js"
import type { StormProviderSettings } from "./storm-protocol.js"
import { lineCharts, type Panel } from "./svg-chart.js"

const here = dirname(fileURLToPath(import.meta.url))
const workerFile = join(here, "scale-worker.ts")
/** Where the SVGs go: docs/bench/ of the repository, or AUTHJS_REFRESH_BENCH_SVG_DIR. */
const SVG_DIR = process.env.AUTHJS_REFRESH_BENCH_SVG_DIR ?? join(here, "..", "..", "..", "..", "docs", "bench")
/** Scales every account count (default 1: 10,000 at most), for slower or faster machines. */
const FACTOR = Number(process.env.AUTHJS_REFRESH_BENCH_SCALE_FACTOR ?? "1")

const ACCOUNTS = Math.round(10_000 * FACTOR)
const PROCESSES = 8
const ASKERS = 3
const SPREAD_SECONDS = 30
const ACCOUNT_CURVE = [300, 1_000, 3_000, 10_000].map((n) => Math.round(n * FACTOR))
const PROCESS_CURVE = [1, 2, 4, 8]
const PROCESS_CURVE_ACCOUNTS = Math.round(500 * FACTOR)
const POINTS = process.env.AUTHJS_REFRESH_BENCH_SCALE_POINTS ?? "all"
/** A single cliff of `<accounts>x<processes>` instead of the headline's. */
const ONE_CLIFF = /^(\d+)x(\d+)$/.exec(POINTS)
if (!["all", "headline", "cliff"].includes(POINTS) && !ONE_CLIFF)
  throw new Error(
    `AUTHJS_REFRESH_BENCH_SCALE_POINTS: "all", "headline", "cliff" or "<accounts>x<processes>", not "${POINTS}"`,
  )
const PROFILE_DIR = process.env.AUTHJS_REFRESH_BENCH_CPU_PROF

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a")
const log = (line: string) => process.stderr.write(`${line}\n`)

interface Point {
  coordination: Coordination
  phase: "spread" | "cliff"
  /** Callers with a background job's waits (ScaleWorkerConfig.patient). */
  patient: boolean
  accounts: number
  processes: number
  askers: number
  windowSeconds: number
  calls: number
  failures: Record<string, number>
  grants: number
  /** Accounts whose every asking call failed (so nobody refreshed them). grants must be accounts - unserved. */
  unserved: number
  invalidGrant: number
  otherGrantErrors: number
  revoked: number
  /** Calls whose result said refreshed: one per expiry when exactly one process refreshed each account. */
  refreshedCalls: number
  /** Rows holding a fresh token after the phase (read with SQL). */
  storedFresh: number
  p50: number
  p99: number
  poolWaitP50: number
  poolWaitP99: number
  waitingMax: number
  seconds: number
  requestsPerSecond: number
  peakRequestsPerSecond: number
  providerElu: number
  /** CPU ms per refresh grant: all worker processes, and the bench's process (the provider). */
  workerCpuPerGrant: number
  /** Of which system (kernel) time. */
  workerSystemCpuPerGrant: number
  /** Statements all workers sent, per grant. */
  statementsPerGrant: number
  /** The workers' statements by kind (scale-protocol's statementKinds), summed. */
  statementKinds: Record<string, number>
  providerCpuPerGrant: number
  cpuBusy: number
  maxLateMs: number
  /** The machine's 1-minute load average when the point started and when it ended. */
  loadBefore: number
  loadAfter: number
  /** The CPU profiles' file name prefix (with AUTHJS_REFRESH_BENCH_CPU_PROF). */
  profileName: string
}

/** One refresh per expiry: a grant for every account some call got a token for, none twice, none refused. */
const okOf = (p: Point) =>
  p.grants === p.accounts - p.unserved && p.invalidGrant === 0 && p.revoked === 0 && p.storedFresh === p.grants

/** Busy share of all CPUs between two os.cpus() readings. */
function cpuBusy(before: ReturnType<typeof cpus>, after: ReturnType<typeof cpus>): number {
  let busy = 0
  let total = 0
  after.forEach((cpu, i) => {
    const a = cpu.times
    const b = before[i]!.times
    const all = a.user + a.nice + a.sys + a.irq + a.idle - (b.user + b.nice + b.sys + b.irq + b.idle)
    busy += all - (a.idle - b.idle)
    total += all
  })
  return total ? busy / total : NaN
}

async function seed(pool: pg.Pool, op: TestOidcProvider, accounts: number): Promise<void> {
  const refreshTokens: string[] = []
  const accessTokens: string[] = []
  const expiries: number[] = []
  for (let n = 0; n < accounts; n++) {
    const grant = await op.issueOfflineGrant(accountIdOf(n))
    refreshTokens.push(grant.refreshToken)
    accessTokens.push(grant.accessToken)
    expiries.push(grant.expiresAt)
  }
  await pool.query(
    `INSERT INTO users (id, name, email, "emailVerified") SELECT n + 1, 'Scale user ' ` +
      `|| n, 'scale-' || n || '@example.test', now() FROM generate_series(0, $1::int - 1) n`,
    [accounts],
  )
  await pool.query(`SELECT setval(pg_get_serial_sequence('users', 'id'), $1)`, [accounts])
  const numbers = Array.from({ length: accounts }, (_, n) => n)
  await pool.query(
    `INSERT INTO accounts ("userId", type, provider, "providerAccountId", refresh_token, access_token, expires_at,
       scope, token_type)
     SELECT n + 1, 'oidc', $2, 'scale-' || n, r, a, e, $3, 'bearer'
     FROM unnest($1::int[], $4::text[], $5::text[], $6::bigint[]) AS t(n, r, a, e)`,
    [numbers, PROVIDER_ID, "openid email profile offline_access", refreshTokens, accessTokens, expiries],
  )
}

/** Profiles this process (the provider's) while a point runs, when AUTHJS_REFRESH_BENCH_CPU_PROF is set. */
async function startProviderProfile(): Promise<Session | undefined> {
  if (!PROFILE_DIR) return undefined
  const session = new Session()
  session.connect()
  await session.post("Profiler.enable")
  await session.post("Profiler.start")
  return session
}

async function runPoint(
  pool: pg.Pool,
  op: TestOidcProvider,
  provider: StormProviderSettings,
  databaseUrl: string,
  coordination: Coordination,
  phase: Point["phase"],
  accounts: number,
  processes: number,
  patient = false,
): Promise<Point> {
  const askers = Math.min(ASKERS, processes)
  const windowSeconds = phase === "spread" ? SPREAD_SECONDS : 0
  const profileName = `${coordination}-${phase}${patient ? "-patient" : ""}-${accounts}x${processes}`
  const configs: ScaleWorkerConfig[] = Array.from({ length: processes }, (_, index) => ({
    databaseUrl,
    provider,
    index,
    processes,
    askers,
    accounts,
    patient,
    coordination,
    ...(PROFILE_DIR ? { profileDir: PROFILE_DIR, profileName } : {}),
  }))
  const loadBefore = loadavg()[0]!
  let providerProfile: Session | undefined
  let elu = performance.eventLoopUtilization()
  let cpuBefore = cpus()
  let ownCpu = process.cpuUsage()
  const run = await runBarrierWorkers<ScaleOutcome>(workerFile, configs, {
    timeoutMs: patient ? 1_200_000 : 300_000,
    beforeGo: async () => {
      const now = Date.now()
      // Spread: the first expiries one to two seconds after "go". Cliff: all expired already.
      const start = phase === "spread" ? Math.ceil(now / 1000) + 1 : Math.floor(now / 1000) - 2
      await pool.query(`UPDATE ${PHASE_TABLE} SET start_second = $1, window_seconds = $2`, [start, windowSeconds])
      // The same schedule as scale-protocol's expiryOf (integer division of non-negative numbers).
      await pool.query(
        `UPDATE accounts SET expires_at = $1::bigint + (substring("providerAccountId" from 7)::int * $2::int) / $3::int
         WHERE provider = $4 AND substring("providerAccountId" from 7)::int < $3::int`,
        [start, windowSeconds, accounts, PROVIDER_ID],
      )
      op.resetRecords()
      providerProfile = await startProviderProfile()
      elu = performance.eventLoopUtilization()
      cpuBefore = cpus()
      ownCpu = process.cpuUsage()
    },
  })
  const seconds = (performance.now() - run.goAt) / 1000
  const providerElu = performance.eventLoopUtilization(elu).utilization
  const ownCpuMs = (({ user, system }) => (user + system) / 1000)(process.cpuUsage(ownCpu))
  const busy = cpuBusy(cpuBefore, cpus())
  if (providerProfile) {
    const { profile } = await providerProfile.post("Profiler.stop")
    providerProfile.disconnect()
    await writeFile(join(PROFILE_DIR!, `${profileName}-provider.cpuprofile`), JSON.stringify(profile))
  }
  const outcomes = run.processes.flatMap((p) => p.outcomes)
  const failures: Record<string, number> = {}
  for (const o of outcomes)
    for (const [label, count] of Object.entries(o.failures)) failures[label] = (failures[label] ?? 0) + count
  const latencies = outcomes.flatMap((o) => o.latencies)
  const failedCalls = new Map<number, number>()
  for (const o of outcomes) for (const n of o.failedAccounts) failedCalls.set(n, (failedCalls.get(n) ?? 0) + 1)
  const unserved = [...failedCalls.values()].filter((count) => count === askers).length
  const poolWaits = outcomes.flatMap((o) => o.poolWaits)
  const stats = op.stats
  const requests = stats.refreshGrants + stats.grantErrors.length
  const perSecond = new Map<number, number>()
  for (const token of op.issuedOf("refresh_token"))
    perSecond.set(Math.floor(token.issuedAt / 1000), (perSecond.get(Math.floor(token.issuedAt / 1000)) ?? 0) + 1)
  const fresh = await pool.query(
    `SELECT count(*)::int AS n FROM accounts WHERE provider = $1 AND ` +
      `substring("providerAccountId" from 7)::int < $2::int AND expires_at > $3`,
    [PROVIDER_ID, accounts, Math.floor(Date.now() / 1000) + 600],
  )
  return {
    coordination,
    patient,
    phase,
    accounts,
    processes,
    askers,
    windowSeconds,
    calls: latencies.length,
    failures,
    grants: stats.refreshGrants,
    unserved,
    invalidGrant: stats.refreshErrors.filter((e) => e.error === "invalid_grant").length,
    otherGrantErrors: stats.grantErrors.filter((e) => e.error !== "invalid_grant").length,
    revoked: stats.grantsRevoked,
    refreshedCalls: outcomes.reduce((sum, o) => sum + o.refreshed, 0),
    storedFresh: (fresh.rows[0] as { n: number }).n,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    poolWaitP50: percentile(poolWaits, 50),
    poolWaitP99: percentile(poolWaits, 99),
    waitingMax: Math.max(0, ...outcomes.map((o) => o.waitingMax)),
    seconds,
    requestsPerSecond: requests / seconds,
    peakRequestsPerSecond: Math.max(0, ...perSecond.values()),
    providerElu,
    workerCpuPerGrant: outcomes.reduce((sum, o) => sum + o.cpuMs, 0) / stats.refreshGrants,
    workerSystemCpuPerGrant: outcomes.reduce((sum, o) => sum + o.systemCpuMs, 0) / stats.refreshGrants,
    statementsPerGrant: outcomes.reduce((sum, o) => sum + o.statements, 0) / stats.refreshGrants,
    statementKinds: outcomes.reduce<Record<string, number>>((sum, o) => {
      for (const [text, n] of Object.entries(o.statementKinds)) {
        const kind = text.replace(/\s+/g, " ").trim().slice(0, 60)
        sum[kind] = (sum[kind] ?? 0) + n
      }
      return sum
    }, {}),
    providerCpuPerGrant: ownCpuMs / stats.refreshGrants,
    cpuBusy: busy,
    maxLateMs: Math.max(0, ...outcomes.map((o) => o.maxLateMs)),
    loadBefore,
    loadAfter: loadavg()[0]!,
    profileName,
  }
}

const HEADER = [
  "| coordination | phase | accounts | processes (askers each) | expiries | refresh grants | unserved " +
    "| invalid_grant | revoked | calls | failed | getAccessToken p50 | p99 | pool wait p50 | p99 | waiting max " +
    "| provider req/s mean | peak | took | provider loop busy | CPU ms/grant workers (system) " +
    "| statements/grant | provider | machine CPU busy | load 1 min before, after |",
  "|--------------|-------|---------:|------------------------:|---------:|---------------:|---------:|" +
    "--------------:|--------:|------:|-------:|-------------------:|----:|--------------:|----:|------------:|" +
    "--------------------:|-----:|-----:|-------------------:|---------------------:|" +
    "----:|---------:|-----------------:|--------------------------:|",
]

function row(p: Point): string {
  const failed = Object.values(p.failures).reduce((a, b) => a + b, 0)
  const failedText = failed
    ? `${failed} (${Object.entries(p.failures)
        .map(([label, n]) => `${label}: ${n}`)
        .join(", ")})`
    : "0"
  const phase =
    (p.phase === "spread" ? `spread over ${p.windowSeconds} s` : "cliff") + (p.patient ? ", patient callers" : "")
  const pct = (x: number) => `${fmt(x * 100, 0)}%`
  return (
    `| ${p.coordination} | ${phase} | ${p.accounts} | ${p.processes} (${p.askers}) | ` +
    `${p.accounts} | ${p.grants}${okOf(p) ? "" : " MISMATCH"} | ${p.unserved} ` +
    `| ${p.invalidGrant} | ${p.revoked} | ${p.calls} | ${failedText} | ` +
    `${fmt(p.p50)} ms | ${fmt(p.p99)} ms | ${fmt(p.poolWaitP50, 2)} ms | ${fmt(p.poolWaitP99)} ms | ` +
    `${p.waitingMax} | ${fmt(p.requestsPerSecond, 0)} | ${p.peakRequestsPerSecond} | ${fmt(p.seconds)} s | ` +
    `${pct(p.providerElu)} | ${fmt(p.workerCpuPerGrant)} (${fmt(p.workerSystemCpuPerGrant)}) ` +
    `| ${fmt(p.statementsPerGrant)} ` +
    `| ${fmt(p.providerCpuPerGrant)} | ${pct(p.cpuBusy)} ` +
    `| ${fmt(p.loadBefore, 2)}, ${fmt(p.loadAfter, 2)} |`
  )
}

function charts(points: readonly Point[], x: (p: Point) => number, xLabel: string, caption: string): string {
  // One series per coordination mode when the points hold more than one.
  const modes = [...new Set(points.map((p) => p.coordination))]
  const series = (name: string, y: (p: Point) => number) =>
    modes.map((mode) => ({
      name: modes.length > 1 ? `${name} (${mode})` : name,
      points: points.filter((p) => p.coordination === mode).map((p) => [x(p), y(p)] as const),
    }))
  const panels: Panel[] = [
    {
      title: "getAccessToken latency",
      xLabel,
      yLabel: "ms",
      series: [...series("p50", (p) => p.p50), ...series("p99", (p) => p.p99)],
    },
    {
      title: "Refresh grants at the provider",
      xLabel,
      yLabel: "count",
      series: [
        ...series("expiries", (p) => p.accounts).slice(0, 1),
        ...series("refresh grants", (p) => p.grants),
        ...series("unserved (timed out)", (p) => p.unserved),
      ],
    },
    {
      title: "Provider token requests",
      xLabel,
      yLabel: "per second",
      series: [...series("mean", (p) => p.requestsPerSecond), ...series("peak second", (p) => p.peakRequestsPerSecond)],
    },
  ]
  return lineCharts(panels, caption)
}

/** Runs the section: returns its tables, writes its SVGs. Sets a failing exit code when grants != expiries. */
export async function scaleBench(adminUrl: string): Promise<string[]> {
  const db = await createDatabase(adminUrl, "bench_scale")
  const op = await startOidcProvider({ accessTokenTtl: 3600, rotateRefreshToken: true })
  const pool = new pg.Pool({ connectionString: db.url, max: 2 })
  pool.on("error", () => {})
  try {
    await applySchema("pg", db.url)
    await pool.query(LEASE_TABLE_SQL)
    await pool.query(
      `CREATE TABLE ${PHASE_TABLE} (start_second BIGINT NOT NULL, ` +
        `window_seconds INTEGER NOT NULL); INSERT INTO ${PHASE_TABLE} VALUES (0, 0)`,
    )
    const seedStarted = performance.now()
    await seed(pool, op, Math.max(ACCOUNTS, ONE_CLIFF ? Number(ONE_CLIFF[1]) : 0))
    const seedSeconds = (performance.now() - seedStarted) / 1000
    const provider: StormProviderSettings = {
      id: PROVIDER_ID,
      issuer: op.issuer,
      clientId: op.clientId,
      clientSecret: op.clientSecret,
      tokenEndpoint: op.endpoints.token,
    }
    const point = async (
      coordination: Coordination,
      phase: Point["phase"],
      accounts: number,
      processes: number,
      patient = false,
    ): Promise<Point> => {
      log(
        `scale (${coordination}): ${phase}${patient ? " (patient callers)" : ""}, ${accounts} accounts, ` +
          `${processes} processes; ${loadText()} ...`,
      )
      return runPoint(pool, op, provider, db.url, coordination, phase, accounts, processes, patient)
    }
    const leaseReady = leaseModeAvailable(pool)
    const modes = (process.env.AUTHJS_REFRESH_BENCH_SCALE_MODES ?? (leaseReady ? "lock,lease" : "lock"))
      .split(",")
      .map((mode) => mode.trim())
    for (const mode of modes) {
      if (mode !== "lock" && mode !== "lease") throw new Error(`AUTHJS_REFRESH_BENCH_SCALE_MODES: unknown "${mode}"`)
      if (mode === "lease" && !leaseReady) throw new Error(`AUTHJS_REFRESH_BENCH_SCALE_MODES: ${LEASE_MISSING}`)
    }
    const headline: Point[] = []
    const byAccounts: Point[] = []
    const byProcesses: Point[] = []
    for (const mode of modes as Coordination[]) {
      if (ONE_CLIFF) {
        headline.push(await point(mode, "cliff", Number(ONE_CLIFF[1]), Number(ONE_CLIFF[2])))
        continue
      }
      const spread = POINTS === "cliff" ? undefined : await point(mode, "spread", ACCOUNTS, PROCESSES)
      const cliff = await point(mode, "cliff", ACCOUNTS, PROCESSES)
      // The same cliff with callers that wait as long as it takes: is every expiry refreshed, once?
      const patientCliff = POINTS === "cliff" ? undefined : await point(mode, "cliff", ACCOUNTS, PROCESSES, true)
      headline.push(...[spread, cliff, patientCliff].filter((p): p is Point => p !== undefined))
      if (POINTS !== "all") continue
      const mine: Point[] = []
      for (const n of ACCOUNT_CURVE) mine.push(n === ACCOUNTS ? cliff : await point(mode, "cliff", n, PROCESSES))
      byAccounts.push(...mine)
      for (const p of PROCESS_CURVE) {
        const known = mine.find((q) => q.accounts === PROCESS_CURVE_ACCOUNTS && q.processes === p)
        byProcesses.push(known ?? (await point(mode, "cliff", PROCESS_CURVE_ACCOUNTS, p)))
      }
    }

    const out: string[] = []
    out.push(
      `Scale: ${ACCOUNTS} accounts seeded in ${fmt(seedSeconds)} s (grants ` +
        `made with oidc-provider's own models, rows with one INSERT each); ` +
        `pg store, one node-postgres Pool of 10 per process, ` +
        `default waits (lock mode: maxConcurrentRefreshes 4), provider tokens rotate and live 1 h; ` +
        `each phase re-expires the accounts by SQL, then every asking ` +
        `process calls getAccessToken once per account just after its expiry; points: ${POINTS}`,
    )
    out.push(ONE_CLIFF ? "One cliff:" : `Headline (${PROCESSES} processes, ${ACCOUNTS} accounts):`)
    out.push(...HEADER, ...headline.map(row), "")
    if (!leaseReady) out.push(LEASE_MISSING, "")
    const curves = [...byAccounts, ...byProcesses.filter((p) => !byAccounts.includes(p))]
    if (POINTS === "all") {
      await mkdir(SVG_DIR, { recursive: true })
      const accountsSvg = join(SVG_DIR, "scale-accounts.svg")
      const processesSvg = join(SVG_DIR, "scale-processes.svg")
      await writeFile(
        accountsSvg,
        charts(
          byAccounts,
          (p) => p.accounts,
          "accounts expiring at once",
          `Cliff, ${PROCESSES} processes, ${ASKERS} ask for each account; ${cpus().length} CPUs`,
        ),
      )
      await writeFile(
        processesSvg,
        charts(
          byProcesses,
          (p) => p.processes,
          "processes",
          `Cliff, ${PROCESS_CURVE_ACCOUNTS} accounts, min(3, processes) ask for each; ${cpus().length} CPUs`,
        ),
      )
      out.push(
        `Curves (cliffs): accounts ${ACCOUNT_CURVE.join(", ")} at ${PROCESSES} processes; ` +
          `processes ${PROCESS_CURVE.join(", ")} at ${PROCESS_CURVE_ACCOUNTS} accounts`,
      )
      out.push(...HEADER, ...curves.map(row), "")
      for (const mode of modes) {
        const of = (points: Point[]) => points.filter((p) => p.coordination === mode)
        const [spread, cliff] = of(headline)
        const one = of(byProcesses)[0]!
        const eight = of(byProcesses).at(-1)!
        const small = of(byAccounts)[0]!
        out.push(
          `Ratios (${mode}, same run): cliff vs spread p99 ${fmt(cliff!.p99 / spread!.p99, 1)}x, ` +
            `p50 ${fmt(cliff!.p50 / spread!.p50, 1)}x; ` +
            `cliff ${ACCOUNTS} vs ${small.accounts} accounts: p50 ` +
            `${fmt(cliff!.p50 / small.p50, 1)}x, took ${fmt(cliff!.seconds / small.seconds, 1)}x; ` +
            `provider req/s at ${eight.processes} vs ${one.processes} process: ` +
            `${fmt(eight.requestsPerSecond / one.requestsPerSecond, 2)}x`,
        )
      }
      out.push(`Plots: ${relative(process.cwd(), accountsSvg)}, ${relative(process.cwd(), processesSvg)}`)
    }
    const all = [...headline, ...curves.filter((p) => !headline.includes(p))]
    out.push("Statements the workers sent per grant, by kind (the text's start), the 6 most frequent:")
    for (const p of all) {
      const kinds = Object.entries(p.statementKinds)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 6)
        .map(([kind, n]) => `${p.grants ? fmt(n / p.grants, 2) : n} \`${kind}\``)
      out.push(`- ${p.profileName}${p.grants ? "" : " (no grant: totals)"}: ${kinds.join("; ")}`)
    }
    out.push(`Worst call start lag ${fmt(Math.max(...all.map((p) => p.maxLateMs)), 0)} ms; ${loadText()} at the end`)
    if (PROFILE_DIR) {
      const measured = Object.fromEntries(
        all.map((p) => [
          p.profileName,
          {
            grants: p.grants,
            workerCpuMs: p.workerCpuPerGrant * p.grants,
            providerCpuMs: p.providerCpuPerGrant * p.grants,
          },
        ]),
      )
      await writeFile(join(PROFILE_DIR, "points.json"), JSON.stringify(measured))
      out.push("", ...(await summariseProfiles(PROFILE_DIR, measured)))
    }
    const bad = all.filter((p) => !okOf(p))
    if (bad.length) {
      const what = (p: Point) =>
        `${p.phase} ${p.accounts}x${p.processes}: grants ${p.grants}, unserved ${p.unserved}, ` +
        `invalid_grant ${p.invalidGrant}, revoked ${p.revoked}, fresh rows ${p.storedFresh}`
      out.push(
        `MISMATCH: refresh grants != expiries - unserved (or invalid_grant / revoked ` +
          `/ rows not refreshed) in ${bad.length} point(s): ${bad.map(what).join("; ")}`,
      )
      process.exitCode = 1
    }
    return out
  } finally {
    await pool.end()
    await op.stop()
    await db.drop()
  }
}
