/**
 * Better Auth's `useAccountCookie` selection through the plugin, on the real `better-auth` package with
 * `account.storeAccountCookie`, PostgreSQL and the real rotating provider, over HTTP with the sign-in's own
 * cookies: the account in the caller's signed account cookie is served (the row is the truth), a refresh renews
 * the cookie as Better Auth does, and one user's session with another user's account cookie gets nothing.
 */
import { beforeAll, describe, expect, test } from "@jest/globals"
import { Browser } from "../../src/harness/browser.js"
import type { BetterAuthAccount, BetterAuthApp } from "../../src/refresh-bench/better-auth-app.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { useBetterAuthScenario } from "./better-auth-hooks.js"
import { refreshRequests } from "./scenario-hooks.js"

describe("Better Auth's useAccountCookie through tokenSync (storeAccountCookie, HTTP)", () => {
  const bed = useBetterAuthScenario("refresh_better_auth_account_cookie")
  let s: RefreshScenario
  let app: BetterAuthApp
  let alice: BetterAuthAccount
  const aliceBrowser = new Browser()
  const bobBrowser = new Browser()

  beforeAll(async () => {
    s = bed.s
    app = await bed.start({ storeAccountCookie: true, tokenSync: { skewSeconds: 0 } })
    alice = await app.signIn(aliceBrowser, "ba-cookie-alice")
    await app.signIn(bobBrowser, "ba-cookie-bob")
  }, 60_000)

  const origin = () => app.settings.baseURL
  /** Each cookie of the browser's jar by name. */
  const cookiesOf = async (browser: Browser) =>
    new Map((await browser.jar.getCookies(origin())).map((cookie) => [cookie.key, cookie.value]))
  const accountCookieName = async (browser: Browser) => {
    const name = [...(await cookiesOf(browser)).keys()].find((key) => key.includes("account"))
    if (!name) throw new Error("the sign-in set no account cookie")
    return name
  }
  const post = async (cookies: Map<string, string>, body: unknown) => {
    const response = await fetch(`${origin()}/api/auth/get-access-token`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        origin: origin(),
        cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join("; "),
      },
      body: JSON.stringify(body),
    })
    const text = await response.text()
    return {
      status: response.status,
      body: (text ? JSON.parse(text) : {}) as Record<string, unknown>,
      setCookies: response.headers.getSetCookie(),
    }
  }
  const row = async () =>
    (
      await s.fixture.pool.query<{ accessToken: string; refreshToken: string }>(
        `SELECT "accessToken", "refreshToken" FROM "account" WHERE "id" = $1`,
        [alice.accountId],
      )
    ).rows[0]!

  test("the caller's account cookie selects their account; a refresh renews the cookie", async () => {
    const fresh = await post(await cookiesOf(aliceBrowser), { useAccountCookie: true })
    expect(fresh.status).toBe(200)
    expect(fresh.body.accessToken).toBe((await row()).accessToken)

    await s.fixture.pool.query(
      `UPDATE "account" SET "accessTokenExpiresAt" = now() - interval '1 second' WHERE "id" = $1`,
      [alice.accountId],
    )
    const before = refreshRequests(s)
    const refreshed = await post(await cookiesOf(aliceBrowser), { useAccountCookie: true })
    expect(refreshed.status).toBe(200)
    expect(refreshRequests(s)).toBe(before + 1)
    expect(refreshed.body.accessToken).toBe((await row()).accessToken)
    expect((await s.op.userinfo(String(refreshed.body.accessToken))).status).toBe(200)
    // The account cookie is set again (it holds the row as stored now, as Better Auth's own refresh sets it).
    const name = await accountCookieName(aliceBrowser)
    expect(refreshed.setCookies.some((cookie) => cookie.startsWith(`${name}=`))).toBe(true)
  })

  test("one user's session with another user's account cookie gets nothing", async () => {
    const name = await accountCookieName(aliceBrowser)
    const mixed = await cookiesOf(bobBrowser)
    mixed.set(name, (await cookiesOf(aliceBrowser)).get(name)!)
    const answer = await post(mixed, { useAccountCookie: true })
    expect({ status: answer.status, code: answer.body.code }).toEqual({ status: 400, code: "ACCOUNT_NOT_FOUND" })
    expect(JSON.stringify(answer.body)).not.toContain((await row()).accessToken)
    // Control: the same cookies with alice's session are served.
    expect((await post(await cookiesOf(aliceBrowser), { useAccountCookie: true })).status).toBe(200)
  })

  test("a body with both selections, or useAccountCookie not true, is refused naming the field", async () => {
    const cookies = await cookiesOf(aliceBrowser)
    const both = await post(cookies, { useAccountCookie: true, accountId: alice.accountId })
    expect(both.status).toBe(400)
    expect(String(both.body.message)).toContain("accountId")
    const notTrue = await post(cookies, { useAccountCookie: false })
    expect(notTrue.status).toBe(400)
    expect(String(notTrue.body.message)).toContain("useAccountCookie")
  })
})
