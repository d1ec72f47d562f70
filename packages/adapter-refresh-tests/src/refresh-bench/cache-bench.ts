/**
 * `pnpm bench --only=cache`: what the token cache (`refresh.cache` with `pgNotifyInvalidation`) saves and
 * how stale it can be, in one run on the bench's PostgreSQL:
 *   - a cached fresh getAccessToken against a plain single-row SELECT and an uncached getAccessToken,
 *     interleaved (the cached call timed in batches of 100: one call is below the clock's resolution);
 *   - statements sent per cached call;
 *   - the invalidation bound across processes: two worker processes (cache-worker.ts) ask back to back
 *     while this process writes the account through the library (syncAccount, as a sign-in does); the
 *     delay from the write's commit to each worker's first answer with the new token.
 */
import pg from "pg"
import { pgNotifyInvalidation, pgNotifyTriggerSql, withTokenSync } from "authjs-adapter-refresh"
import { createHash } from "node:crypto"
import { createDatabase } from "../harness/postgres.js"
import { SCHEMA_TABLES } from "../fixtures/databases.js"
import { startCacheWorker } from "./cache-protocol.js"
import { percentile } from "./run-storm.js"
import { interleavedMedians } from "./timing.js"
import { PROVIDER_ID, startRefreshScenario } from "./scenario.js"

const fingerprint = (token: string): string => createHash("sha256").update(token).digest("hex").slice(0, 16)
const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a")
const log = (line: string) => process.stderr.write(`${line}\n`)

export async function tokenCacheBench(
  adminUrl: string,
  count: (work: () => Promise<unknown>) => Promise<number>,
): Promise<string[]> {
  const db = await createDatabase(adminUrl, "bench_cache")
  const s = await startRefreshScenario({
    cell: "pg",
    databaseUrl: db.url,
    login: "bench-cache",
    skewSeconds: 0,
    provider: { accessTokenTtl: 3600 },
  })
  const listenPool = new pg.Pool({ connectionString: db.url, max: 1 })
  const out: string[] = []
  try {
    await s.fixture.pool.query(pgNotifyTriggerSql({ accountsTable: "accounts", sessionsTable: "sessions" }))
    const cached = withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: {
        providers: [s.providerConfig],
        skewSeconds: 60,
        cache: {
          invalidation: pgNotifyInvalidation({
            pool: listenPool,
            notifyPool: s.fixture.pool,
            accountsTable: "accounts",
            sessionsTable: "sessions",
          }),
        },
      },
    })
    await cached.tokenCache!.ready()
    const ask = { userId: s.userId, provider: PROVIDER_ID }
    const sql = `SELECT * FROM ${SCHEMA_TABLES.pg.accounts} WHERE "userId" = $1 AND "provider" = $2`

    // 1. Latency, interleaved.
    log("token cache: latency ...")
    const N = 2000
    const BATCH = 100
    const [select, uncached, hit] = await interleavedMedians(N, 200, [
      { call: () => s.fixture.pool.query(sql, [s.userId, PROVIDER_ID]) },
      { call: () => s.adapter.getAccessToken(ask) },
      { call: () => cached.getAccessToken(ask), batch: BATCH },
    ])
    let statements = 0
    for (let i = 0; i < 100; i++) statements += await count(() => cached.getAccessToken(ask))
    const stats = cached.tokenCache!.stats()
    out.push(
      `Token cache (refresh.cache + pgNotifyInvalidation): fresh getAccessToken, ` +
        `median of ${N} interleaved rounds (cached: batches of ${BATCH})`,
    )
    out.push(
      "| plain SELECT | getAccessToken, no cache | getAccessToken, " +
        "cached | cached / SELECT | statements per cached call |",
    )
    out.push(
      "|-------------:|-------------------------:|-----------------------:|" +
        "----------------:|---------------------------:|",
    )
    out.push(
      `| ${fmt(select, 3)} ms | ${fmt(uncached, 3)} ms | ${fmt(hit * 1000, 2)} ` +
        `µs | ${fmt((hit / select) * 100, 2)}% | ${fmt(statements / 100, 1)} |`,
    )
    out.push(`(cache: ${stats.hits} hits, ${stats.misses} misses in this section)`)
    out.push("")

    // 2. The invalidation bound across processes.
    log("token cache: invalidation across processes ...")
    const workers = await Promise.all(
      [0, 1].map(() =>
        startCacheWorker({
          databaseUrl: db.url,
          provider: s.provider,
          userId: s.userId,
          skewSeconds: 60,
          invalidation: true,
        }),
      ),
    )
    try {
      await Promise.all(workers.map((worker) => worker.ask({ type: "ready", timeoutMs: 10_000 }, "ok")))
      const WRITES = 30
      const delays: number[] = []
      let calls = 0
      for (let i = 0; i < WRITES; i++) {
        const current = String((await s.row()).access_token)
        for (const worker of workers) await worker.ask({ type: "get" }, "got")
        const watching = workers.map((worker) =>
          worker.ask({ type: "watch", from: fingerprint(current), timeoutMs: 10_000 }, "changed", 20_000),
        )
        await new Promise((resolve) => setTimeout(resolve, 20))
        const token = `bench-cache-write-${i}-${Date.now()}`
        await s.adapter.syncAccount({
          ...s.key,
          userId: s.userId,
          type: "oidc",
          access_token: token,
          expires_at: Math.floor(Date.now() / 1000) + 3600,
        })
        const committed = performance.timeOrigin + performance.now()
        for (const change of await Promise.all(watching)) {
          if (change.label !== fingerprint(token))
            throw new Error(`a worker moved to an unexpected token after write ${i}`)
          delays.push(change.at - committed)
          calls += change.calls
        }
      }
      out.push(
        `Invalidation across processes: ${WRITES} writes (syncAccount) in ` +
          `this process, 2 worker processes asking back to back (${calls} calls)`,
      )
      out.push("| samples | delay from commit to the new token, p50 | p95 | max |")
      out.push("|--------:|----------------------------------------:|----:|----:|")
      out.push(
        `| ${delays.length} | ${fmt(percentile(delays, 50), 2)} ms | ` +
          `${fmt(percentile(delays, 95), 2)} ms | ${fmt(Math.max(...delays), 2)} ms |`,
      )
      out.push("")
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()))
      await cached.tokenCache!.close()
    }
    return out
  } finally {
    await listenPool.end()
    await s.stop()
    await db.drop()
  }
}
