/**
 * The token cache across OS processes, on real PostgreSQL and the real rotating oidc-provider: two worker
 * processes each cache the account's token (`refresh.cache` with `pgNotifyInvalidation`), and writes made
 * elsewhere (a real sign-in through the Auth.js handler in this process, a re-authentication mark and an
 * app's own UPDATE in SQL, an unlink, a sign-out) reach both within the measured bound. Controls: without
 * the channel a worker keeps serving the old token until maxAgeMs; without the trigger the cache refuses
 * to start; a listening connection killed by the server stops the cache from serving until it listens again.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { createHash } from "node:crypto"
import { pgNotifyTriggerSql } from "authjs-adapter-refresh"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { startCacheWorker, type CacheWorker, type CacheWorkerConfig } from "../../src/refresh-bench/cache-protocol.js"
import { useRefreshScenario } from "../refresh/scenario-hooks.js"

const fingerprint = (token: unknown): string => createHash("sha256").update(String(token)).digest("hex").slice(0, 16)
/** The longest a write elsewhere may go unseen with the channel (the measured figures are in BENCHMARKS.md). */
const BOUND_MS = 1_000

describe("token cache across processes (pg, LISTEN/NOTIFY)", () => {
  let s: RefreshScenario
  let databaseUrl: string
  const workers: CacheWorker[] = []
  let a: CacheWorker
  let b: CacheWorker

  useRefreshScenario(
    "token_cache_xproc",
    { cell: "pg", login: "cache-user", skewSeconds: 5, provider: { accessTokenTtl: 600 } },
    (started) => {
      ;({ s } = started)
      databaseUrl = started.db.url
    },
  )

  const config = (overrides: Partial<CacheWorkerConfig> = {}): CacheWorkerConfig => ({
    databaseUrl,
    provider: s.provider,
    userId: s.userId,
    skewSeconds: 5,
    invalidation: true,
    ...overrides,
  })
  const start = async (overrides: Partial<CacheWorkerConfig> = {}) => {
    const worker = await startCacheWorker(config(overrides))
    workers.push(worker)
    return worker
  }
  const cachedGet = async (worker: CacheWorker) => {
    await worker.ask({ type: "get" }, "got")
    const second = await worker.ask({ type: "get" }, "got")
    return second
  }
  /**
   * Starts both workers watching, runs `write`, and returns each worker's delay from the write's commit to its first
   * new answer.
   */
  const afterWrite = async (from: string, write: () => Promise<unknown>) => {
    const watching = [a, b].map((worker) => worker.ask({ type: "watch", from, timeoutMs: 10_000 }, "changed", 20_000))
    await new Promise((resolve) => setTimeout(resolve, 100)) // both are asking, and served from the cache
    await write()
    const committed = performance.timeOrigin + performance.now()
    const changes = await Promise.all(watching)
    return changes.map((change) => ({ label: change.label, delayMs: change.at - committed, stats: change.stats }))
  }

  beforeAll(async () => {
    await s.fixture.pool.query(pgNotifyTriggerSql({ accountsTable: "accounts", sessionsTable: "sessions" }))
    a = await start()
    b = await start()
    await Promise.all([a, b].map((worker) => worker.ask({ type: "ready", timeoutMs: 10_000 }, "ok")))
  }, 60_000)
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()))
  })

  test("a second getAccessToken is served from memory in each process", async () => {
    for (const worker of [a, b]) {
      const answer = await cachedGet(worker)
      expect(answer.fingerprint).toBe(fingerprint((await s.row()).access_token))
      expect(answer.cached).toBe(true)
      expect(answer.stats.listening).toBe(true)
    }
  })

  test("a real sign-in in another process reaches both caches within the bound", async () => {
    const before = fingerprint((await s.row()).access_token)
    for (const worker of [a, b]) expect((await cachedGet(worker)).fingerprint).toBe(before)
    const changes = await afterWrite(before, async () => {
      const result = await s.app.signIn(s.browser, { login: s.login, forceLogin: true })
      if (!result.ok) throw new Error(`sign-in failed:\n${result.trace}`)
    })
    const after = fingerprint((await s.row()).access_token)
    expect(after).not.toBe(before)
    for (const change of changes) {
      expect(change.label).toBe(after)
      expect(change.delayMs).toBeLessThan(BOUND_MS)
    }
  })

  test("an app's own UPDATE of the row (no library involved) reaches both caches", async () => {
    const before = fingerprint((await s.row()).access_token)
    for (const worker of [a, b]) await cachedGet(worker)
    const changes = await afterWrite(before, () =>
      s.fixture.pool.query(
        `UPDATE accounts SET access_token = 'app-written-token' WHERE provider = $1 AND "providerAccountId" = $2`,
        [s.key.provider, s.key.providerAccountId],
      ),
    )
    for (const change of changes) {
      expect(change.label).toBe(fingerprint("app-written-token"))
      expect(change.delayMs).toBeLessThan(BOUND_MS)
    }
  })
  test("the cache never serves a token within the refresh skew: expiry refreshes exactly once across both processes", async () => {
    // A token living 8 s with a 5 s skew: cached for about 3 s, then due in every process at once.
    s.op.setAccessTokenTtl(8)
    try {
      const before = fingerprint((await s.row()).access_token)
      for (const worker of [a, b]) await cachedGet(worker)
      const grants = s.op.stats.refreshGrants
      // Both serve the sign-in's token first (once its NOTIFY arrived), then the one refresh's.
      const seen = await afterWrite(before, async () => {
        const result = await s.app.signIn(s.browser, { login: s.login, forceLogin: true })
        if (!result.ok) throw new Error(`sign-in failed:\n${result.trace}`)
      })
      const signedIn = seen[0]!.label
      expect(seen.map((change) => change.label)).toEqual([signedIn, signedIn])
      const changes = await Promise.all(
        [a, b].map((worker) => worker.ask({ type: "watch", from: signedIn, timeoutMs: 15_000 }, "changed", 25_000)),
      )
      const refreshed = fingerprint((await s.row()).access_token)
      expect(changes.map((change) => change.label)).toEqual([refreshed, refreshed])
      expect(s.op.stats.refreshGrants - grants).toBe(1)
      expect(s.op.stats.grantsRevoked).toBe(0)
    } finally {
      s.op.setAccessTokenTtl(600)
    }
    // The refreshed token is valid for ~8 s minus the skew: make the following tests' token long-lived again.
    const again = await s.app.signIn(s.browser, { login: s.login, forceLogin: true })
    expect(again.ok).toBe(true)
  })

  test("a sign-out (database session deleted) drops the user's entries in both processes", async () => {
    for (const worker of [a, b]) await cachedGet(worker)
    const invalidations = await Promise.all(
      [a, b].map(async (worker) => (await worker.ask({ type: "get" }, "got")).stats.invalidations),
    )
    const sessions = async () =>
      Number(
        (await s.fixture.pool.query(`SELECT count(*) AS n FROM sessions WHERE "userId" = $1`, [s.userId])).rows[0].n,
      )
    const before = await sessions()
    expect(before).toBeGreaterThan(0)
    await s.app.signOut(s.browser)
    expect(await sessions()).toBe(before - 1)
    await new Promise((resolve) => setTimeout(resolve, BOUND_MS))
    for (const [i, worker] of [a, b].entries()) {
      const answer = await worker.ask({ type: "get" }, "got")
      expect(answer.stats.invalidations).toBeGreaterThan(invalidations[i]!)
    }
    const result = await s.app.signIn(s.browser, { login: s.login })
    expect(result.ok).toBe(true)
  })

  test("control: without the channel a worker serves the old token until maxAgeMs", async () => {
    const blind = await start({ invalidation: false, maxAgeMs: 5_000 })
    const before = fingerprint((await s.row()).access_token)
    expect((await cachedGet(blind)).fingerprint).toBe(before)
    const watching = blind.ask({ type: "watch", from: before, timeoutMs: 10_000 }, "changed", 20_000)
    await new Promise((resolve) => setTimeout(resolve, 100))
    const result = await s.app.signIn(s.browser, { login: s.login, forceLogin: true })
    expect(result.ok).toBe(true)
    const committed = performance.timeOrigin + performance.now()
    const change = await watching
    // It changed only when the entry aged out: far past the channel's bound, within maxAgeMs.
    expect(change.label).toBe(fingerprint((await s.row()).access_token))
    expect(change.at - committed).toBeGreaterThan(BOUND_MS)
    expect(change.at - committed).toBeLessThan(5_000 + BOUND_MS)
  })

  test("control: without the trigger the cache refuses to start (and serves nothing)", async () => {
    await s.fixture.pool.query("DROP TRIGGER authjs_token_cache_notify ON sessions")
    try {
      const worker = await start()
      const refused = await worker.ask({ type: "ready", timeoutMs: 5_000 }, "failed")
      expect(refused.reason).toMatch(/InvalidOptionsError: .*"sessions" has no authjs_token_cache_notify trigger/)
      const answers = [await worker.ask({ type: "get" }, "got"), await worker.ask({ type: "get" }, "got")]
      expect(answers[1]!.fingerprint).toBe(fingerprint((await s.row()).access_token))
      expect(answers[1]!.stats).toMatchObject({ hits: 0, entries: 0, listening: false })
    } finally {
      await s.fixture.pool.query(pgNotifyTriggerSql({ accountsTable: "accounts", sessionsTable: "sessions" }))
    }
  })

  test("a listening connection killed by the server: nothing is served until it listens again, then writes are heard", async () => {
    // The heartbeat saw the previous test's missing trigger: ready() rejects with that until each worker has
    // reconnected (with backoff) and listens again.
    const untilReady = async (worker: CacheWorker) => {
      for (const deadline = Date.now() + 20_000; ; await new Promise((resolve) => setTimeout(resolve, 100))) {
        const answer = await worker.ask({ type: "ready", timeoutMs: 1_000 }, "ok").catch((error: Error) => error)
        if (!(answer instanceof Error)) return
        if (Date.now() > deadline) throw answer
      }
    }
    await Promise.all([a, b].map(untilReady))
    for (const worker of [a, b]) await cachedGet(worker)
    const killed = await s.fixture.pool.query(
      `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = 'token-cache-listener'`,
    )
    expect(killed.rows.length).toBeGreaterThanOrEqual(2)
    // Until it listens again (at least the 250 ms reconnect delay) every answer comes from the database.
    let down: { cached: boolean; fingerprint?: string } | undefined
    for (
      const deadline = Date.now() + 3_000;
      !down && Date.now() < deadline;
      await new Promise((resolve) => setTimeout(resolve, 20))
    ) {
      const answer = await a.ask({ type: "get" }, "got")
      if (!answer.stats.listening) down = answer
    }
    expect(down).toBeDefined()
    expect(down!.cached).toBe(false)
    expect(down!.fingerprint).toBe(fingerprint((await s.row()).access_token))
    await Promise.all([a, b].map((worker) => worker.ask({ type: "ready", timeoutMs: 10_000 }, "ok")))
    const before = fingerprint((await s.row()).access_token)
    for (const worker of [a, b]) expect((await cachedGet(worker)).stats.listening).toBe(true)
    const changes = await afterWrite(before, async () => {
      const result = await s.app.signIn(s.browser, { login: s.login, forceLogin: true })
      if (!result.ok) throw new Error(`sign-in failed:\n${result.trace}`)
    })
    for (const change of changes) expect(change.delayMs).toBeLessThan(BOUND_MS)
  })

  test("an unlink elsewhere: both processes stop serving the token", async () => {
    const before = fingerprint((await s.row()).access_token)
    for (const worker of [a, b]) await cachedGet(worker)
    const changes = await afterWrite(before, async () =>
      s.fixture.adapter.unlinkAccount!({ provider: s.key.provider, providerAccountId: s.key.providerAccountId }),
    )
    for (const change of changes) {
      expect(change.label).toBe("error:AccountNotLinkedError")
      expect(change.delayMs).toBeLessThan(BOUND_MS)
    }
  })
})
