/**
 * The Better Auth plugin's token cache (`tokenSync({ refresh: { cache } })`) on the real `better-auth` package,
 * its Kysely adapter on PostgreSQL and the real rotating provider: a fresh token is answered from memory with no
 * statement; an entry is found by Better Auth's account id and served only to the account's own user; Better
 * Auth's own writes (a sign-in) and the plugin's (a refresh) replace it; with `pgNotifyInvalidation` on Better
 * Auth's `account` table, another process's write does too.
 */
import { randomBytes } from "node:crypto"
import pg from "pg"
import { pgNotifyInvalidation, pgNotifyTriggerSql } from "authjs-adapter-refresh"
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { Browser } from "../../src/harness/browser.js"
import type { TestDatabase } from "../../src/harness/postgres.js"
import {
  startBetterAuthApp,
  type BetterAuthAccount,
  type BetterAuthApp,
} from "../../src/refresh-bench/better-auth-app.js"
import { LEASE_TABLE_SQL } from "../../src/refresh-bench/lease-mode.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { refreshRequests, rejection, useRefreshScenario } from "./scenario-hooks.js"

/** The statements `call` sends through node-postgres (Better Auth's Kysely and the plugin's store both use it). */
async function statementsOf<T>(call: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  const statements: string[] = []
  const query = pg.Client.prototype.query
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string }
    statements.push(typeof first === "string" ? first : (first.text ?? ""))
    return (query as (...a: unknown[]) => unknown).apply(this, args)
  } as typeof query
  try {
    return { result: await call(), statements }
  } finally {
    pg.Client.prototype.query = query
  }
}

describe("Better Auth + tokenSync with refresh.cache (PostgreSQL)", () => {
  let db: TestDatabase
  let s: RefreshScenario
  let app: BetterAuthApp
  let alice: BetterAuthAccount
  let bob: BetterAuthAccount
  const aliceBrowser = new Browser()

  useRefreshScenario(
    "refresh_better_auth_cache",
    { cell: "pg", login: "authjs-user", skewSeconds: 0, provider: { accessTokenTtl: 600 }, setupSql: LEASE_TABLE_SQL },
    (started) => {
      ;({ db, s } = started)
    },
  )
  beforeAll(async () => {
    app = await startBetterAuthApp({
      pool: s.fixture.pool,
      provider: s.provider,
      addRedirectUri: (uri) => s.op.addRedirectUri(uri),
      secret: randomBytes(32).toString("base64url"),
      // No channel and a long maxAgeMs: only an invalidation can drop an entry within a test.
      tokenSync: { skewSeconds: 0, cache: { maxAgeMs: 600_000 } },
    })
    alice = await app.signIn(aliceBrowser, "ba-cache-alice")
    bob = await app.signIn(new Browser(), "ba-cache-bob")
  }, 60_000)
  afterAll(async () => {
    await app?.stop()
  })

  const storedToken = async (account: BetterAuthAccount): Promise<string> => {
    const { rows } = await s.fixture.pool.query<{ accessToken: string }>(
      `SELECT "accessToken" FROM "account" WHERE "id" = $1`,
      [account.accountId],
    )
    return rows[0]!.accessToken
  }

  test("a cached fresh token is served with no statement", async () => {
    const first = await app.auth.api.getAccessToken({ body: alice })
    expect(first.accessToken).toBe(await storedToken(alice))
    const hits = app.tokenCache!.stats().hits
    const { result, statements } = await statementsOf(() => app.auth.api.getAccessToken({ body: alice }))
    expect(statements).toEqual([])
    expect(result.accessToken).toBe(first.accessToken)
    expect(result.accessTokenExpiresAt).toEqual(first.accessTokenExpiresAt)
    expect(result.idToken).toBe(first.idToken)
    expect(app.tokenCache!.stats().hits).toBe(hits + 1)
  })

  test("another user's account id is never served from the cache, on the server or over HTTP", async () => {
    const bobsToken = (await app.auth.api.getAccessToken({ body: bob })).accessToken
    // Bob's entry is in the cache under his account id; Alice names that id.
    const error = (await rejection(
      app.auth.api.getAccessToken({ body: { accountId: bob.accountId, userId: alice.userId } }),
    )) as { status?: unknown; body?: { code?: unknown } }
    expect({ status: error.status, code: error.body?.code }).toEqual({
      status: "BAD_REQUEST",
      code: "ACCOUNT_NOT_FOUND",
    })
    expect(JSON.stringify(error)).not.toContain(bobsToken)

    await app.auth.api.getAccessToken({ body: bob })
    const origin = app.settings.baseURL
    const response = await fetch(`${origin}/api/auth/get-access-token`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        origin,
        cookie: await aliceBrowser.jar.getCookieString(origin),
      },
      body: JSON.stringify({ accountId: bob.accountId }),
    })
    const text = await response.text()
    expect({ status: response.status, code: (JSON.parse(text) as { code?: unknown }).code }).toEqual({
      status: 400,
      code: "ACCOUNT_NOT_FOUND",
    })
    expect(text).not.toContain(bobsToken)
    // Bob himself is still answered.
    expect((await app.auth.api.getAccessToken({ body: bob })).accessToken).toBe(bobsToken)
  })

  test("a Better Auth sign-in replaces the cached entry", async () => {
    const cached = (await app.auth.api.getAccessToken({ body: alice })).accessToken
    const { statements } = await statementsOf(() => app.auth.api.getAccessToken({ body: alice }))
    expect(statements).toEqual([])
    // Better Auth's own sign-in writes the new tokens through its adapter (not the plugin's store).
    await app.signIn(aliceBrowser, "ba-cache-alice")
    const signedIn = await storedToken(alice)
    expect(signedIn).not.toBe(cached)
    expect((await app.auth.api.getAccessToken({ body: alice })).accessToken).toBe(signedIn)
  }, 30_000)

  test("a refresh through the plugin replaces the cached entry", async () => {
    const cached = (await app.auth.api.getAccessToken({ body: alice })).accessToken
    const requests = refreshRequests(s)
    const refreshed = await app.auth.api.refreshToken({ body: alice })
    expect(refreshRequests(s)).toBe(requests + 1)
    expect(refreshed.accessToken).not.toBe(cached)
    expect(await storedToken(alice)).toBe(refreshed.accessToken)
    expect((await app.auth.api.getAccessToken({ body: alice })).accessToken).toBe(refreshed.accessToken)
  }, 30_000)

  describe("with pgNotifyInvalidation on Better Auth's account table", () => {
    let listenPool: pg.Pool
    let other: BetterAuthApp

    beforeAll(async () => {
      await s.fixture.pool.query(pgNotifyTriggerSql({ accountsTable: "account", sessionsTable: "session" }))
      listenPool = new pg.Pool({ connectionString: db.url, max: 1 })
      other = await startBetterAuthApp({
        pool: s.fixture.pool,
        provider: s.provider,
        addRedirectUri: (uri) => s.op.addRedirectUri(uri),
        secret: randomBytes(32).toString("base64url"),
        tokenSync: { skewSeconds: 0, cache: {} },
        cacheInvalidation: pgNotifyInvalidation({
          pool: listenPool,
          notifyPool: s.fixture.pool,
          accountsTable: "account",
          sessionsTable: "session",
        }),
      })
      await other.tokenCache!.ready()
    }, 30_000)
    afterAll(async () => {
      await other?.stop()
      await listenPool?.end()
    })

    test("a write made elsewhere (SQL on the row) drops the entry in this process", async () => {
      const cached = (await other.auth.api.getAccessToken({ body: bob })).accessToken
      const { statements } = await statementsOf(() => other.auth.api.getAccessToken({ body: bob }))
      expect(statements).toEqual([])
      await s.fixture.pool.query(`UPDATE "account" SET "accessToken" = $1 WHERE "id" = $2`, [
        "written-elsewhere",
        bob.accountId,
      ])
      try {
        let served = cached
        for (let waited = 0; served !== "written-elsewhere" && waited < 5_000; waited += 20) {
          await new Promise((resolve) => setTimeout(resolve, 20))
          served = (await other.auth.api.getAccessToken({ body: bob })).accessToken
        }
        expect(served).toBe("written-elsewhere")
      } finally {
        await s.fixture.pool.query(`UPDATE "account" SET "accessToken" = $1 WHERE "id" = $2`, [cached, bob.accountId])
      }
    }, 30_000)
  })
})
