/**
 * The Better Auth plugin's re-authentication mark (`tokenSync({ reauthMark: true })`) on the real `better-auth`
 * package, PostgreSQL and the real rotating provider: the column comes from Better Auth's own migration, a grant
 * the provider revoked (RFC 7009, for real) is marked on the refused refresh, so ANOTHER process (a second Better
 * Auth instance, no shared memory) sends nothing for it; `auth.api.accountsNeedingReauth` lists it in Better
 * Auth's names with no token; Better Auth's own sign-in clears it. Control: an instance without the mark sends
 * the dead refresh token again.
 */
import { randomBytes } from "node:crypto"
import { RefreshTokenError } from "authjs-adapter-refresh"
import { beforeAll, describe, expect, test } from "@jest/globals"
import { Browser } from "../../src/harness/browser.js"
import type { BetterAuthAccount, BetterAuthApp } from "../../src/refresh-bench/better-auth-app.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { useBetterAuthScenario } from "./better-auth-hooks.js"
import { refreshRequests, rejection } from "./scenario-hooks.js"

describe("Better Auth + tokenSync({ reauthMark }): a refused grant marked, listed, cleared by a sign-in", () => {
  const bed = useBetterAuthScenario("refresh_better_auth_reauth")
  let s: RefreshScenario
  let marking: BetterAuthApp
  let elsewhere: BetterAuthApp
  let unmarked: BetterAuthApp
  let alice: BetterAuthAccount
  let bob: BetterAuthAccount
  const bobBrowser = new Browser()

  beforeAll(async () => {
    s = bed.s
    const secret = randomBytes(32).toString("base64url")
    const start = (reauthMark: boolean) => bed.start({ secret, tokenSync: { skewSeconds: 0, reauthMark } })
    // Three instances on one database, as three processes: none shares memory with another.
    marking = await start(true)
    elsewhere = await start(true)
    unmarked = await start(false)
    alice = await marking.signIn(new Browser(), "ba-mark-alice")
    bob = await marking.signIn(bobBrowser, "ba-mark-bob")
  }, 90_000)

  const column = async (account: BetterAuthAccount) =>
    (
      await s.fixture.pool.query<{ refreshError: string | null; refreshToken: string }>(
        `SELECT "refreshError", "refreshToken" FROM "account" WHERE "id" = $1`,
        [account.accountId],
      )
    ).rows[0]!
  const expire = (account: BetterAuthAccount) =>
    s.fixture.pool.query(`UPDATE "account" SET "accessTokenExpiresAt" = now() - interval '1 second' WHERE "id" = $1`, [
      account.accountId,
    ])
  const reasonOf = async (app: BetterAuthApp, account: BetterAuthAccount) => {
    const error = (await rejection(app.auth.api.getAccessToken({ body: account }))) as {
      body?: { tokenSyncCode?: unknown }
      cause?: unknown
    }
    expect(error.body?.tokenSyncCode).toBe("REFRESH_INVALID_GRANT")
    expect(error.cause).toBeInstanceOf(RefreshTokenError)
    return (error.cause as RefreshTokenError).reason
  }

  test("Better Auth's migration added the column; a revoked grant is marked by the refused refresh", async () => {
    expect((await column(bob)).refreshError).toBeNull()
    // The user removed the app's access at the provider: RFC 7009 revocation of the refresh token ends the grant.
    const revoked = await s.op.revoke((await column(bob)).refreshToken, "refresh_token")
    expect(revoked.status).toBe(200)
    await expire(bob)
    await expire(alice)
    const before = refreshRequests(s)
    expect(await reasonOf(marking, bob)).toBe("invalid_grant")
    expect(refreshRequests(s)).toBe(before + 1)
    expect((await column(bob)).refreshError).toBe("invalid_grant")
    // Control: alice's grant is alive; her refresh works and leaves her unmarked.
    expect((await marking.auth.api.getAccessToken({ body: alice })).accessToken).toBeTruthy()
    expect((await column(alice)).refreshError).toBeNull()
  })

  test("another instance reads the mark and sends nothing; control: one without the mark resends the dead token", async () => {
    const before = refreshRequests(s)
    expect(await reasonOf(elsewhere, bob)).toBe("marked")
    expect(refreshRequests(s)).toBe(before)
    expect(await reasonOf(unmarked, bob)).toBe("invalid_grant")
    expect(refreshRequests(s)).toBe(before + 1)
  })

  test("auth.api.accountsNeedingReauth lists the marked account in Better Auth's names, never a token", async () => {
    const page = await elsewhere.auth.api.accountsNeedingReauth({ body: { providerId: s.provider.id } })
    const login = await s.fixture.pool.query<{ accountId: string }>(
      `SELECT "accountId" FROM "account" WHERE "id" = $1`,
      [bob.accountId],
    )
    expect(page).toEqual({
      accounts: [
        { userId: bob.userId, providerId: s.provider.id, accountId: login.rows[0]!.accountId, reason: "invalid_grant" },
      ],
      next: null,
    })
    expect(JSON.stringify(page)).not.toContain((await column(bob)).refreshToken)
    // A bad page is Better Auth's 400, naming what was wrong.
    const bad = (await rejection(elsewhere.auth.api.accountsNeedingReauth({ body: { limit: 0 } }))) as {
      status?: unknown
      body?: { message?: unknown }
    }
    expect(bad.status).toBe("BAD_REQUEST")
    expect(String(bad.body?.message)).toContain("limit")
    // Server only: Better Auth's HTTP router has no route for it.
    const http = await fetch(`${elsewhere.settings.baseURL}/api/auth/accounts-needing-reauth`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: elsewhere.settings.baseURL },
      body: "{}",
    })
    expect(http.status).toBe(404)
  })

  test("Better Auth's own sign-in brings a new refresh token and clears the mark; the token works again", async () => {
    await marking.signIn(bobBrowser, "ba-mark-bob")
    expect((await column(bob)).refreshError).toBeNull()
    expect((await elsewhere.auth.api.accountsNeedingReauth({ body: {} })).accounts).toEqual([])
    await expire(bob)
    const token = await elsewhere.auth.api.getAccessToken({ body: bob })
    expect((await s.op.userinfo(token.accessToken)).status).toBe(200)
  })
})
