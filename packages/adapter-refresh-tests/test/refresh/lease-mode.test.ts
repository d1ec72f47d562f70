/**
 * Lease mode (`refresh.coordination: "lease"`, issue 18) on real PostgreSQL and the real rotating
 * oidc-provider. oidc-provider cannot be told to answer slowly, so a real HTTP proxy in front of its token
 * endpoint holds the (real, already processed) answer back; each test says so.
 *
 * - Nothing held: while the provider's answer is held back, no session of the library is `idle in
 *   transaction` and none holds a lock (pg_stat_activity, pg_locks, sampled). The same sampling in lock mode
 *   is the control: it sees the transaction and the advisory lock held across the request.
 * - A sign-in without a refresh token (Google's returning sign-in) landing while the refresh waits for its
 *   answer is not blocked, and is not overwritten: the row keeps the sign-in's access token and gets the
 *   rotated refresh token.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import pg from "pg"
import { pgAccountStore, withTokenSync, type TokenSyncAdapter } from "authjs-adapter-refresh"
import type { TestDatabase } from "../../src/harness/postgres.js"
import { startRewritingProxy, type RewritingProxy } from "../../src/harness/rewriting-proxy.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { useRefreshScenario } from "./scenario-hooks.js"

const DELAY_MS = 1_500
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** What the library's sessions looked like while the provider's answer was held back. */
interface Held {
  samples: number
  /** Most sessions of the library `idle in transaction` in one sample. */
  idleInTransaction: number
  /** Most locks granted to the library's sessions in one sample (any kind). */
  locks: number
  /** Most advisory locks granted to them in one sample. */
  advisoryLocks: number
  /** Most server connections of the library open in one sample. */
  connections: number
}

describe("lease mode on real PostgreSQL (a real proxy holds the provider's answer back)", () => {
  let db: TestDatabase
  let s: RefreshScenario
  let proxy: RewritingProxy
  let sampler: pg.Client

  // Registered before the scenario's: Jest runs afterAll hooks in order, and the scenario drops the database.
  afterAll(async () => {
    await sampler?.end()
    await proxy?.stop()
  })
  useRefreshScenario(
    "refresh_lease_mode",
    { cell: "pg", login: "lease-mode-user", skewSeconds: 0, provider: { accessTokenTtl: 2 } },
    (started) => {
      ;({ db, s } = started)
    },
  )
  beforeAll(async () => {
    proxy = await startRewritingProxy(s.op.endpoints.token)
    sampler = new pg.Client({ connectionString: db.url })
    sampler.on("error", () => undefined) // the database's drop at the end ends it too
    await sampler.connect()
  })

  const adapterIn = (coordination: "lock" | "lease"): TokenSyncAdapter =>
    withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: {
        providers: [{ ...s.providerConfig, token: proxy.url }],
        skewSeconds: 0,
        minRefreshIntervalSeconds: 0,
        coordination,
      },
    })
  const ask = (adapter: TokenSyncAdapter) => adapter.getAccessToken({ userId: s.userId, provider: s.key.provider })

  /** Resolves once the proxy has received a token request beyond `before` (bounded). */
  async function requestReached(before: number): Promise<void> {
    for (let waited = 0; proxy.requests <= before; waited += 10) {
      if (waited > 10_000) throw new Error("the refresh request never reached the proxy")
      await sleep(10)
    }
  }

  /** Samples every session of this database but the sampler's own, every 50 ms, until `until` settles. */
  async function sampleUntil(until: Promise<unknown>): Promise<Held> {
    let settled = false
    void until.finally(() => (settled = true)).catch(() => undefined)
    const held: Held = { samples: 0, idleInTransaction: 0, locks: 0, advisoryLocks: 0, connections: 0 }
    while (!settled) {
      const { rows } = await sampler.query<{ sessions: number; idle_tx: number; locks: number; advisory: number }>(
        `SELECT
           (SELECT count(*) FROM pg_stat_activity a
              WHERE a.datname = current_database() AND a.pid <> pg_backend_pid())::int AS sessions,
           (SELECT count(*) FROM pg_stat_activity a
              WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
                AND a.state = 'idle in transaction')::int AS idle_tx,
           (SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND l.granted)::int AS locks,
           (SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND l.granted
                AND l.locktype = 'advisory')::int AS advisory`,
      )
      const row = rows[0]!
      held.samples++
      held.connections = Math.max(held.connections, row.sessions)
      held.idleInTransaction = Math.max(held.idleInTransaction, row.idle_tx)
      held.locks = Math.max(held.locks, row.locks)
      held.advisoryLocks = Math.max(held.advisoryLocks, row.advisory)
      await sleep(50)
    }
    return held
  }

  /** One refresh whose answer the proxy holds back; what the library held meanwhile. */
  async function heldDuringRefresh(coordination: "lock" | "lease"): Promise<Held> {
    const adapter = adapterIn(coordination)
    await s.waitForExpiry(0)
    const before = proxy.requests
    proxy.delayMs = DELAY_MS
    try {
      const refreshing = ask(adapter)
      await requestReached(before)
      // While the proxy holds the answer back (it was received just now): the request is in flight. The
      // short READ before it and WRITE after it are statements of their own, not sampled here.
      const held = await sampleUntil(sleep(DELAY_MS - 250))
      expect((await refreshing).refreshed).toBe(true)
      return held
    } finally {
      proxy.delayMs = 0
    }
  }

  /** The text of every statement node-postgres sends in this process while `work` runs. */
  async function statementsDuring(work: () => Promise<unknown>): Promise<string[]> {
    const texts: string[] = []
    const original = pg.Client.prototype.query
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const first = args[0] as string | { text?: string }
      texts.push(typeof first === "string" ? first : (first?.text ?? ""))
      return (original as (...a: unknown[]) => unknown).apply(this, args)
    } as typeof original
    try {
      await work()
    } finally {
      pg.Client.prototype.query = original
    }
    return texts
  }

  test("the answer is written in one statement, no transaction (control: a store without updateOwnTokensIfUnchanged begins one)", async () => {
    const refreshOptions = {
      providers: [{ ...s.providerConfig, token: proxy.url }],
      skewSeconds: 0,
      minRefreshIntervalSeconds: 0,
      coordination: "lease" as const,
    }
    const oneStatement = adapterIn("lease")
    await s.waitForExpiry(0)
    const sent = await statementsDuring(async () => expect((await ask(oneStatement)).refreshed).toBe(true))
    // The fast read, TAKE and its look, the compared write (with the release: the next test).
    expect(sent.filter((text) => /^\s*BEGIN/i.test(text))).toEqual([])
    expect(sent.filter((text) => text.includes("IS NOT DISTINCT FROM"))).toHaveLength(1)
    expect(sent.length).toBeLessThanOrEqual(4)

    const {
      updateOwnTokensIfUnchanged: _without,
      updateOwnTokensAndRelease: _norRelease,
      ...store
    } = pgAccountStore(s.fixture.db as pg.Pool)
    const locked = withTokenSync(s.fixture.adapter, store, { refresh: refreshOptions })
    await s.waitForExpiry(0)
    const control = await statementsDuring(async () => expect((await ask(locked)).refreshed).toBe(true))
    expect(control.filter((text) => /^\s*BEGIN/i.test(text))).toHaveLength(1)
  })

  test("the answer's write ends the lease in its own statement, and the lease is free after it (control: without updateOwnTokensAndRelease a RELEASE follows)", async () => {
    const isRelease = (text: string) => /lease_until\s*=\s*NULL/i.test(text)
    const merged = adapterIn("lease")
    await s.waitForExpiry(0)
    const sent = await statementsDuring(async () => expect((await ask(merged)).refreshed).toBe(true))
    // The fast read, TAKE, its look, and the write that releases: no statement of its own for the release.
    expect(sent).toHaveLength(4)
    expect(sent.filter((text) => isRelease(text) && !text.includes("IS NOT DISTINCT FROM"))).toEqual([])
    expect(sent.filter((text) => isRelease(text) && text.includes("IS NOT DISTINCT FROM"))).toHaveLength(1)
    // Ended, not left to expire: another holder takes it at once.
    const leases = pgAccountStore(s.fixture.db as pg.Pool).leases!
    const next = await leases.take(s.key, "another-holder", 10_000)
    expect(next.taken).toBe(true)
    if (next.taken) await leases.release(s.key, next.lease)

    const { updateOwnTokensAndRelease: _without, ...store } = pgAccountStore(s.fixture.db as pg.Pool)
    const separate = withTokenSync(s.fixture.adapter, store, {
      refresh: {
        providers: [{ ...s.providerConfig, token: proxy.url }],
        skewSeconds: 0,
        minRefreshIntervalSeconds: 0,
        coordination: "lease",
      },
    })
    await s.waitForExpiry(0)
    const control = await statementsDuring(async () => expect((await ask(separate)).refreshed).toBe(true))
    expect(control).toHaveLength(5)
    expect(control.filter((text) => isRelease(text) && !text.includes("IS NOT DISTINCT FROM"))).toHaveLength(1)
  })

  test("nothing held: while the provider answers, no session idle in transaction and no lock", async () => {
    const held = await heldDuringRefresh("lease")
    // Enough samples to cover the held-back answer (1.25 s at one per 50 ms plus the query's time).
    expect(held.samples).toBeGreaterThanOrEqual(8)
    expect({ idleInTransaction: held.idleInTransaction, locks: held.locks }).toEqual({ idleInTransaction: 0, locks: 0 })
    console.log(`lease mode, while the provider answered: ${JSON.stringify(held)}`)
    expect(s.op.stats.refreshErrors).toEqual([])
  }, 60_000)

  test("control, lock mode: the same sampling sees the transaction and the advisory lock held", async () => {
    const held = await heldDuringRefresh("lock")
    expect(held.idleInTransaction).toBeGreaterThanOrEqual(1)
    expect(held.advisoryLocks).toBeGreaterThanOrEqual(1)
    console.log(`lock mode, while the provider answered: ${JSON.stringify(held)}`)
  }, 60_000)

  test("[rewriting proxy: a 300-character scope] a write the database refuses after the answer: tokens kept, the lease kept too, so another process sends no consumed refresh token; the next refresh uses the kept one", async () => {
    const pool = s.fixture.pool
    await pool.query(
      "ALTER TABLE accounts ADD CONSTRAINT lease_scope_short CHECK (scope IS NULL OR length(scope) <= 200)",
    )
    const adapter = adapterIn("lease")
    // Another process, waiting at most 1.5 s for a lease.
    const other = withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: {
        providers: [{ ...s.providerConfig, token: proxy.url }],
        skewSeconds: 0,
        minRefreshIntervalSeconds: 0,
        coordination: "lease",
        lockTimeoutMs: 1_500,
      },
    })
    try {
      await s.waitForExpiry(0)
      const before = await s.row()
      const grants = s.op.stats.refreshGrants
      proxy.rewrite = (body, status) => (status === 200 ? { ...body, scope: "x".repeat(300) } : undefined)
      const first = await ask(adapter)
      proxy.rewrite = undefined
      expect(first.refreshed).toBe(true)
      expect(first.persistError?.code).toBe("REFRESH_NOT_PERSISTED")
      expect((await s.row()).refresh_token).toBe(before.refresh_token) // nothing written: R1 stored, R2 in memory

      // The other process finds the lease still held: it waits its bound and sends nothing.
      const waited = await ask(other).catch((error: unknown) => error)
      // Control: release the lease after a failed write: the other process sends R1, invalid_grant.
      expect(s.op.stats.refreshErrors).toEqual([])
      expect(waited).toMatchObject({ code: "REFRESH_LOCK_TIMEOUT", waitedFor: "lease" })
      expect(s.op.stats.refreshGrants - grants).toBe(1)

      // The database takes the value again: the kept tokens are written, the kept lease freed, and the next
      // refresh sends the kept refresh token (R2), never the consumed R1.
      await pool.query("ALTER TABLE accounts DROP CONSTRAINT lease_scope_short")
      await s.waitForExpiry(0)
      const next = await ask(adapter)
      expect(next.persistError).toBeUndefined()
      expect(s.op.stats.refreshErrors).toEqual([])
      expect(s.op.stats.grantsRevoked).toBe(0)
      const row = await s.row()
      expect(row.refresh_token).toBe(s.op.lastIssued("refresh_token")?.value)
      expect((await s.op.introspect(String(row.refresh_token), "refresh_token")).body.active).toBe(true)
      // And the other process is not blocked any more.
      await s.waitForExpiry(0)
      expect((await ask(other)).refreshed).toBe(true)
      expect(s.op.stats.refreshErrors).toEqual([])
    } finally {
      proxy.rewrite = undefined
      await pool.query("ALTER TABLE accounts DROP CONSTRAINT IF EXISTS lease_scope_short")
    }
  }, 90_000)

  test("refreshExpiring in lease mode takes once: an account another process holds is skipped (busy)", async () => {
    const adapter = adapterIn("lease")
    const leases = adapter.accountStore.leases!
    await s.waitForExpiry(0)
    // Another process holds the account's lease (taken through the same store, as that process would).
    const other = await leases.take(s.key, "another-process", 10_000)
    expect(other.taken).toBe(true)
    const before = proxy.requests
    try {
      const busy = await adapter.refreshExpiring({ withinSeconds: 60 })
      // Control: lock mode does not see the lease and refreshes (refreshed 1, busy 0).
      expect({ busy: busy.busy, refreshed: busy.refreshed }).toEqual({ busy: 1, refreshed: 0 })
      expect(proxy.requests).toBe(before)
    } finally {
      if (other.taken) await leases.release(s.key, other.lease)
    }
    // Released: the next run refreshes it.
    const after = await adapter.refreshExpiring({ withinSeconds: 60 })
    expect({ busy: after.busy, refreshed: after.refreshed }).toEqual({ busy: 0, refreshed: 1 })
    expect(s.op.stats.refreshErrors).toEqual([])
  }, 60_000)

  test("a process whose clock is 10 minutes ahead: a token the database's clock finds fresh is returned, nothing sent", async () => {
    const original = await s.row()
    // The row's access token lasts 5 more minutes by the database's clock.
    const { rows } = await sampler.query<{ s: string }>(
      "SELECT floor(extract(epoch FROM clock_timestamp()))::bigint AS s",
    )
    await sampler.query(`UPDATE accounts SET expires_at = $1 WHERE provider = $2 AND "providerAccountId" = $3`, [
      Number(rows[0]!.s) + 300,
      s.key.provider,
      s.key.providerAccountId,
    ])
    const stored = await s.row()
    const before = proxy.requests
    // This process's clock, 10 minutes ahead: Date.now replaced in this process only (a real skewed host
    // clock cannot be given to one process); the engine reads it when it is built.
    const realNow = Date.now.bind(Date)
    Date.now = () => realNow() + 10 * 60_000
    let result
    try {
      result = await ask(adapterIn("lease"))
    } finally {
      Date.now = realNow
      // The tests after this one wait for the token's own expiry.
      await sampler.query(`UPDATE accounts SET expires_at = $1 WHERE provider = $2 AND "providerAccountId" = $3`, [
        original.expires_at,
        s.key.provider,
        s.key.providerAccountId,
      ])
    }
    // Its own clock finds the token expired (the fast path goes to the lease); under the lease the database's
    // clock decides. Control: judge READ with the process's clock (drop `storeNow()` in lease-refresh.ts's
    // read): a refresh is sent.
    expect(proxy.requests).toBe(before)
    expect(result.refreshed).toBe(false)
    expect(result.accessToken).toBe(stored.access_token)
  }, 60_000)

  test("a sign-in without a refresh token during the refresh: not blocked; its access token and R2 stored", async () => {
    const adapter = adapterIn("lease")
    await s.waitForExpiry(0)
    const before = proxy.requests
    const readBefore = await s.row()
    proxy.delayMs = DELAY_MS
    let refreshedAt = 0
    try {
      const refreshing = ask(adapter).then((result) => {
        refreshedAt = performance.now()
        return result
      })
      await requestReached(before)
      // The sign-in as Auth.js's events.signIn hands it to the library (syncAccount): Google's returning
      // sign-in brings an access token and no refresh token.
      const signInAccess = `signin-access-${Date.now()}`
      await adapter.syncAccount({
        ...s.key,
        userId: s.userId,
        type: "oidc",
        access_token: signInAccess,
        expires_at: Math.floor(Date.now() / 1000) + 3_600,
        token_type: "bearer",
      })
      const signedInAt = performance.now()
      const result = await refreshing
      // The sign-in did not wait for the provider's answer (lock mode makes it wait for the lock).
      expect(signedInAt).toBeLessThan(refreshedAt)
      const row = await s.row()
      // The sign-in's access token stays; the rotated refresh token is stored (R1 is dead at the provider).
      expect(row.access_token).toBe(signInAccess)
      expect(row.refresh_token).toBe(s.op.lastIssued("refresh_token")?.value)
      expect(row.refresh_token).not.toBe(readBefore.refresh_token)
      expect((await s.op.introspect(String(row.refresh_token), "refresh_token")).body.active).toBe(true)
      expect(result.accessToken).toBe(signInAccess)
      expect(s.op.stats.refreshErrors).toEqual([])
      expect(s.op.stats.grantsRevoked).toBe(0)
    } finally {
      proxy.delayMs = 0
    }
  }, 60_000)
  test("[the proxy answers invalid_grant itself] a refusal marks the row only while it still holds the refused refresh token", async () => {
    const pool = s.fixture.pool
    await pool.query("ALTER TABLE accounts ADD COLUMN IF NOT EXISTS needs_reauth text")
    const adapter = withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: {
        providers: [{ ...s.providerConfig, token: proxy.url }],
        skewSeconds: 0,
        minRefreshIntervalSeconds: 0,
        coordination: "lease",
        reauthColumn: "needs_reauth",
      },
    })
    const signIn = (refreshToken: string, accessToken: string, expiresAt: number) =>
      adapter.syncAccount({
        ...s.key,
        userId: s.userId,
        type: "oidc",
        access_token: accessToken,
        refresh_token: refreshToken,
        expires_at: expiresAt,
      })
    const past = Math.floor(Date.now() / 1000) - 60
    proxy.intercept = () => ({ status: 400, body: { error: "invalid_grant", error_description: "refused" } })
    try {
      // Nothing landed during the refusal: the row is marked.
      await signIn("rt-refused-1", "at-expired-1", past)
      await expect(ask(adapter)).rejects.toMatchObject({ code: "REFRESH_INVALID_GRANT" })
      expect((await s.row()).needs_reauth).toBe("invalid_grant")

      // A sign-in with a new refresh token lands while the refusal is held back: no mark over its live token.
      await signIn("rt-refused-2", "at-expired-2", past) // a new refresh token clears the mark
      expect((await s.row()).needs_reauth).toBeNull()
      const before = proxy.requests
      proxy.delayMs = DELAY_MS
      const refused = ask(adapter).catch((error: unknown) => error)
      await requestReached(before)
      await signIn("rt-live", "at-live", past + 7_200)
      expect(await refused).toMatchObject({ code: "REFRESH_INVALID_GRANT" })
      const row = await s.row()
      // Control: mark without comparing with the token READ saw: needs_reauth is "invalid_grant" here.
      expect({ needs_reauth: row.needs_reauth, refresh_token: row.refresh_token }).toEqual({
        needs_reauth: null,
        refresh_token: "rt-live",
      })
    } finally {
      proxy.intercept = undefined
      proxy.delayMs = 0
    }
  }, 60_000)
})
