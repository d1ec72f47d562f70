/**
 * `pnpm bench --only=better-auth`: this library, the naive guide approach and Better Auth 1.7's server-side
 * `auth.api.getAccessToken`, plain and with this library's plugin (`tokenSync`), side by side in one run:
 *
 *   - fresh path: one database and provider; the calls (Better Auth plain, with the plugin, and with the
 *     plugin's token cache) and a raw single-row SELECT through the same pg Pool, interleaved, medians, each
 *     as a ratio to the SELECT;
 *   - refresh storm: one database and one rotating provider, one account (its own grant) per approach, all
 *     four signed in at the start and expired together; then, per approach, 4 OS processes x 25 callers
 *     released by the barrier of run-storm.ts; provider counters read before and after each storm.
 *
 * Better Auth links its account through its own sign-in (better-auth-app.ts), so its row holds a real
 * refresh token of the rotating provider.
 */
import { randomBytes } from "node:crypto"
import { loadavg } from "node:os"
import { Browser } from "../harness/browser.js"
import { createDatabase } from "../harness/postgres.js"
import { SCHEMA_TABLES } from "../fixtures/databases.js"
import { startBetterAuthApp, type BetterAuthAccount, type BetterAuthApp } from "./better-auth-app.js"
import { freshPathStages } from "./better-auth-stages.js"
import { LEASE_TABLE_SQL } from "./lease-mode.js"
import { naiveGetAccessToken } from "./naive-refresh.js"
import { percentile, runStorm } from "./run-storm.js"
import { PROVIDER_ID, startRefreshScenario, type RefreshScenario } from "./scenario.js"
import type { StormWorkerConfig } from "./storm-protocol.js"

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a")

/** Better Auth refreshes when the stored access token expires within 5 s (getValidAccessToken in account.mjs). */
const BETTER_AUTH_SKEW_SECONDS = 5

/**
 * A Better Auth instance on the scenario's database and provider, one account signed in through it. With
 * `plugin`, this library's `tokenSync` plugin (lease mode; the lease table is created here).
 */
async function withBetterAuth(
  s: RefreshScenario,
  login: string,
  plugin: false | "plugin" | "plugin+cache" = false,
): Promise<{ app: BetterAuthApp; account: BetterAuthAccount }> {
  if (plugin) await s.fixture.pool.query(LEASE_TABLE_SQL)
  const app = await startBetterAuthApp({
    pool: s.fixture.pool,
    provider: s.provider,
    addRedirectUri: (uri) => s.op.addRedirectUri(uri),
    secret: randomBytes(32).toString("base64url"),
    // The cache with its defaults and no channel (maxAgeMs 1000): what MySQL and SQLite apps have.
    ...(plugin ? { tokenSync: { skewSeconds: 0, ...(plugin === "plugin+cache" ? { cache: {} } : {}) } } : {}),
  })
  return { app, account: await app.signIn(new Browser(), login) }
}

/**
 * `count`: the statements one call sends, counted at node-postgres' Client#query (Better Auth's Kysely goes through it
 * too).
 */
async function freshPath(
  adminUrl: string,
  count: (call: () => Promise<unknown>) => Promise<number>,
): Promise<string[]> {
  const db = await createDatabase(adminUrl, "bench_ba_latency")
  const s = await startRefreshScenario({
    cell: "pg",
    databaseUrl: db.url,
    login: "ba-latency-lib",
    skewSeconds: 0,
    provider: { accessTokenTtl: 600 },
  })
  let ba: BetterAuthApp | undefined
  let withPlugin: BetterAuthApp | undefined
  let withCache: BetterAuthApp | undefined
  try {
    const better = await withBetterAuth(s, "ba-latency-ba")
    ba = better.app
    const auth = better.app.auth
    const plugged = await withBetterAuth(s, "ba-latency-plugin", "plugin")
    withPlugin = plugged.app
    const cached = await withBetterAuth(s, "ba-latency-cache", "plugin+cache")
    withCache = cached.app
    const ask = { userId: s.userId, provider: PROVIDER_ID }
    const pool = s.fixture.pool
    // Each approach's raw SELECT of its own row: Auth.js's "accounts" (the library and naive read it), and
    // Better Auth's "account" by "userId", which is what its fresh path sends (one statement, see below).
    const authJsSelect = `SELECT * FROM ${SCHEMA_TABLES.pg.accounts} WHERE "userId" = $1 AND "provider" = $2`
    const betterAuthSelect = `SELECT * FROM "account" WHERE "userId" = $1`
    const calls: Array<{ name: string; baseline: number; call: () => Promise<unknown> }> = [
      {
        name: "raw SELECT of the Auth.js row",
        baseline: 0,
        call: () => pool.query(authJsSelect, [s.userId, PROVIDER_ID]),
      },
      {
        name: "raw SELECT of the Better Auth row",
        baseline: 1,
        call: () => pool.query(betterAuthSelect, [better.account.userId]),
      },
      { name: "this library: getAccessToken", baseline: 0, call: () => s.adapter.getAccessToken(ask) },
      {
        name: "naive (guide): read, compare",
        baseline: 0,
        call: () => naiveGetAccessToken(pool, "pg", s.provider, s.key, 0),
      },
      {
        name: "Better Auth 1.7: auth.api.getAccessToken",
        baseline: 1,
        call: () => auth.api.getAccessToken({ body: better.account }),
      },
      {
        name: "Better Auth 1.7 + this plugin: auth.api.getAccessToken",
        baseline: 1,
        call: () => plugged.app.auth.api.getAccessToken({ body: plugged.account }),
      },
      {
        name: "Better Auth 1.7 + this plugin with refresh.cache: auth.api.getAccessToken",
        baseline: 1,
        call: () => cached.app.auth.api.getAccessToken({ body: cached.account }),
      },
    ]
    const grantsBefore = s.op.stats.refreshGrants
    for (let i = 0; i < 200; i++) for (const { call } of calls) await call()
    const statements: number[] = []
    for (const { call } of calls) statements.push(await count(call))
    const N = 2000
    const times = calls.map((): number[] => [])
    for (let i = 0; i < N; i++) {
      // Rotate the order each round, so no call always follows the same one.
      for (let k = 0; k < calls.length; k++) {
        const j = (i + k) % calls.length
        const t = performance.now()
        await calls[j]!.call()
        times[j]!.push(performance.now() - t)
      }
    }
    // The fresh path must not have refreshed: the provider saw no refresh grant.
    if (s.op.stats.refreshGrants !== grantsBefore)
      throw new Error(`the fresh path refreshed (${s.op.stats.refreshGrants - grantsBefore} grants)`)
    const medians = times.map((t) => percentile(t, 50))
    const cacheStats = cached.app.tokenCache?.stats()
    return [
      `Fresh path vs a raw single-row SELECT of the same row, same database and pg Pool, ${N} rounds ` +
        `of the ${calls.length} calls interleaved (order rotated each round) after 200 warm-up rounds; medians`,
      "| call | statements sent | median | ratio to the raw SELECT of its row |",
      "|------|----------------:|-------:|-----------------------------------:|",
      ...calls.map(
        ({ name, baseline }, j) =>
          `| ${name} | ${statements[j]} | ${fmt(medians[j]!, 3)} ms | ${fmt(medians[j]! / medians[baseline]!)}x |`,
      ),
      "",
      `The cached plugin's token cache (refresh.cache {}: maxAgeMs 1000, no channel, so an entry is read ` +
        `again once a second): ${cacheStats?.hits ?? 0} hits, ${cacheStats?.misses ?? 0} misses over the run.`,
      "",
      ...(await freshPathStages(s, plugged, better, cached)),
    ]
  } finally {
    await withCache?.stop()
    await withPlugin?.stop()
    await ba?.stop()
    await s.stop()
    await db.drop()
  }
}

/** "3 x a, 1 x b", or "-" when empty. */
function tally(labels: string[]): string {
  const counts = new Map<string, number>()
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1)
  return [...counts].map(([label, n]) => `${n} x ${label}`).join(", ") || "0"
}

interface StormRow {
  approach: string
  ok: number
  failed: number
  grants: number
  grantErrors: string
  revoked: number
  distinctTokens: number
  errors: string
  p50: number
  p99: number
}

async function storms(adminUrl: string): Promise<string[]> {
  const db = await createDatabase(adminUrl, "bench_ba_storm")
  // Access tokens live 8 s: longer than Better Auth's 5 s skew, so a token it has just refreshed is fresh to it.
  const ttl = 8
  const s = await startRefreshScenario({
    cell: "pg",
    databaseUrl: db.url,
    login: "ba-storm-lib",
    skewSeconds: 0,
    provider: { accessTokenTtl: ttl },
  })
  let ba: BetterAuthApp | undefined
  let withPlugin: BetterAuthApp | undefined
  try {
    // Four accounts, four grants, one provider and one database: the library's (the scenario's sign-in), the
    // naive approach's (a second Auth.js sign-in, same app), Better Auth's and Better Auth + plugin's (their own
    // sign-ins).
    const naiveLogin = "ba-storm-naive"
    const naiveSignIn = await s.app.signIn(new Browser(), { login: naiveLogin })
    if (!naiveSignIn.ok) throw new Error(`sign-in failed:\n${naiveSignIn.trace}`)
    const naiveRow = (await s.fixture.accountRows({ provider: PROVIDER_ID, providerAccountId: naiveLogin }))[0]
    if (!naiveRow) throw new Error("no account row for the naive approach")
    const better = await withBetterAuth(s, "ba-storm-ba")
    ba = better.app
    const plugged = await withBetterAuth(s, "ba-storm-plugin", "plugin")
    withPlugin = plugged.app
    // Wait until every stored access token is expired for all four (the last sign-in's, plus margin).
    await new Promise((resolve) => setTimeout(resolve, (ttl + 1) * 1000))
    for (const { accountId } of [better.account, plugged.account]) {
      const { rows } = await s.fixture.pool.query<{ at: Date }>(
        `SELECT "accessTokenExpiresAt" AS at FROM "account" WHERE "id" = $1`,
        [accountId],
      )
      if (!rows[0] || rows[0].at.getTime() - BETTER_AUTH_SKEW_SECONDS * 1000 > Date.now())
        throw new Error("a Better Auth stored token is not due yet")
    }

    const base = { cell: "pg" as const, databaseUrl: db.url, provider: s.provider, skewSeconds: 0 }
    const runs: Array<[string, Omit<StormWorkerConfig, "callers">]> = [
      ["this library", { ...base, mode: "library", userId: s.userId, providerAccountId: s.key.providerAccountId }],
      ["naive (guide)", { ...base, mode: "naive", userId: String(naiveRow.userId), providerAccountId: naiveLogin }],
      [
        "Better Auth 1.7",
        {
          ...base,
          mode: "better-auth",
          userId: better.account.userId,
          providerAccountId: "ba-storm-ba",
          betterAuth: { ...better.app.settings, ...better.account },
        },
      ],
      [
        "Better Auth 1.7 + this plugin",
        {
          ...base,
          mode: "better-auth",
          userId: plugged.account.userId,
          providerAccountId: "ba-storm-plugin",
          betterAuth: { ...plugged.app.settings, ...plugged.account },
        },
      ],
    ]
    const out: StormRow[] = []
    for (const [approach, config] of runs) {
      const before = {
        grants: s.op.stats.refreshGrants,
        errors: s.op.stats.refreshErrors.length,
        revoked: s.op.stats.grantsRevoked,
      }
      const run = await runStorm(config, { processes: 4, callersPerProcess: 25 })
      const latencies = run.outcomes.map((o) => o.latencyMs)
      out.push({
        approach,
        ok: run.outcomes.filter((o) => o.ok).length,
        failed: run.outcomes.filter((o) => !o.ok).length,
        grants: s.op.stats.refreshGrants - before.grants,
        grantErrors: tally(s.op.stats.refreshErrors.slice(before.errors).map((e) => e.error)),
        revoked: s.op.stats.grantsRevoked - before.revoked,
        distinctTokens: new Set(run.outcomes.filter((o) => o.ok).map((o) => o.tokenFingerprint)).size,
        errors: tally(run.outcomes.filter((o) => !o.ok).map((o) => o.error ?? "?")),
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
      })
    }
    return [
      "Refresh storm side by side: one rotating provider, one " +
        "database, one account (grant) per approach, all expired;",
      "per approach 4 OS processes x 25 concurrent callers released together",
      "| approach | callers ok | failed | refresh grants OK | refresh errors " +
        "(provider) | grants revoked | distinct tokens | caller errors | p50 | p99 |",
      "|----------|-----------:|-------:|------------------:|--------------------------:|" +
        "---------------:|----------------:|---------------|----:|----:|",
      ...out.map(
        (r) =>
          `| ${r.approach} | ${r.ok} | ${r.failed} | ${r.grants} | ${r.grantErrors} | ${r.revoked} ` +
          `| ${r.distinctTokens} | ${r.errors} | ${fmt(r.p50, 1)} ms | ${fmt(r.p99, 1)} ms |`,
      ),
    ]
  } finally {
    await withPlugin?.stop()
    await ba?.stop()
    await s.stop()
    await db.drop()
  }
}

/** The "better-auth" section of `pnpm bench`: both tables, as lines. */
export async function betterAuthSideBySide(
  adminUrl: string,
  log: (line: string) => void,
  count: (call: () => Promise<unknown>) => Promise<number>,
): Promise<string[]> {
  // The machine may be shared: its load is part of the result.
  const load = () =>
    loadavg()
      .map((n) => n.toFixed(1))
      .join(" / ")
  const loadBefore = load()
  log("side by side with Better Auth: fresh path ...")
  const fresh = await freshPath(adminUrl, count)
  log("side by side with Better Auth: storms ...")
  const storm = await storms(adminUrl)
  return [
    `Side by side with Better Auth 1.7 (load average 1/5/15 min: ${loadBefore} before, ${load()} after)`,
    "",
    ...fresh,
    "",
    ...storm,
  ]
}
