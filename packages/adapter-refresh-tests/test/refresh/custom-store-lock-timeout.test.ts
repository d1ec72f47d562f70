/**
 * A custom store, of any kind, reports "the lock is busy" with a typed value (`AccountStoreError` with
 * `lockTimeout`), not by faking a database's error code, and the core answers it as it answers the
 * built-in stores' lock timeouts: RefreshLockTimeoutError, provider not called, nothing written. Against
 * real PostgreSQL (the custom store's own try-lock) and the real rotating oidc-provider.
 */
import { describe, expect, test } from "@jest/globals"
import { AccountStoreError, RefreshLockTimeoutError, withTokenSync, type RefreshOptions } from "authjs-adapter-refresh"
import { ADVISORY_LOCK_KEY_SQL } from "authjs-adapter-refresh/internal"
import pg from "pg"
import type { TestDatabase } from "../../src/harness/postgres.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { rejection, refreshRequests, useRefreshScenario } from "./scenario-hooks.js"
import { tryLockStore } from "./try-lock-store.js"

describe("a custom store's typed lock timeout (try-lock store over pg, real oidc-provider with rotation)", () => {
  const LOCK_TIMEOUT_MS = 300
  let db: TestDatabase
  let s: RefreshScenario

  useRefreshScenario(
    "refresh_custom_lock_timeout",
    { cell: "pg", login: "custom-lock-timeout", skewSeconds: 0, provider: { accessTokenTtl: 2 } },
    (started) => {
      ;({ db, s } = started)
    },
  )

  const adapterOver = (reportLockTimeout: boolean) => {
    const refresh: Partial<RefreshOptions> = {
      providers: [s.providerConfig],
      skewSeconds: 0,
      minRefreshIntervalSeconds: 0,
      lockTimeoutMs: LOCK_TIMEOUT_MS,
    }
    const store = tryLockStore(s.fixture.db as pg.Pool, reportLockTimeout)
    return withTokenSync(s.fixture.adapter, store, { refresh: refresh as RefreshOptions })
  }

  test("a held lock, reported with lockTimeout, is RefreshLockTimeoutError; without it, a store failure", async () => {
    await s.waitForExpiry(0) // the stored access token is really expired
    const before = await s.row()
    const requests = refreshRequests(s)
    const ask = (reportLockTimeout: boolean) =>
      rejection(adapterOver(reportLockTimeout).getAccessToken({ userId: s.userId, provider: s.key.provider }))

    // Another session (as another process would) holds the account's lock.
    const holder = new pg.Client({ connectionString: db.url })
    await holder.connect()
    try {
      await holder.query("BEGIN")
      await holder.query(`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_KEY_SQL})`, [
        s.key.provider,
        s.key.providerAccountId,
      ])

      const error = await ask(true)
      expect(error).toBeInstanceOf(RefreshLockTimeoutError)
      expect((error as RefreshLockTimeoutError).code).toBe("REFRESH_LOCK_TIMEOUT")
      expect((error as RefreshLockTimeoutError).providerCalled).toBe(false)

      // The same store without the typed value: the core cannot tell a busy lock from a broken store.
      const untyped = await ask(false)
      expect(untyped).toBeInstanceOf(AccountStoreError)
      expect(untyped).not.toBeInstanceOf(RefreshLockTimeoutError)

      expect(refreshRequests(s) - requests).toBe(0)
      expect(await s.row()).toEqual(before)
    } finally {
      await holder.query("ROLLBACK").catch(() => {})
      await holder.end()
    }

    // Lock released: the custom store refreshes (one request) and stores a working token.
    const result = await adapterOver(true).getAccessToken({ userId: s.userId, provider: s.key.provider })
    expect(result.refreshed).toBe(true)
    expect(refreshRequests(s) - requests).toBe(1)
    expect((await s.row()).access_token).toBe(result.accessToken)
    expect((await s.op.userinfo(result.accessToken)).status).toBe(200)
  }, 30_000)
})
