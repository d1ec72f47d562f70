/**
 * The failure cases of lease coordination (docs/design/lease-coordination.md section 5), each on real
 * processes (src/chaos/holder-worker.ts: killed with SIGKILL or stalled with SIGSTOP at an exact phase of
 * its refresh), real PostgreSQL and the real rotating oidc-provider behind the rewriting proxy:
 * (a) the holder killed after taking the account, before sending: nothing lost; takeover time vs lock mode;
 * (b) killed while its request is at the provider: at most one grant lost;
 * (c) stalled past its lease (after READ): sends nothing on resume, another process refreshed once, no
 *     invalid_grant;
 * (d) the library's connections terminated while the provider delays: nothing lost, the row holds R2;
 * (e) processes whose clocks are 10 minutes off storm one account: one grant per expiry;
 * (f) the provider answers after the request's bound: the late answer is stored (`lateAnswerMs`), and a
 *     process asking meanwhile sends nothing; the control (`lateAnswerMs: 0`) loses that grant.
 * AUTHJS_REFRESH_FAILURES_COORDINATION=lock runs them in lock mode: (d) and (e) then fail (their controls).
 */
import { afterAll, afterEach, beforeAll, expect, test } from "@jest/globals"
import { createHash } from "node:crypto"
import pg from "pg"
import { applySchema } from "../../src/fixtures/databases.js"
import { CHAOS_PROVIDER_ID, LEASE_TABLE_SQL, seedChaosAccounts } from "../../src/chaos/chaos-run.js"
import { chaosAccountId, REAUTH_COLUMN, type Coordination } from "../../src/chaos/chaos-protocol.js"
import type { HolderConfig } from "../../src/chaos/holder-worker.js"
import { SHIFT_CLOCK_PRELOAD, startHolder, type Holder } from "../../src/chaos/holders.js"
import { startOidcProvider, type TestOidcProvider } from "../../src/harness/oidc-provider.js"
import { testDatabase, type TestDatabase } from "../../src/harness/postgres.js"
import { startRewritingProxy, type RewritingProxy } from "../../src/harness/rewriting-proxy.js"

const MODE = (process.env.AUTHJS_REFRESH_FAILURES_COORDINATION ?? "lease") as Coordination
/** W and M kept small so that the lease (W + M + 2 s) is 5 s and the stall test stays short. */
const W = 2_000
const M = 1_000
const L = W + M + 2_000

let db: TestDatabase
let op: TestOidcProvider
let proxy: RewritingProxy
let pool: pg.Pool
let grantAccount: Map<string, number>
const holders: Holder[] = []
/**
 * Every refresh token presented at the token endpoint: its account, when, the provider's status, and a hash
 * prefix of the token (so that no assertion message can print a token).
 */
const presentations: Array<{ a: number; t: number; status: number; token: string }> = []
const fingerprint = (token: string) => createHash("sha256").update(token).digest("hex").slice(0, 12)

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const clock = () => performance.timeOrigin + performance.now()

beforeAll(async () => {
  db = await testDatabase("lease_failures")
  await applySchema("pg", db.url)
  pool = new pg.Pool({ connectionString: db.url, max: 3 })
  pool.on("error", () => {})
  await pool.query(`ALTER TABLE accounts ADD COLUMN ${REAUTH_COLUMN} text`)
  await pool.query(LEASE_TABLE_SQL)
  op = await startOidcProvider({ accessTokenTtl: 2, rotateRefreshToken: true })
  proxy = await startRewritingProxy(op.endpoints.token)
  const accountOf = (token: string) => {
    const issued = op.issued.find((i) => i.kind === "refresh_token" && i.value === token)
    return issued?.accountId ? Number(issued.accountId.slice("chaos-".length)) : -1
  }
  proxy.intercept = (request) => {
    const token = request.form.get("refresh_token")
    if (token) presentations.push({ a: accountOf(token), t: clock(), status: 0, token: fingerprint(token) })
    return undefined
  }
  proxy.rewrite = (_body, status, request) => {
    const token = request.form.get("refresh_token")
    const p = token ? presentations.find((x) => x.token === fingerprint(token) && x.status === 0) : undefined
    if (p) p.status = status
    return undefined
  }
  grantAccount = await seedChaosAccounts(pool, op, 8)
}, 60_000)

// Each test's processes end with it (a stopped one is killed); the list keeps their indexes for names.
afterEach(async () => {
  await Promise.all(holders.map((h) => h.stop(1_000)))
})

afterAll(async () => {
  await pool?.end()
  await proxy?.stop()
  await op?.stop()
  await db?.drop()
})

function holder(n: number, extra: Partial<HolderConfig> = {}, options: Parameters<typeof startHolder>[1] = {}) {
  const h = startHolder(
    {
      databaseUrl: db.url,
      applicationName: `lease-failures-${n}-${holders.length}`,
      provider: {
        id: CHAOS_PROVIDER_ID,
        issuer: op.issuer,
        clientId: op.clientId,
        clientSecret: op.clientSecret,
        token: proxy.url,
      },
      userId: String(n + 1),
      callers: 1,
      refresh: { coordination: MODE, requestTimeoutMs: W, leaseMarginMs: M, reauthColumn: REAUTH_COLUMN },
      ...extra,
    },
    options,
  )
  holders.push(h)
  return h
}

const presented = (n: number) => presentations.filter((p) => p.a === n)
const revoked = (n: number) => op.stats.revokedGrantIds.filter((id) => grantAccount.get(id) === n).length
const latestRefreshToken = (n: number) =>
  op.issued.filter((i) => i.kind === "refresh_token" && i.accountId === chaosAccountId(n)).at(-1)?.value
/** Which refresh token the row holds, in words (an assertion message must never print a token). */
async function storedRefreshToken(n: number): Promise<string> {
  const sql = `SELECT refresh_token FROM accounts WHERE "providerAccountId" = $1`
  const stored = ((await pool.query(sql, [chaosAccountId(n)])).rows[0] as { refresh_token: string }).refresh_token
  return stored === latestRefreshToken(n) ? "the latest rotated token" : "an older token"
}
async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await sleep(20)
  }
}

/** (a) for one mode: A holds account n and is killed before sending; B, already waiting, takes over. */
async function killBeforeSend(n: number, coordination: Coordination): Promise<number> {
  const refresh = { coordination, requestTimeoutMs: W, leaseMarginMs: M, reauthColumn: REAUTH_COLUMN }
  const a = holder(n, { pauseAt: "taken", refresh })
  const b = holder(n, { refresh })
  await Promise.all([a.ready, b.ready])
  void a.go().catch(() => {})
  await a.phase("taken")
  const waiting = b.go(L + 20_000)
  await sleep(300) // B has found the token expired and waits for A's hold
  const killedAt = clock()
  a.child.kill("SIGKILL")
  await a.exited
  const outcomes = await waiting
  const takenByB = await b.phase("taken")
  expect(outcomes).toEqual([{ ok: true, refreshed: true, persistError: false }])
  // A sent nothing: B's request is the only one, with the still valid R1; nothing revoked, R2 stored.
  expect(a.phases.map((p) => p.ev)).not.toContain("sent")
  expect(presented(n).map((p) => p.status)).toEqual([200])
  expect(revoked(n)).toBe(0)
  expect(await storedRefreshToken(n)).toBe("the latest rotated token")
  await b.stop()
  return takenByB - killedAt
}

test("(a) holder killed after taking the account, before sending: nothing lost; takeover vs lock mode", async () => {
  const lock = await killBeforeSend(0, "lock")
  const lease = MODE === "lease" ? await killBeforeSend(1, "lease") : NaN
  console.log(
    `[lease-failures] takeover after kill -9 before sending: lock mode ${lock.toFixed(0)} ms, ` +
      `lease mode ${lease.toFixed(0)} ms (lease ${L} ms)`,
  )
  // The lock ends when the killed connection closes; a lease at its end (store's clock) plus one poll.
  expect(lock).toBeLessThan(L)
  if (MODE === "lease") expect(lease).toBeLessThan(L + 1_500)
}, 120_000)

test("(b) holder killed while the provider answers: at most one grant lost, and only then", async () => {
  const n = 2
  const a = holder(n)
  const b = holder(n)
  await Promise.all([a.ready, b.ready])
  proxy.delayMs = 1_500
  try {
    void a.go().catch(() => {})
    // The provider rotated R1; its answer is held back by the proxy: kill the holder now.
    await until(() => presented(n).some((p) => p.status === 200), 15_000, "the provider's answer")
    const killedAt = clock()
    a.child.kill("SIGKILL")
    await a.exited
    proxy.delayMs = 0
    const outcomes = await b.go(L + 20_000)
    expect(outcomes).toHaveLength(1)
    // R2 died with A: B's R1 is a reuse (the provider revokes the grant), or B was not sent at all.
    expect(revoked(n)).toBeLessThanOrEqual(1)
    expect(presented(n).length).toBeLessThanOrEqual(2)
    for (const again of presented(n).slice(1)) expect(again.t).toBeGreaterThan(killedAt)
  } finally {
    proxy.delayMs = 0
  }
}, 120_000)

const leaseOnly = MODE === "lease" ? test : test.skip

leaseOnly(
  "(c) holder stalled past its lease: sends nothing on resume; one refresh by another process",
  async () => {
    const n = 3
    // Stopped after READ (it holds R1 and is about to send): a stop before READ would read the other
    // process's newer row on resume and have nothing to send anyway.
    const a = holder(n, { pauseAt: "read" })
    const b = holder(n)
    await Promise.all([a.ready, b.ready])
    const stalled = a.go(3 * L + 20_000)
    await a.phase("read")
    const stoppedAt = clock()
    a.child.kill("SIGSTOP")
    a.resume() // waits in the pipe until SIGCONT
    const outcomes = await b.go(L + 20_000)
    await sleep(Math.max(0, stoppedAt + L + 1_000 - clock()))
    a.child.kill("SIGCONT")
    const resumed = await stalled
    expect(outcomes).toEqual([{ ok: true, refreshed: true, persistError: false }])
    expect(a.phases.map((p) => p.ev)).not.toContain("sent")
    expect(resumed[0]!.ok ? "served" : resumed[0]!.code).toMatch(/^(served|REFRESH_LEASE_EXPIRED)$/)
    expect(presented(n).map((p) => p.status)).toEqual([200])
    expect(revoked(n)).toBe(0)
  },
  120_000,
)

test("(d) the library's connections terminated while the provider delays: nothing lost, R2 stored", async () => {
  const n = 4
  // The request's own bound well above the proxy's 1.5 s delay: this case is about the dropped connections,
  // and W = 2 s timed the request out on a loaded machine (CI, load 25) before the drop mattered.
  const a = holder(n, {
    refresh: { coordination: MODE, requestTimeoutMs: 10_000, leaseMarginMs: M, reauthColumn: REAUTH_COLUMN },
  })
  await a.ready
  proxy.delayMs = 1_500
  try {
    const round = a.go(30_000)
    await until(() => presented(n).length > 0, 15_000, "the refresh request")
    const terminated = await pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
      [`lease-failures-${n}-${holders.indexOf(a)}`],
    )
    expect(terminated.rowCount).toBeGreaterThan(0)
    const outcomes = await round
    expect(outcomes).toEqual([{ ok: true, refreshed: true, persistError: false }])
    expect(presented(n).map((p) => p.status)).toEqual([200])
    expect(revoked(n)).toBe(0)
    expect(await storedRefreshToken(n)).toBe("the latest rotated token")
  } finally {
    proxy.delayMs = 0
  }
}, 60_000)

// Lease mode judges freshness and writes expires_at by the store's clock, which the take reads with the rows
// (design 2.2). Control: judge by the process's Date.now() in the lease engine: the process 10 minutes ahead
// refreshes a token the store's clock finds fresh (a second grant in expiry 1). Lock mode still judges by the
// process's clock (docs/ARCHITECTURE.md), so this case is lease mode's only.
leaseOnly(
  "(e) processes with clocks 10 minutes behind and ahead storm one account: one grant per expiry",
  async () => {
    const n = 5
    const shifted = (ms: number) =>
      holder(
        n,
        { callers: 5 },
        { env: { AUTHJS_REFRESH_CLOCK_SHIFT_MS: String(ms) }, execArgv: ["--import", SHIFT_CLOCK_PRELOAD] },
      )
    const [behind, exact, ahead] = [shifted(-600_000), shifted(0), shifted(600_000)]
    await Promise.all([behind!.ready, exact!.ready, ahead!.ready])
    // Expiry 1: all three at once on the expired account.
    await Promise.all([behind!.go(), exact!.go(), ahead!.go()])
    expect(presented(n).map((p) => p.status)).toEqual([200])
    // The process 10 minutes ahead sees that fresh token as expired: the store's clock says it is not.
    await ahead!.go()
    expect(presented(n).map((p) => p.status)).toEqual([200])
    // Expiry 2, by the store's clock: once more, all three.
    const expiresAt = Number(
      (await pool.query(`SELECT expires_at FROM accounts WHERE "providerAccountId" = $1`, [chaosAccountId(n)])).rows[0]
        .expires_at,
    )
    await sleep(Math.max(0, expiresAt * 1000 - Date.now() + 200))
    await Promise.all([behind!.go(), exact!.go(), ahead!.go()])
    expect(presented(n).map((p) => p.status)).toEqual([200, 200])
    expect(revoked(n)).toBe(0)
  },
  120_000,
)

// A provider answering after W (a queue at a busy provider): the request is not abandoned at W, the lease is
// renewed while it waits, and the answer is stored. Control, in the same test: lateAnswerMs 0 abandons the
// request at W; the provider grants it anyway, so its rotated refresh token is lost with it.
leaseOnly(
  "(f) the provider answers after the request's bound: the late answer is stored; control: lateAnswerMs 0 loses it",
  async () => {
    const late = { coordination: MODE, requestTimeoutMs: W, leaseMarginMs: M, reauthColumn: REAUTH_COLUMN }
    const patient = holder(6, { refresh: { ...late, lateAnswerMs: 3 * W } })
    const second = holder(6, { refresh: late })
    const abandoning = holder(7, { refresh: { ...late, lateAnswerMs: 0 } })
    await Promise.all([patient.ready, second.ready, abandoning.ready])
    // Past the lease taken for the request (L): only a renewed lease keeps another process from sending.
    proxy.delayMs = L + 1_200
    try {
      const round = patient.go(30_000)
      await until(() => presented(6).length > 0, 15_000, "the refresh request")
      // Past the first lease's end, while the request still waits. Control: grant the late wait without the
      // renewal (lease-flight.ts): this process takes the ended lease and sends R1 again.
      await sleep(L + 300)
      const meanwhile = await second.go(30_000)
      expect(await round).toEqual([{ ok: true, refreshed: true, persistError: false }])
      expect(meanwhile).toEqual([{ ok: true, refreshed: false, persistError: false }])
      expect(presented(6).map((p) => p.status)).toEqual([200])
      expect(revoked(6)).toBe(0)
      expect(await storedRefreshToken(6)).toBe("the latest rotated token")

      const abandoned = await abandoning.go(30_000)
      expect(abandoned).toEqual([{ ok: false, code: "PROVIDER_UNAVAILABLE" }])
      await until(() => presented(7)[0]?.status === 200, 10_000, "the provider's late grant")
      expect(await storedRefreshToken(7)).toBe("an older token")
    } finally {
      proxy.delayMs = 0
    }
  },
  60_000,
)
