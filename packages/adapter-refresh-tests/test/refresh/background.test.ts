/**
 * refreshExpiring across OS processes against the real rotating provider (a consumed refresh token fails
 * with invalid_grant and revokes the grant) and real PostgreSQL: three background workers and one process
 * of getAccessToken callers, released together on twelve due accounts, refresh each exactly once.
 */
import { describe, expect, test } from "@jest/globals"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { InvalidOptionsError } from "authjs-adapter-refresh"
import { Browser } from "../../src/harness/browser.js"
import type { TestDatabase } from "../../src/harness/postgres.js"
import { runBarrierWorkers } from "../../src/kit/barrier-workers.js"
import type { BackgroundOutcome, BackgroundWorkerConfig } from "../../src/refresh-bench/background-worker.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { useRefreshScenario } from "./scenario-hooks.js"

const workerFile = join(dirname(fileURLToPath(import.meta.url)), "../../src/refresh-bench/background-worker.ts")
const ACCOUNTS = 12
// Tokens live 30 s; the window is 25 s: due 5 s after issue, and a refreshed token is not due again.
const TTL = 30
const WITHIN = 25

describe("refreshExpiring: many workers, many processes, beside getAccessToken", () => {
  let db: TestDatabase
  let s: RefreshScenario
  useRefreshScenario(
    "background_refresh",
    { cell: "pg", login: "bg-0", skewSeconds: 0, provider: { accessTokenTtl: TTL } },
    (started) => {
      ;({ db, s } = started)
    },
  )
  test(`3 background workers + 1 process of getAccessToken on ${ACCOUNTS} due accounts: one refresh grant each, grants alive, stored tokens the newest`, async () => {
    const accounts = [{ userId: s.userId, providerAccountId: s.key.providerAccountId }]
    for (let i = 1; i < ACCOUNTS; i++) {
      const login = `bg-${i}`
      const result = await s.app.signIn(new Browser(), { login })
      expect(result.ok).toBe(true)
      const [row] = await s.fixture.accountRows({ provider: s.key.provider, providerAccountId: login })
      accounts.push({ userId: String(row!.userId), providerAccountId: login })
    }
    // Wait until the last account is due (expires within WITHIN seconds).
    const expiries = await Promise.all(
      accounts.map(async (a) =>
        Number(
          (await s.fixture.accountRows({ provider: s.key.provider, providerAccountId: a.providerAccountId }))[0]!
            .expires_at,
        ),
      ),
    )
    const dueAt = Math.max(...expiries) * 1000 - WITHIN * 1000 + 200
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueAt - Date.now())))

    const grantsBefore = s.op.stats.refreshGrants
    const base = { cell: "pg" as const, databaseUrl: db.url, provider: s.provider, withinSeconds: WITHIN, accounts }
    const configs: BackgroundWorkerConfig[] = [
      { ...base, mode: "background" },
      { ...base, mode: "background" },
      { ...base, mode: "background" },
      { ...base, mode: "access-token" },
    ]
    const run = await runBarrierWorkers<BackgroundOutcome>(workerFile, configs, { timeoutMs: 120_000 })
    const outcomes = run.processes.flatMap((p) => p.outcomes)
    expect(outcomes.filter((o) => !o.ok)).toEqual([])

    expect(s.op.stats.refreshGrants - grantsBefore).toBe(ACCOUNTS)
    expect(s.op.stats.refreshErrors).toEqual([])
    expect(s.op.stats.grantsRevoked).toBe(0)
    const progress = outcomes.flatMap((o) => (o.progress ? [o.progress] : []))
    expect(progress).toHaveLength(3)
    // Every due account was handled by someone: refreshed by a worker or by getAccessToken, skipped as
    // busy or unchanged by the others; no failures, no dead grants.
    for (const p of progress) {
      expect(p).toMatchObject({ failed: 0, deadGrants: 0, coolingDown: 0 })
      expect(p.scanned).toBeGreaterThanOrEqual(ACCOUNTS)
    }
    const byWorkers = progress.reduce((sum, p) => sum + p.refreshed, 0)
    expect(byWorkers).toBeLessThanOrEqual(ACCOUNTS)

    // Each account's stored tokens are the last the provider issued for it, and they work.
    for (const account of accounts) {
      const [row] = await s.fixture.accountRows({
        provider: s.key.provider,
        providerAccountId: account.providerAccountId,
      })
      const issued = s.op.issued.filter((t) => t.accountId === account.providerAccountId)
      expect(row!.access_token).toBe(issued.filter((t) => t.kind === "access_token").at(-1)?.value)
      expect(row!.refresh_token).toBe(issued.filter((t) => t.kind === "refresh_token").at(-1)?.value)
      expect((await s.op.userinfo(String(row!.access_token))).status).toBe(200)
    }

    // Right after, nothing is due: a second pass refreshes nothing.
    const again = await s.adapter.refreshExpiring({ withinSeconds: WITHIN })
    expect(again).toMatchObject({ due: 0, refreshed: 0 })
    expect(s.op.stats.refreshGrants - grantsBefore).toBe(ACCOUNTS)
  }, 180_000)
  test("keep-alive (unusedForSeconds) from 2 processes at once: only the account unused that long is refreshed, once; the others are left alone", async () => {
    const logins = ["bg-ka-idle", "bg-ka-recent", "bg-ka-fresh", "bg-ka-noexpiry"]
    const accounts: { userId: string; providerAccountId: string }[] = []
    for (const login of logins) {
      expect((await s.app.signIn(new Browser(), { login })).ok).toBe(true)
      const [row] = await s.fixture.accountRows({ provider: s.key.provider, providerAccountId: login })
      accounts.push({ userId: String(row!.userId), providerAccountId: login })
    }
    const nowSeconds = Math.floor(Date.now() / 1000)
    // Idle: expired an hour ago (its refresh token unused since); recent: expired a minute ago; fresh: as
    // signed in; no expiry: cannot be judged.
    const setExpiry = (login: string, expiresAt: number | null) =>
      s.fixture.pool.query(`UPDATE accounts SET expires_at = $1 WHERE provider = $2 AND "providerAccountId" = $3`, [
        expiresAt,
        s.key.provider,
        login,
      ])
    await setExpiry("bg-ka-idle", nowSeconds - 3600)
    await setExpiry("bg-ka-recent", nowSeconds - 60)
    await setExpiry("bg-ka-noexpiry", null)
    const before = new Map<string, Record<string, unknown>>()
    for (const login of logins)
      before.set(login, (await s.fixture.accountRows({ provider: s.key.provider, providerAccountId: login }))[0]!)

    const grantsBefore = s.op.stats.refreshGrants
    const base = {
      cell: "pg" as const,
      databaseUrl: db.url,
      provider: s.provider,
      withinSeconds: WITHIN,
      unusedForSeconds: 600,
      accounts,
    }
    const run = await runBarrierWorkers<BackgroundOutcome>(
      workerFile,
      [
        { ...base, mode: "background" },
        { ...base, mode: "background" },
      ],
      { timeoutMs: 60_000 },
    )
    const progress = run.processes.flatMap((p) => p.outcomes).flatMap((o) => (o.progress ? [o.progress] : []))
    expect(progress).toHaveLength(2)
    expect(s.op.stats.refreshGrants - grantsBefore).toBe(1)
    expect(s.op.stats.refreshErrors).toEqual([])
    expect(s.op.stats.grantsRevoked).toBe(0)
    expect(progress.reduce((sum, p) => sum + p.refreshed, 0)).toBe(1)
    for (const p of progress) expect(p).toMatchObject({ failed: 0, deadGrants: 0, unknownAge: 1 })

    const idle = (await s.fixture.accountRows({ provider: s.key.provider, providerAccountId: "bg-ka-idle" }))[0]!
    const issued = s.op.issued.filter((t) => t.accountId === "bg-ka-idle")
    expect(idle.refresh_token).toBe(issued.filter((t) => t.kind === "refresh_token").at(-1)?.value)
    expect(idle.refresh_token).not.toBe(before.get("bg-ka-idle")!.refresh_token)
    expect((await s.op.introspect(String(idle.refresh_token), "refresh_token")).body.active).toBe(true)
    for (const login of ["bg-ka-recent", "bg-ka-fresh", "bg-ka-noexpiry"]) {
      const row = (await s.fixture.accountRows({ provider: s.key.provider, providerAccountId: login }))[0]!
      expect({ login, refresh_token: row.refresh_token, expires_at: row.expires_at }).toEqual({
        login,
        refresh_token: before.get(login)!.refresh_token,
        expires_at: before.get(login)!.expires_at,
      })
    }
    // Control: the default mode refreshes the recently expired account too (and the no-expiry one is never "expiring").
    const expiring = await s.adapter.refreshExpiring({ withinSeconds: 0 })
    expect(expiring.refreshed).toBeGreaterThanOrEqual(1)
    expect(
      (await s.fixture.accountRows({ provider: s.key.provider, providerAccountId: "bg-ka-recent" }))[0]!.refresh_token,
    ).not.toBe(before.get("bg-ka-recent")!.refresh_token)
  }, 120_000)

  test("bad options are refused before anything is read", async () => {
    await expect(s.adapter.refreshExpiring({ withinSeconds: 60, unusedForSeconds: 600 })).rejects.toBeInstanceOf(
      InvalidOptionsError,
    )
    await expect(s.adapter.refreshExpiring({ unusedForSeconds: -1 })).rejects.toBeInstanceOf(InvalidOptionsError)
    await expect(s.adapter.refreshExpiring({ batchSize: 0 })).rejects.toBeInstanceOf(InvalidOptionsError)
    await expect(s.adapter.refreshExpiring({ withinSeconds: -1 })).rejects.toBeInstanceOf(InvalidOptionsError)
    await expect(s.adapter.refreshExpiring({ concurrency: Number.NaN })).rejects.toBeInstanceOf(InvalidOptionsError)
    const keepAlive = { unusedForSeconds: 600 }
    await expect(s.adapter.refreshExpiring({ ...keepAlive, refreshTokenWithinSeconds: -1 })).rejects.toBeInstanceOf(
      InvalidOptionsError,
    )
    await expect(
      s.adapter.refreshExpiring({ ...keepAlive, refreshTokenWithinSeconds: Number.NaN }),
    ).rejects.toBeInstanceOf(InvalidOptionsError)
    // It belongs to keep-alive mode.
    await expect(s.adapter.refreshExpiring({ refreshTokenWithinSeconds: 60 })).rejects.toBeInstanceOf(
      InvalidOptionsError,
    )
  })
})
