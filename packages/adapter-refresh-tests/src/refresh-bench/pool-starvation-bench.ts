/**
 * `pnpm bench` section "pool starvation": 40 accounts expiring together on ONE pg Pool of 10, the provider
 * answering in 1.5 s (a real delaying proxy in front of the real rotating oidc-provider). Measures the
 * latency of an unrelated `SELECT 1` on the same pool during the storm and how many of the 40 got a
 * token, with the default per-process cap (`maxConcurrentRefreshes`: 4) and without a cap (the old
 * behaviour: every refresh holds a pooled connection while the provider answers).
 */
import pg from "pg"
import { withTokenSync } from "authjs-adapter-refresh"
import { Browser } from "../harness/browser.js"
import { startRewritingProxy } from "../harness/rewriting-proxy.js"
import { createDatabase } from "../harness/postgres.js"
import { SCHEMA_TABLES } from "../fixtures/databases.js"
import { percentile } from "./run-storm.js"
import { PROVIDER_ID, startRefreshScenario } from "./scenario.js"

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a")

interface StarvationStats {
  label: string
  maxConcurrentRefreshes: number
  accounts: number
  gotToken: number
  failures: string[]
  grants: number
  stormSeconds: number
  selects: number
  p50: number
  p95: number
  max: number
  baselineP95: number
}

const POOL_SIZE = 10
const STORM_ACCOUNTS = 40
const PROVIDER_DELAY_MS = 1_500

/**
 * Pool starvation: `STORM_ACCOUNTS` accounts (each linked by a real sign-in) expire together; each is
 * asked for a token once, concurrently, through ONE pg Pool of `POOL_SIZE`, while the provider takes
 * `PROVIDER_DELAY_MS` to answer (a real proxy delaying the real token endpoint). Meanwhile the application
 * runs `SELECT 1` on the same pool, back to back; their latency is what the storm costs the app.
 * Run for each cap in `caps` on the same accounts (they expire again between runs).
 */
async function measure(
  adminUrl: string,
  caps: Array<{ label: string; maxConcurrentRefreshes: number }>,
): Promise<StarvationStats[]> {
  const db = await createDatabase(adminUrl, "bench_pool_starvation")
  const TTL = 8
  const s = await startRefreshScenario({
    cell: "pg",
    databaseUrl: db.url,
    login: "starve-0",
    skewSeconds: 0,
    provider: { accessTokenTtl: TTL },
  })
  const proxy = await startRewritingProxy(s.op.endpoints.token)
  proxy.delayMs = PROVIDER_DELAY_MS
  const pool = new pg.Pool({ connectionString: db.url, max: POOL_SIZE })
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
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

    /** SELECT 1 latencies, back to back (10 ms apart), until `stop()` resolves. */
    async function probe(until: Promise<unknown>): Promise<number[]> {
      const times: number[] = []
      let done = false
      void until.finally(() => (done = true))
      while (!done) {
        const t = performance.now()
        await pool.query("SELECT 1")
        times.push(performance.now() - t)
        await sleep(10)
      }
      return times
    }

    for (const cap of caps) {
      const engine = withTokenSync(s.fixture.adapter, pool, {
        refresh: {
          providers: [{ ...s.providerConfig, token: proxy.url }],
          skewSeconds: 0,
          // The provider's tokens live TTL s here: no floor, so that every run finds them expired.
          minRefreshIntervalSeconds: 0,
          maxConcurrentRefreshes: cap.maxConcurrentRefreshes,
        },
      })
      await Promise.all(Array.from({ length: POOL_SIZE }, () => pool.query("SELECT 1"))) // open the pool's connections
      const baseline = await probe(sleep(1_000))
      // Wait until every account is expired: they all are due together.
      const latest = Math.max(...(await pool.query(accountsSql, [PROVIDER_ID])).rows.map((r) => Number(r.expires_at)))
      const wait = latest * 1000 - Date.now() + 100
      if (wait > 0) await sleep(wait)
      const grants = s.op.stats.refreshGrants
      const started = performance.now()
      const storm = Promise.allSettled(
        rows.map((row) => engine.getAccessToken({ userId: String(row.userId), provider: PROVIDER_ID })),
      )
      const during = await probe(storm)
      const results = await storm
      const stormSeconds = (performance.now() - started) / 1000
      const failures = results.flatMap((r) =>
        r.status === "rejected" ? [String((r.reason as { code?: unknown })?.code ?? (r.reason as Error)?.name)] : [],
      )
      out.push({
        label: cap.label,
        maxConcurrentRefreshes: cap.maxConcurrentRefreshes,
        accounts: STORM_ACCOUNTS,
        gotToken: results.filter((r) => r.status === "fulfilled").length,
        failures,
        grants: s.op.stats.refreshGrants - grants,
        stormSeconds,
        selects: during.length,
        p50: percentile(during, 50),
        p95: percentile(during, 95),
        max: Math.max(...during),
        baselineP95: percentile(baseline, 95),
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

function table(rows: StarvationStats[]): string[] {
  const out: string[] = []
  out.push(
    `Pool starvation: ${STORM_ACCOUNTS} accounts expiring together, one pg Pool of ${POOL_SIZE}, ` +
      `provider answering in ${PROVIDER_DELAY_MS / 1000} s (delaying proxy in front of the real provider)`,
  )
  out.push(
    "| refreshes per process | got a token | failed | refresh grants | storm " +
      "took | SELECT 1 during storm: p50 | p95 | max | (n) | SELECT 1 idle p95 |",
  )
  out.push(
    "|-----------------------|------------:|-------:|---------------:|-----------:|" +
      "---------------------------:|----:|----:|----:|------------------:|",
  )
  for (const r of rows) {
    const failed = r.failures.length ? `${r.failures.length} (${[...new Set(r.failures)].join(", ")})` : "0"
    out.push(
      `| ${r.label} | ${r.gotToken}/${r.accounts} | ${failed} | ${r.grants} ` +
        `| ${fmt(r.stormSeconds, 1)} s | ${fmt(r.p50, 1)} ms | ${fmt(r.p95, 1)} ` +
        `ms | ${fmt(r.max, 1)} ms | ${r.selects} | ${fmt(r.baselineP95, 2)} ms |`,
    )
  }
  return out
}

/** Runs the section and returns its table. */
export async function poolStarvation(adminUrl: string): Promise<string[]> {
  return table(
    await measure(adminUrl, [
      { label: "4 (default cap)", maxConcurrentRefreshes: 4 },
      { label: `${STORM_ACCOUNTS} (no cap: the old behaviour)`, maxConcurrentRefreshes: STORM_ACCOUNTS },
    ]),
  )
}
