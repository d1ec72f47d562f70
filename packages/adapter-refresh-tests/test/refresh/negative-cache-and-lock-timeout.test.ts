/**
 * Two bounded failure paths of getAccessToken, against real PostgreSQL and a real rotating oidc-provider:
 *
 *   1. Without `refresh.reauthColumn`, an invalid_grant is remembered in a per-process negative cache keyed
 *      by the refused refresh token: the same adapter never sends that dead token again, while another
 *      adapter instance (another process: no shared memory) does send it once. Stored tokens are kept and
 *      a new sign-in (a new refresh token) makes refreshing work again.
 *   2. A refresh that cannot get the account lock within `refresh.lockTimeoutMs` (held by another
 *      session) fails fast with RefreshLockTimeoutError, for each store cell, without calling the
 *      provider or touching the row; once the lock is free the next call refreshes.
 */
import { describe, expect, test } from "@jest/globals"
import {
  RefreshLockTimeoutError,
  RefreshTokenError,
  withTokenSync,
  type RefreshOptions,
  type TokenSyncAdapter,
} from "authjs-adapter-refresh"
import { ADVISORY_LOCK_KEY_SQL } from "authjs-adapter-refresh/internal"
import pg from "pg"
import type { PgCell } from "../../src/fixtures/databases.js"
import type { TestDatabase } from "../../src/harness/postgres.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { rejection, refreshRequests, useRefreshScenario } from "./scenario-hooks.js"
describe("negative cache of refused refresh tokens, without reauthColumn (pg, real oidc-provider with rotation)", () => {
  let s: RefreshScenario

  // No `reauthColumn`: the "needs re-authentication" memory is per process.
  useRefreshScenario(
    "refresh_negative_cache",
    { cell: "pg", login: "negative-cache-user", skewSeconds: 0, provider: { accessTokenTtl: 2 } },
    (started) => {
      ;({ s } = started)
    },
  )

  const ask = (adapter: TokenSyncAdapter) => adapter.getAccessToken({ userId: s.userId, provider: s.key.provider })
  test("invalid_grant is sent once per process; stored tokens kept; a new sign-in makes refresh work again", async () => {
    // A working refresh first: the cache is empty and the engine does refresh.
    await s.waitForExpiry(0)
    expect((await ask(s.adapter)).refreshed).toBe(true)

    // The user removes the app's access at the provider: the stored refresh token is dead for real.
    await s.waitForExpiry(0)
    const before = await s.row()
    const grantId = s.op.issuedOf("refresh_token").find((t) => t.value === before.refresh_token)?.grantId
    expect(grantId).toBeDefined()
    await s.op.revokeGrant(grantId!)
    const requests = refreshRequests(s)
    const errors = s.op.stats.refreshErrors.length

    // 1st call: one request, refused.
    const first = await rejection(ask(s.adapter))
    expect(first).toBeInstanceOf(RefreshTokenError)
    expect({ code: (first as RefreshTokenError).code, reason: (first as RefreshTokenError).reason }).toEqual({
      code: "REFRESH_INVALID_GRANT",
      reason: "invalid_grant",
    })
    expect(refreshRequests(s) - requests).toBe(1)
    expect(s.op.stats.refreshErrors.length - errors).toBe(1)
    expect(s.op.stats.refreshErrors.at(-1)?.error).toBe("invalid_grant")
    expect(await s.row()).toEqual(before) // not wiped, nothing written

    // 2nd call, same adapter (same process): refused from memory, no request reaches the provider.
    for (let i = 0; i < 3; i++) {
      const again = await rejection(ask(s.adapter))
      expect(again).toBeInstanceOf(RefreshTokenError)
      expect((again as RefreshTokenError).reason).toBe("marked")
    }
    expect(refreshRequests(s) - requests).toBe(1)

    // Another adapter instance (another process, no shared memory) does not know: it sends the dead token
    // once (the trade-off of having no reauthColumn), then remembers it too.
    const other = withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: { providers: [s.providerConfig], skewSeconds: 0, minRefreshIntervalSeconds: 0 },
    })
    const otherFirst = await rejection(ask(other))
    expect(otherFirst).toBeInstanceOf(RefreshTokenError)
    expect((otherFirst as RefreshTokenError).reason).toBe("invalid_grant")
    expect(refreshRequests(s) - requests).toBe(2)
    expect(((await rejection(ask(other))) as RefreshTokenError).reason).toBe("marked")
    expect(refreshRequests(s) - requests).toBe(2)
    expect(await s.row()).toEqual(before)

    // The user signs in again (a new grant, a new refresh token, synced into the row): the same adapter
    // refreshes again, because the cache is keyed by the refused token, not by the account.
    const signIn = await s.app.signIn(s.browser, { login: s.login, forceLogin: true })
    expect(signIn.ok).toBe(true)
    const afterSignIn = await s.row()
    expect(afterSignIn.refresh_token).not.toBe(before.refresh_token)
    expect(afterSignIn.refresh_token).toBe(s.op.lastIssued("refresh_token")?.value)
    await s.waitForExpiry(0)
    const grants = s.op.stats.refreshGrants
    const result = await ask(s.adapter)
    expect(result.refreshed).toBe(true)
    expect(s.op.stats.refreshGrants - grants).toBe(1)
    expect((await s.op.userinfo(result.accessToken)).status).toBe(200)
    expect((await s.row()).access_token).toBe(result.accessToken)
  }, 30_000)
})

describe.each<PgCell>(["pg", "kysely", "prisma"])("lock timeout (%s, real oidc-provider with rotation)", (cell) => {
  const LOCK_TIMEOUT_MS = 300
  let db: TestDatabase
  let s: RefreshScenario
  let adapter: TokenSyncAdapter

  useRefreshScenario(
    `refresh_lock_timeout_${cell}`,
    { cell, login: `lock-timeout-${cell}`, skewSeconds: 0, provider: { accessTokenTtl: 2 } },
    (started) => {
      ;({ db, s } = started)
      const refresh: Partial<RefreshOptions> = {
        providers: [s.providerConfig],
        skewSeconds: 0,
        minRefreshIntervalSeconds: 0,
        lockTimeoutMs: LOCK_TIMEOUT_MS,
      }
      adapter = withTokenSync(s.fixture.adapter, s.fixture.db as object, { refresh: refresh as RefreshOptions })
    },
  )
  test("a held account lock fails the refresh within a bound with RefreshLockTimeoutError; nothing sent, nothing written", async () => {
    await s.waitForExpiry(0) // the stored access token is really expired
    const before = await s.row()
    const requests = refreshRequests(s)

    // Another session (its own connection, as another process would) holds the account's lock.
    const holder = new pg.Client({ connectionString: db.url })
    await holder.connect()
    try {
      await holder.query("BEGIN")
      await holder.query(`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_KEY_SQL})`, [
        s.key.provider,
        s.key.providerAccountId,
      ])

      const started = Date.now()
      const error = await rejection(adapter.getAccessToken({ userId: s.userId, provider: s.key.provider }))
      const elapsed = Date.now() - started
      expect(error).toBeInstanceOf(RefreshLockTimeoutError)
      expect((error as RefreshLockTimeoutError).code).toBe("REFRESH_LOCK_TIMEOUT")
      expect((error as RefreshLockTimeoutError).lockTimeoutMs).toBe(LOCK_TIMEOUT_MS)
      expect((error as RefreshLockTimeoutError).providerCalled).toBe(false)
      expect((error as RefreshLockTimeoutError).message).toMatch(/the provider was not called/)
      expect(elapsed).toBeGreaterThanOrEqual(LOCK_TIMEOUT_MS - 50)
      expect(elapsed).toBeLessThan(3_000)
      expect(refreshRequests(s) - requests).toBe(0)
      expect(await s.row()).toEqual(before)
    } finally {
      await holder.query("ROLLBACK").catch(() => {})
      await holder.end()
    }

    // Lock released: the next call refreshes (one request) and stores a working token.
    const result = await adapter.getAccessToken({ userId: s.userId, provider: s.key.provider })
    expect(result.refreshed).toBe(true)
    expect(refreshRequests(s) - requests).toBe(1)
    expect((await s.row()).access_token).toBe(result.accessToken)
    expect((await s.op.userinfo(result.accessToken)).status).toBe(200)
  }, 30_000)
})
