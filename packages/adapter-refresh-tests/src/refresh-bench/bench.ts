/**
 * `pnpm bench`: what getAccessToken costs, on real PostgreSQL and the local rotating oidc-provider.
 *
 *   - database round trips (statements sent, counted at node-postgres' Client#query, which every fixture's
 *     pool, Kysely and @prisma/adapter-pg go through) per getAccessToken (fresh, expired) and per
 *     returning sign-in, wrapped vs the bare adapter;
 *   - latency of getAccessToken on a fresh token vs a plain single-row SELECT through the same pool;
 *   - a 4 x 25 refresh storm: latency p50/p99 and refresh grants at the provider, this library vs naive;
 *   - encryption overhead (encryption-bench.ts);
 *   - pool starvation (pool-starvation-bench.ts): 40 accounts expiring together on a pool of 10, provider
 *     answering in 1.5 s: p95 of an unrelated SELECT 1 during the storm, and how many got a token;
 *   - the token cache (cache-bench.ts): a cached fresh getAccessToken vs a plain SELECT, and how long a
 *     write takes to reach two other processes' caches;
 *   - scale (scale-bench.ts): 10,000 accounts, 8 processes, expiries spread and at once, curves written as SVG.
 *
 * `pnpm bench --only=pool` (or any of trips,latency,cache,storm,encryption,pool,scale, comma-separated) runs some sections.
 * Uses TEST_DATABASE_URL when set, else starts an embedded PostgreSQL (see harness/postgres.ts).
 */
import { cpus } from "node:os"
import pg from "pg"
import { startAuthApp } from "../harness/auth-app.js"
import { Browser } from "../harness/browser.js"
import { createDatabase, startPostgres } from "../harness/postgres.js"
import { SCHEMA_TABLES, type Flavour } from "../fixtures/databases.js"
import { tokenCacheBench } from "./cache-bench.js"
import { encryptionOverhead } from "./encryption-bench.js"
import { poolStarvation } from "./pool-starvation-bench.js"
import { percentile, runStorm } from "./run-storm.js"
import { scaleBench } from "./scale-bench.js"
import { PROVIDER_ID, startRefreshScenario } from "./scenario.js"

// Count every statement sent to the server.
let statements = 0
const originalQuery = pg.Client.prototype.query
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements++
  return (originalQuery as (...a: unknown[]) => unknown).apply(this, args)
} as typeof pg.Client.prototype.query

async function count(work: () => Promise<unknown>): Promise<number> {
  const before = statements
  await work()
  return statements - before
}

const log = (line: string) => process.stderr.write(`${line}\n`)
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a")

interface RoundTrips {
  flavour: Flavour
  fresh: number
  expired: number
  signInWrapped: number
  signInBare: number
}

async function roundTrips(adminUrl: string, flavour: Flavour): Promise<RoundTrips> {
  const db = await createDatabase(adminUrl, `bench_rt_${flavour}`)
  const s = await startRefreshScenario({ flavour, databaseUrl: db.url, login: `bench-${flavour}`, skewSeconds: 0, provider: { accessTokenTtl: 600 } })
  try {
    const ask = { userId: s.userId, provider: PROVIDER_ID }
    await s.adapter.getAccessToken(ask) // warm (pool)
    const N = 20
    let fresh = 0
    for (let i = 0; i < N; i++) fresh += await count(() => s.adapter.getAccessToken(ask))
    // The stored token expired by hand before each call (not counted): after a refresh the engine keeps the
    // stored expiry past its skew (minRefreshIntervalSeconds), so a large skew alone no longer forces one.
    const { accounts } = SCHEMA_TABLES[flavour]
    const expireStoredToken = () =>
      s.fixture.pool.query(`UPDATE ${accounts} SET "expires_at" = $1 WHERE "provider" = $2 AND "providerAccountId" = $3`, [
        Math.floor(Date.now() / 1000) - 10,
        s.key.provider,
        s.key.providerAccountId,
      ])
    let expired = 0
    for (let i = 0; i < 5; i++) {
      await expireStoredToken()
      expired += await count(async () => {
        if (!(await s.adapter.getAccessToken(ask)).refreshed) throw new Error("the expired path did not refresh")
      })
    }

    // Returning sign-in: the wrapped app (scenario) vs an app on the bare adapter, same account.
    const bareApp = await startAuthApp({ provider: s.op, providerId: PROVIDER_ID, session: "database", adapter: s.fixture.adapter })
    const bareBrowser = new Browser()
    await bareApp.signIn(bareBrowser, { login: s.login }) // warm
    let signInWrapped = 0
    let signInBare = 0
    for (let i = 0; i < 3; i++) {
      signInWrapped += await count(async () => {
        const r = await s.app.signIn(s.browser, { login: s.login, forceLogin: true })
        if (!r.ok) throw new Error(r.trace)
      })
      signInBare += await count(async () => {
        const r = await bareApp.signIn(bareBrowser, { login: s.login, forceLogin: true })
        if (!r.ok) throw new Error(r.trace)
      })
    }
    await bareApp.stop()
    return { flavour, fresh: fresh / N, expired: expired / 5, signInWrapped: signInWrapped / 3, signInBare: signInBare / 3 }
  } finally {
    await s.stop()
    await db.drop()
  }
}

async function latencyRatio(adminUrl: string): Promise<{ select: number; fresh: number; ratio: number; n: number }> {
  const db = await createDatabase(adminUrl, "bench_latency")
  const s = await startRefreshScenario({ flavour: "pg", databaseUrl: db.url, login: "bench-latency", skewSeconds: 0, provider: { accessTokenTtl: 600 } })
  try {
    const ask = { userId: s.userId, provider: PROVIDER_ID }
    const sql = `SELECT * FROM ${SCHEMA_TABLES.pg.accounts} WHERE "userId" = $1 AND "provider" = $2`
    const N = 2000
    const selectTimes: number[] = []
    const freshTimes: number[] = []
    for (let i = 0; i < 200; i++) {
      await s.fixture.pool.query(sql, [s.userId, PROVIDER_ID])
      await s.adapter.getAccessToken(ask)
    }
    for (let i = 0; i < N; i++) {
      let t = performance.now()
      await s.fixture.pool.query(sql, [s.userId, PROVIDER_ID])
      selectTimes.push(performance.now() - t)
      t = performance.now()
      await s.adapter.getAccessToken(ask)
      freshTimes.push(performance.now() - t)
    }
    const select = percentile(selectTimes, 50)
    const fresh = percentile(freshTimes, 50)
    return { select, fresh, ratio: fresh / select, n: N }
  } finally {
    await s.stop()
    await db.drop()
  }
}

interface StormStats {
  mode: "library" | "naive"
  ok: number
  failed: number
  grants: number
  grantErrors: number
  revoked: number
  p50: number
  p99: number
  distinctTokens: number
}

async function storm(adminUrl: string, mode: "library" | "naive"): Promise<StormStats> {
  const db = await createDatabase(adminUrl, `bench_storm_${mode}`)
  const s = await startRefreshScenario({ flavour: "pg", databaseUrl: db.url, login: `bench-storm-${mode}`, skewSeconds: 0, provider: { accessTokenTtl: 3 } })
  try {
    const grants = s.op.stats.refreshGrants
    const run = await runStorm(
      { flavour: "pg", databaseUrl: db.url, provider: s.provider, userId: s.userId, providerAccountId: s.key.providerAccountId, mode, skewSeconds: 0 },
      { processes: 4, callersPerProcess: 25, beforeGo: () => s.waitForExpiry(0) },
    )
    const latencies = run.outcomes.map((o) => o.latencyMs)
    return {
      mode,
      ok: run.outcomes.filter((o) => o.ok).length,
      failed: run.outcomes.filter((o) => !o.ok).length,
      grants: s.op.stats.refreshGrants - grants,
      grantErrors: s.op.stats.refreshErrors.length,
      revoked: s.op.stats.grantsRevoked,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      distinctTokens: new Set(run.outcomes.filter((o) => o.ok).map((o) => o.tokenFingerprint)).size,
    }
  } finally {
    await s.stop()
    await db.drop()
  }
}

const SECTIONS = ["trips", "latency", "cache", "storm", "encryption", "pool", "scale"] as const

function wanted(argv: readonly string[]): (section: (typeof SECTIONS)[number]) => boolean {
  const only = argv.find((arg) => arg.startsWith("--only="))?.slice("--only=".length)
  if (!only) return () => true
  const names = only.split(",").map((name) => name.trim())
  for (const name of names) if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`unknown bench section "${name}"; known: ${SECTIONS.join(", ")}`)
  return (section) => names.includes(section)
}

async function main(): Promise<void> {
  const want = wanted(process.argv.slice(2))
  const t0 = performance.now()
  const server = await startPostgres({ log })
  try {
    const cpu = cpus()[0]?.model ?? "unknown"
    const out: string[] = []
    out.push(`machine: ${cpus().length} CPUs (${cpu}), node ${process.version}, PostgreSQL backend ${server.backend}`)
    out.push("")
    if (want("trips")) {
      log("round trips ...")
      const trips: RoundTrips[] = []
      for (const flavour of ["pg", "kysely", "drizzle", "prisma"] as const) trips.push(await roundTrips(server.url, flavour))
      out.push("Database round trips (statements sent) per operation")
      out.push("| store  | getAccessToken fresh | getAccessToken expired (refresh) | returning sign-in, wrapped | returning sign-in, bare adapter |")
      out.push("|--------|---------------------:|---------------------------------:|---------------------------:|--------------------------------:|")
      for (const t of trips) out.push(`| ${t.flavour.padEnd(6)} | ${fmt(t.fresh, 1)} | ${fmt(t.expired, 1)} | ${fmt(t.signInWrapped, 1)} | ${fmt(t.signInBare, 1)} |`)
      out.push("")
    }
    if (want("latency")) {
      log("latency ...")
      const latency = await latencyRatio(server.url)
      out.push(`getAccessToken (fresh) vs plain single-row SELECT, same pg Pool, median of ${latency.n} sequential calls each`)
      out.push("| plain SELECT | getAccessToken fresh | ratio |")
      out.push("|-------------:|---------------------:|------:|")
      out.push(`| ${fmt(latency.select, 3)} ms | ${fmt(latency.fresh, 3)} ms | ${fmt(latency.ratio)}x |`)
      out.push("")
    }
    if (want("cache")) out.push(...(await tokenCacheBench(server.url, count)))
    if (want("storm")) {
      log("storms ...")
      const storms = [await storm(server.url, "library"), await storm(server.url, "naive")]
      out.push("Refresh storm: 4 OS processes x 25 concurrent callers, one expired account (pg store), rotating provider")
      out.push("| approach | callers ok | failed | refresh grants OK | refresh errors | grants revoked | distinct tokens | p50 | p99 |")
      out.push("|----------|-----------:|-------:|------------------:|---------------:|---------------:|----------------:|----:|----:|")
      for (const r of storms) {
        out.push(`| ${r.mode === "library" ? "this library" : "naive (guide)"} | ${r.ok} | ${r.failed} | ${r.grants} | ${r.grantErrors} | ${r.revoked} | ${r.distinctTokens} | ${fmt(r.p50, 1)} ms | ${fmt(r.p99, 1)} ms |`)
      }
      out.push("")
    }
    if (want("encryption")) out.push(...(await encryptionOverhead(server.url)), "")
    if (want("pool")) {
      log("pool starvation ...")
      out.push(...(await poolStarvation(server.url)), "")
    }
    if (want("scale")) out.push(...(await scaleBench(server.url)), "")
    out.push(`total bench time ${fmt((performance.now() - t0) / 1000, 1)} s`)
    process.stdout.write(`${out.join("\n")}\n`)
  } finally {
    await server.stop()
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
