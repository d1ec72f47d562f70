/**
 * The library's Better Auth plugin (`tokenSync` from `authjs-adapter-refresh/better-auth`) on the real
 * `better-auth` package, its built-in Kysely adapter on PostgreSQL, and the real rotating provider: Better Auth's
 * own sign-in stores the grant, and its own `getAccessToken` (server API and HTTP endpoint) now runs the
 * library's lease-mode refresh over Better Auth's `account` table.
 *
 * The control without the plugin (the same storm breaks the grant) is test/refresh/better-auth.test.ts.
 */
import { randomBytes } from "node:crypto"
import { RefreshTokenError } from "authjs-adapter-refresh"
import { betterAuthAccountStore } from "authjs-adapter-refresh/better-auth"
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { Browser } from "../../src/harness/browser.js"
import type { TestDatabase } from "../../src/harness/postgres.js"
import { startRewritingProxy, type RewritingProxy } from "../../src/harness/rewriting-proxy.js"
import {
  startBetterAuthApp,
  type BetterAuthAccount,
  type BetterAuthApp,
} from "../../src/refresh-bench/better-auth-app.js"
import { LEASE_TABLE_SQL } from "../../src/refresh-bench/lease-mode.js"
import { runStorm } from "../../src/refresh-bench/run-storm.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { refreshRequests, rejection, useRefreshScenario } from "./scenario-hooks.js"

interface BetterAuthRow {
  accessToken: string
  refreshToken: string
  accessTokenExpiresAt: Date
}

describe("Better Auth + tokenSync (lease mode, Better Auth's account table on PostgreSQL)", () => {
  let db: TestDatabase
  let s: RefreshScenario
  let proxy: RewritingProxy
  let app: BetterAuthApp
  let alice: BetterAuthAccount
  let bob: BetterAuthAccount
  const aliceBrowser = new Browser()

  // Access tokens live 60 s: a test makes a row due by moving its stored expiry into the past.
  useRefreshScenario(
    "refresh_better_auth_plugin",
    { cell: "pg", login: "authjs-user", skewSeconds: 0, provider: { accessTokenTtl: 60 }, setupSql: LEASE_TABLE_SQL },
    (started) => {
      ;({ db, s } = started)
    },
  )
  beforeAll(async () => {
    // The plugin's refresh grants go through a real proxy to the real token endpoint, so a test can slow them.
    proxy = await startRewritingProxy(s.provider.tokenEndpoint)
    app = await startBetterAuthApp({
      pool: s.fixture.pool,
      provider: s.provider,
      addRedirectUri: (uri) => s.op.addRedirectUri(uri),
      secret: randomBytes(32).toString("base64url"),
      tokenSync: { skewSeconds: 0, tokenEndpoint: proxy.url },
    })
    alice = await app.signIn(aliceBrowser, "ba-alice")
    bob = await app.signIn(new Browser(), "ba-bob")
  }, 60_000)
  afterAll(async () => {
    await app?.stop()
    await proxy?.stop()
  })

  const row = async (account: BetterAuthAccount): Promise<BetterAuthRow> => {
    const { rows } = await s.fixture.pool.query<BetterAuthRow>(
      `SELECT "accessToken", "refreshToken", "accessTokenExpiresAt" FROM "account" WHERE "id" = $1`,
      [account.accountId],
    )
    return rows[0]!
  }
  /** Makes the row due: its access token's stored expiry one second in the past (the tokens stay real). */
  const expire = (account: BetterAuthAccount) =>
    s.fixture.pool.query(`UPDATE "account" SET "accessTokenExpiresAt" = now() - interval '1 second' WHERE "id" = $1`, [
      account.accountId,
    ])

  test("a fresh token comes from the row, its timestamp expiry read as it is stored; no request", async () => {
    const stored = await row(alice)
    const before = refreshRequests(s)
    const result = await app.auth.api.getAccessToken({ body: alice })
    expect(result.accessToken).toBe(stored.accessToken)
    expect(result.accessTokenExpiresAt?.getTime()).toBe(Math.floor(stored.accessTokenExpiresAt.getTime() / 1000) * 1000)
    expect(refreshRequests(s)).toBe(before)
  })

  test("a due token is refreshed once; the rotated refresh token and the new expiry (a timestamp) are stored", async () => {
    await expire(alice)
    const stored = await row(alice)
    const grants = s.op.stats.refreshGrants
    const result = await app.auth.api.getAccessToken({ body: alice })
    expect(s.op.stats.refreshGrants).toBe(grants + 1)
    const after = await row(alice)
    expect(result.accessToken).toBe(after.accessToken)
    expect(after.accessToken).not.toBe(stored.accessToken)
    expect(after.refreshToken).not.toBe(stored.refreshToken)
    expect(s.op.issued.some((t) => t.kind === "refresh_token" && t.value === after.refreshToken)).toBe(true)
    expect(after.accessTokenExpiresAt).toBeInstanceOf(Date)
    expect(after.accessTokenExpiresAt.getTime()).toBeGreaterThan(Date.now() + 30_000)
  }, 30_000)

  test("storm, 4 processes x 25 callers of Better Auth's getAccessToken: one grant, no invalid_grant, grant alive", async () => {
    await expire(alice)
    const before = {
      grants: s.op.stats.refreshGrants,
      errors: s.op.stats.refreshErrors.length,
      revoked: s.op.stats.grantsRevoked,
    }
    const storm = await runStorm(
      {
        cell: "pg",
        databaseUrl: db.url,
        provider: s.provider,
        userId: alice.userId,
        providerAccountId: "ba-alice",
        mode: "better-auth",
        skewSeconds: 0,
        betterAuth: { ...app.settings, ...alice },
      },
      { processes: 4, callersPerProcess: 25 },
    )
    expect(storm.outcomes.filter((o) => !o.ok).map((o) => o.error)).toEqual([])
    expect(storm.outcomes).toHaveLength(100)
    expect(s.op.stats.refreshGrants - before.grants).toBe(1)
    expect(s.op.stats.refreshErrors.slice(before.errors)).toEqual([])
    expect(s.op.stats.grantsRevoked).toBe(before.revoked)
    expect(new Set(storm.outcomes.map((o) => o.tokenFingerprint)).size).toBe(1)
    // The grant lives on: the next expiry refreshes with the stored (rotated) refresh token.
    await expire(alice)
    await app.auth.api.getAccessToken({ body: alice })
    expect(s.op.stats.refreshGrants - before.grants).toBe(2)
    expect(s.op.stats.refreshErrors.slice(before.errors)).toEqual([])
  }, 60_000)

  test("refreshToken forces one refresh per stored access token: 10 concurrent calls, one grant, one new token", async () => {
    const stored = await row(alice)
    const grants = s.op.stats.refreshGrants
    const results = await Promise.all(Array.from({ length: 10 }, () => app.auth.api.refreshToken({ body: alice })))
    expect(s.op.stats.refreshGrants).toBe(grants + 1)
    const after = await row(alice)
    expect(after.accessToken).not.toBe(stored.accessToken)
    expect(new Set(results.map((r) => r.accessToken))).toEqual(new Set([after.accessToken]))
    expect(new Set(results.map((r) => r.refreshToken))).toEqual(new Set([after.refreshToken]))
    expect(results[0]!.accountId).toBe(alice.accountId)
  }, 30_000)

  test("a sign-in that lands while a refresh is at the provider is not overwritten by the refresh's result", async () => {
    await expire(alice)
    const requests = proxy.requests
    proxy.delayMs = 3_000
    let settled = false
    let signedIn: BetterAuthRow | undefined
    const refreshing = app.auth.api.getAccessToken({ body: alice }).finally(() => {
      settled = true
    })
    try {
      for (let waited = 0; proxy.requests === requests; waited += 20) {
        if (waited > 10_000) throw new Error("the refresh request never reached the provider")
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      // Better Auth's own sign-in (its code exchange goes straight to the provider) writes the row now.
      await app.signIn(aliceBrowser, "ba-alice")
      signedIn = await row(alice)
      expect(settled).toBe(false)
      await refreshing
    } finally {
      proxy.delayMs = 0
    }
    const after = await row(alice)
    expect(after.refreshToken).toBe(signedIn?.refreshToken)
    expect(after.accessToken).toBe(signedIn?.accessToken)
  }, 30_000)

  test("the store's locked read waits for a Better Auth write in flight (it takes no account lock)", async () => {
    const store = betterAuthAccountStore(s.fixture.pool)
    const original = (await row(bob)).refreshToken
    const writer = await s.fixture.pool.connect()
    try {
      // Better Auth's sign-in UPDATE, its transaction still open (it never takes the library's lock).
      await writer.query("BEGIN")
      await writer.query(`UPDATE "account" SET "refreshToken" = $1 WHERE "id" = $2`, [
        "signed-in-meanwhile",
        bob.accountId,
      ])
      const read = store.withAccountLock({ provider: s.provider.id, providerAccountId: "ba-bob" }, (locked) =>
        locked.readAll(),
      )
      await new Promise((resolve) => setTimeout(resolve, 300))
      await writer.query("COMMIT")
      const rows = await read
      expect(rows.map((r) => r.tokens.refresh_token)).toEqual(["signed-in-meanwhile"])
    } finally {
      await writer.query("ROLLBACK").catch(() => undefined)
      writer.release()
      await s.fixture.pool.query(`UPDATE "account" SET "refreshToken" = $1 WHERE "id" = $2`, [original, bob.accountId])
    }
  })

  test("a dead grant: Better Auth's 400 with the library's code and typed error, then no request again", async () => {
    const original = await row(bob)
    // A refresh token the provider never issued: its answer is invalid_grant.
    await s.fixture.pool.query(`UPDATE "account" SET "refreshToken" = 'never-issued' WHERE "id" = $1`, [bob.accountId])
    await expire(bob)
    try {
      const before = refreshRequests(s)
      const error = (await rejection(app.auth.api.getAccessToken({ body: bob }))) as {
        status?: unknown
        body?: { code?: unknown; tokenSyncCode?: unknown; message?: unknown }
        cause?: unknown
      }
      expect(error.status).toBe("BAD_REQUEST")
      expect(error.body?.code).toBe("FAILED_TO_GET_ACCESS_TOKEN")
      expect(error.body?.tokenSyncCode).toBe("REFRESH_INVALID_GRANT")
      expect(error.cause).toBeInstanceOf(RefreshTokenError)
      expect((error.cause as RefreshTokenError).reason).toBe("invalid_grant")
      expect(JSON.stringify(error.body)).not.toContain("never-issued")
      expect(refreshRequests(s)).toBe(before + 1)
      // The refused token is remembered: the next call fails the same way without asking the provider.
      const again = (await rejection(app.auth.api.getAccessToken({ body: bob }))) as { cause?: unknown }
      expect((again.cause as RefreshTokenError).reason).toBe("marked")
      expect(refreshRequests(s)).toBe(before + 1)
    } finally {
      await s.fixture.pool.query(
        `UPDATE "account" SET "refreshToken" = $1, "accessTokenExpiresAt" = $2 WHERE "id" = $3`,
        [original.refreshToken, original.accessTokenExpiresAt, bob.accountId],
      )
    }
  })

  describe("through the HTTP endpoints, Better Auth's authorization holds", () => {
    const post = async (path: string, body: unknown, withSession: boolean) => {
      const origin = app.settings.baseURL
      const cookie = withSession ? await aliceBrowser.jar.getCookieString(origin) : ""
      const response = await fetch(`${origin}/api/auth${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", origin, ...(cookie ? { cookie } : {}) },
        body: JSON.stringify(body),
      })
      const text = await response.text()
      return { status: response.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> }
    }

    test("the session's user gets their own token", async () => {
      const answer = await post("/get-access-token", { accountId: alice.accountId }, true)
      expect(answer.status).toBe(200)
      expect(answer.body.accessToken).toBe((await row(alice)).accessToken)
    })

    test("one user never gets another user's token, whatever userId the body names", async () => {
      const bobsToken = (await row(bob)).accessToken
      for (const path of ["/get-access-token", "/refresh-token"]) {
        for (const body of [{ accountId: bob.accountId }, { accountId: bob.accountId, userId: bob.userId }]) {
          const answer = await post(path, body, true)
          expect({ path, status: answer.status, code: answer.body.code }).toEqual({
            path,
            status: 400,
            code: "ACCOUNT_NOT_FOUND",
          })
          expect(JSON.stringify(answer.body)).not.toContain(bobsToken)
        }
      }
    })

    test("without a session the endpoints answer 401, even with the right user id in the body", async () => {
      const answer = await post("/get-access-token", { accountId: alice.accountId, userId: alice.userId }, false)
      expect(answer.status).toBe(401)
    })
  })
})
