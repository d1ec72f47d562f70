/**
 * getAccessToken and refreshExpiring share one in-process flight per account, but not their lock bounds:
 * refreshExpiring waits `tryLockMs` (short: a busy account is skipped), getAccessToken `lockTimeoutMs`.
 * A getAccessToken that joined a background flight which gave up on the lock must go on waiting with its
 * own bound, not fail with the background's. Real PostgreSQL, the lock held by another session, the real
 * rotating oidc-provider.
 */
import { describe, expect, test } from "@jest/globals"
import { ADVISORY_LOCK_KEY_SQL } from "authjs-adapter-refresh/internal"
import pg from "pg"
import type { TestDatabase } from "../../src/harness/postgres.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { refreshRequests, useRefreshScenario } from "./scenario-hooks.js"

const TRY_LOCK_MS = 1_000

describe("getAccessToken joining refreshExpiring's flight keeps its own lock bound (pg, oidc-provider)", () => {
  let db: TestDatabase
  let s: RefreshScenario

  useRefreshScenario(
    "refresh_joined_flight",
    { cell: "pg", login: "joined-flight-user", skewSeconds: 0, provider: { accessTokenTtl: 2 } },
    (started) => {
      ;({ db, s } = started)
    },
  )

  test("the background gives up after tryLockMs; getAccessToken waits on and gets a token once free", async () => {
    await s.waitForExpiry(0)
    const requests = refreshRequests(s)
    const holder = new pg.Client({ connectionString: db.url })
    await holder.connect()
    let released = false
    try {
      // Another session (another process, say) holds the account's lock.
      await holder.query("BEGIN")
      await holder.query(`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_KEY_SQL})`, [
        s.key.provider,
        s.key.providerAccountId,
      ])

      const background = s.adapter.refreshExpiring({ withinSeconds: 60, tryLockMs: TRY_LOCK_MS })
      // The background's flight is under way once its session waits for the lock (bounded poll).
      const deadline = Date.now() + 5_000
      for (;;) {
        const { rows } = await holder.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
        )
        if (rows[0]!.n > 0) break
        if (Date.now() > deadline) throw new Error("refreshExpiring never waited for the lock")
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      // Joins the background's flight (same account, same process).
      const onDemand = s.adapter.getAccessToken({ userId: s.userId, provider: s.key.provider }).then(
        (result) => ({ ok: true as const, result }),
        (error: unknown) => ({ ok: false as const, error }),
      )

      // The background's short bound passes: it skips the account as busy.
      const progress = await background
      expect(progress.busy).toBe(1)
      expect(progress.refreshed).toBe(0)

      await holder.query("ROLLBACK")
      released = true
      const outcome = await onDemand
      expect(outcome.ok || outcome.error).toBe(true) // a failure shows its error
      if (!outcome.ok) return
      expect(outcome.result.refreshed).toBe(true)
      expect(refreshRequests(s) - requests).toBe(1)
      expect((await s.row()).access_token).toBe(outcome.result.accessToken)
      expect((await s.op.userinfo(outcome.result.accessToken)).status).toBe(200)
    } finally {
      if (!released) await holder.query("ROLLBACK").catch(() => {})
      await holder.end()
    }
  }, 30_000)
})
