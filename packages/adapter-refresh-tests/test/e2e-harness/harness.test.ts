/**
 * The end-to-end harness against itself: a real oidc-provider, the real @auth/core `Auth()` over HTTP and
 * a fetch-based browser. No database, no mocks: JWT sessions without an adapter.
 */
import { afterEach, describe, expect, jest, test } from "@jest/globals"
import type { Adapter, AdapterAccount, AdapterSession, AdapterUser } from "@auth/core/adapters"
import type { Account } from "@auth/core/types"

import { startAuthApp, type AuthApp, type StartAuthAppOptions } from "../../src/harness/auth-app.js"
import { Browser } from "../../src/harness/browser.js"
import {
  startOidcProvider,
  type StartOidcProviderOptions,
  type TestOidcProvider,
} from "../../src/harness/oidc-provider.js"

const running: Array<{ stop(): Promise<void> }> = []
afterEach(async () => {
  // Stop in reverse start order: apps before their provider.
  while (running.length) await running.pop()?.stop()
})

interface Setup {
  op: TestOidcProvider
  app: AuthApp
  /** Every `account` the jwt callback received (sign-ins only). */
  accounts: Account[]
}

async function setup(
  opOptions: StartOidcProviderOptions = {},
  appOptions: Partial<StartAuthAppOptions> = {},
): Promise<Setup> {
  const op = await startOidcProvider(opOptions)
  running.push(op)
  const accounts: Account[] = []
  const app = await startAuthApp({
    session: "jwt",
    provider: op,
    callbacks: {
      jwt({ token, account }) {
        if (account) accounts.push(account)
        return token
      },
    },
    ...appOptions,
  })
  running.push(app)
  return { op, app, accounts }
}

async function signIn(app: AuthApp, browser: Browser, login: string): Promise<void> {
  const result = await app.signIn(browser, { login })
  expect({ ok: result.ok, trace: result.trace }).toEqual({ ok: true, trace: result.trace })
}

function expectCleanRun({ op, app }: Setup): void {
  expect(app.errorMessages()).toEqual([])
  expect(op.stats.serverErrors).toEqual([])
}

describe("sign-in through the real Auth.js callback", () => {
  test("a first sign-in succeeds and the jwt callback receives fresh access_token, refresh_token and expires_at", async () => {
    const s = await setup({ accessTokenTtl: 30 })
    const browser = new Browser()
    const before = Math.floor(Date.now() / 1000)

    const result = await s.app.signIn(browser, { login: "alice" })

    expect(result.ok).toBe(true)
    expect(result.sessionCookieSet).toBe(true)
    expect(result.loginFormShown).toBe(true)
    expect(result.consentFormShown).toBe(true)
    expect(result.finalUrl).toBe(`${s.app.url}/`)
    expect(s.accounts).toHaveLength(1)
    const account = s.accounts[0]!
    expect(account.provider).toBe("local-oidc")
    expect(account.providerAccountId).toBe("alice")
    expect(account.access_token).toBe(s.op.lastIssued("access_token")?.value)
    expect(account.refresh_token).toBe(s.op.lastIssued("refresh_token")?.value)
    expect(account.expires_at).toBeGreaterThanOrEqual(before + 30)
    expect(account.expires_at).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 31)
    expect(account.scope?.split(" ").sort()).toEqual(["email", "offline_access", "openid", "profile"])
    expect(s.op.stats.authorizationCodeGrants).toBe(1)
    expect(s.op.issued.map((t) => t.kind).sort()).toEqual(["access_token", "refresh_token"])

    const session = await s.app.getSession(browser)
    expect(session?.user).toMatchObject({ email: "alice@example.test", name: "Test User alice" })
    expect(s.app.signIns).toHaveLength(1)
    expect(s.app.signIns[0]?.account?.refresh_token).toBe(account.refresh_token)
    expectCleanRun(s)
  })

  test("a returning sign-in in a new browser gets new tokens from the provider", async () => {
    const s = await setup()
    await signIn(s.app, new Browser(), "bob")
    await signIn(s.app, new Browser(), "bob")

    expect(s.accounts).toHaveLength(2)
    const [first, second] = s.accounts as [Account, Account]
    expect(second.providerAccountId).toBe(first.providerAccountId)
    expect(second.access_token).not.toBe(first.access_token)
    expect(second.refresh_token).not.toBe(first.refresh_token)
    const accessTokens = s.op.issuedOf("access_token").map((t) => t.value)
    const refreshTokens = s.op.issuedOf("refresh_token").map((t) => t.value)
    expect(accessTokens).toEqual([first.access_token, second.access_token])
    expect(refreshTokens).toEqual([first.refresh_token, second.refresh_token])
    expect(s.op.stats.authorizationCodeGrants).toBe(2)
    // Both generations work at the provider: a new sign-in does not revoke the previous grant.
    expect((await s.op.userinfo(first.access_token!)).status).toBe(200)
    expect((await s.op.userinfo(second.access_token!)).status).toBe(200)
    expectCleanRun(s)
  })
  test("a returning sign-in in the same browser after sign-out skips the login form and still gets new tokens", async () => {
    const s = await setup()
    const browser = new Browser()
    await signIn(s.app, browser, "carol")
    expect(await s.app.getSession(browser)).not.toBeNull()

    await s.app.signOut(browser)
    expect(await s.app.getSession(browser)).toBeNull()

    const again = await s.app.signIn(browser, { login: "carol" })
    expect(again.ok).toBe(true)
    expect(again.loginFormShown).toBe(false) // the provider session is still there
    expect(again.consentFormShown).toBe(true) // prompt=consent
    const [first, second] = s.accounts as [Account, Account]
    expect(second.access_token).not.toBe(first.access_token)
    expect(second.refresh_token).toBeDefined()
    expect(second.refresh_token).not.toBe(first.refresh_token)
    // Same browser, same provider session: the provider reuses the grant.
    const [rt1, rt2] = s.op.issuedOf("refresh_token")
    expect(rt2?.grantId).toBe(rt1?.grantId)
    expect((await s.app.getSession(browser))?.user?.email).toBe("carol@example.test")
    expectCleanRun(s)
  })

  test("forceLogin sends prompt=login consent so the provider asks for the login again", async () => {
    const s = await setup()
    const browser = new Browser()
    await signIn(s.app, browser, "dave")
    const again = await s.app.signIn(browser, { login: "dave", forceLogin: true })
    expect(again.ok).toBe(true)
    expect(again.loginFormShown).toBe(true)
    expect(s.accounts[1]?.refresh_token).toBeDefined()
    expectCleanRun(s)
  })

  test("client_secret_post works for the sign-in and for refresh", async () => {
    const s = await setup({ tokenEndpointAuthMethod: "client_secret_post" })
    await signIn(s.app, new Browser(), "erin")
    const refreshed = await s.op.refresh(s.accounts[0]!.refresh_token!)
    expect(refreshed.status).toBe(200)
    expectCleanRun(s)
  })

  test("an Auth.js error is surfaced: a wrong client secret fails the callback and is logged", async () => {
    const op = await startOidcProvider()
    running.push(op)
    const app = await startAuthApp({ session: "jwt", provider: { ...op, clientSecret: "wrong" } })
    running.push(app)
    const result = await app.signIn(new Browser(), { login: "mallory" })
    expect(result.ok).toBe(false)
    expect(result.sessionCookieSet).toBe(false)
    expect(result.error).toBe("Configuration")
    expect(result.authErrors.join("\n")).toMatch(/invalid_client/)
    expect(app.errors.length).toBeGreaterThan(0)
    expect(op.stats.grantErrors.map((e) => e.error)).toEqual(["invalid_client"])
  })
})

describe("database sessions (in-memory adapter, only to check the harness drives that mode too)", () => {
  function memoryAdapter(calls: string[]): Adapter {
    const users = new Map<string, AdapterUser>()
    const accounts = new Map<string, AdapterAccount>()
    const sessions = new Map<string, AdapterSession>()
    const log = (name: string): void => {
      calls.push(name)
    }
    return {
      async createUser(user) {
        log("createUser")
        const created = { ...user, id: user.id ?? crypto.randomUUID() }
        users.set(created.id, created)
        return created
      },
      async getUser(id) {
        log("getUser")
        return users.get(id) ?? null
      },
      async getUserByEmail(email) {
        log("getUserByEmail")
        return [...users.values()].find((u) => u.email === email) ?? null
      },
      async getUserByAccount({ provider, providerAccountId }) {
        log("getUserByAccount")
        const account = accounts.get(`${provider}:${providerAccountId}`)
        return account ? (users.get(account.userId) ?? null) : null
      },
      async updateUser(user) {
        log("updateUser")
        const updated = { ...users.get(user.id)!, ...user }
        users.set(user.id, updated)
        return updated
      },
      async linkAccount(account) {
        log("linkAccount")
        accounts.set(`${account.provider}:${account.providerAccountId}`, account)
      },
      async createSession(session) {
        log("createSession")
        sessions.set(session.sessionToken, session)
        return session
      },
      async getSessionAndUser(sessionToken) {
        log("getSessionAndUser")
        const session = sessions.get(sessionToken)
        const user = session && users.get(session.userId)
        return session && user ? { session, user } : null
      },
      async updateSession(session) {
        log("updateSession")
        const updated = { ...sessions.get(session.sessionToken)!, ...session }
        sessions.set(session.sessionToken, updated)
        return updated
      },
      async deleteSession(sessionToken) {
        log("deleteSession")
        sessions.delete(sessionToken)
      },
    }
  }
  test("a first sign-in links the account; a returning one only creates a session (the gap this project closes)", async () => {
    const calls: string[] = []
    const s = await setup({}, { session: "database", adapter: memoryAdapter(calls), callbacks: {} })
    const browser = new Browser()
    await signIn(s.app, browser, "nina")
    expect(calls).toContain("linkAccount")
    expect((await s.app.getSession(browser))?.user?.email).toBe("nina@example.test")

    calls.length = 0
    await signIn(s.app, new Browser(), "nina")
    expect(calls).not.toContain("linkAccount")
    expect(calls).toContain("createSession")
    expect(s.app.signIns[1]?.account?.refresh_token).toBe(s.op.lastIssued("refresh_token")?.value)
    expect(s.app.signIns[1]?.isNewUser).toBe(false)
    expectCleanRun(s)
  })
})

describe("refresh tokens at the real token endpoint", () => {
  test("with rotation, a refresh works once; reusing the consumed token gives invalid_grant and revokes the grant", async () => {
    const s = await setup()
    await signIn(s.app, new Browser(), "frank")
    const rt0 = s.accounts[0]!.refresh_token!

    const first = await s.op.refresh(rt0)
    expect(first.status).toBe(200)
    const rt1 = first.body.refresh_token!
    const at1 = first.body.access_token!
    expect(rt1).toBeDefined()
    expect(rt1).not.toBe(rt0)
    expect(s.op.lastIssued("refresh_token")?.value).toBe(rt1)
    expect(s.op.lastIssued("access_token")?.value).toBe(at1)
    expect(s.op.lastIssued("refresh_token")?.gty).toBe("authorization_code refresh_token")
    expect((await s.op.userinfo(at1)).status).toBe(200)
    expect(s.op.stats).toMatchObject({ refreshGrants: 1, refreshTokensConsumed: 1, grantsRevoked: 0 })

    const reuse = await s.op.refresh(rt0)
    expect(reuse.status).toBe(400)
    expect(reuse.body.error).toBe("invalid_grant")
    expect(s.op.stats.refreshErrors.map((e) => [e.error, e.detail])).toEqual([
      ["invalid_grant", "refresh token already used"],
    ])
    expect(s.op.stats.grantsRevoked).toBe(1)
    expect(s.op.stats.revokedGrantIds).toEqual([s.op.lastIssued("refresh_token")?.grantId])

    // The whole grant is gone: the newer refresh token and access token fail too.
    const newer = await s.op.refresh(rt1)
    expect(newer.status).toBe(400)
    expect(newer.body.error).toBe("invalid_grant")
    expect((await s.op.userinfo(at1)).status).toBe(401)
    expect((await s.op.introspect(rt1)).body.active).toBe(false)
    expect(s.op.stats.refreshGrants).toBe(1)
    expectCleanRun(s)
  })
  test("issueOfflineGrant (the scale bench's seeding) makes a grant the token endpoint treats like a sign-in's", async () => {
    const op = await startOidcProvider({ accessTokenTtl: 60 })
    running.push(op)
    const before = Math.floor(Date.now() / 1000)
    const seeded = await op.issueOfflineGrant("ivan")
    expect(seeded.expiresAt).toBeGreaterThanOrEqual(before + 60)
    expect(seeded.scope).toBe("openid email profile offline_access")
    expect((await op.userinfo(seeded.accessToken)).body).toMatchObject({ sub: "ivan" })
    expect(op.stats.authorizationCodeGrants).toBe(0)

    const first = await op.refresh(seeded.refreshToken)
    expect(first.status).toBe(200)
    expect(first.body.refresh_token).toBeDefined()
    expect(first.body.refresh_token).not.toBe(seeded.refreshToken)
    expect(first.body.id_token).toBeDefined()
    expect(op.lastIssued("refresh_token")?.gty).toBe("authorization_code refresh_token")

    // Rotation and reuse detection: the consumed token fails and takes the grant with it.
    const reuse = await op.refresh(seeded.refreshToken)
    expect(reuse.body.error).toBe("invalid_grant")
    expect(op.stats.revokedGrantIds).toEqual([seeded.grantId])
    expect((await op.refresh(first.body.refresh_token!)).body.error).toBe("invalid_grant")
    expect(op.stats.serverErrors).toEqual([])
  })

  test("parallel refreshes with the same token: exactly one succeeds, the others get invalid_grant", async () => {
    const s = await setup()
    await signIn(s.app, new Browser(), "grace")
    const rt = s.accounts[0]!.refresh_token!

    const results = await Promise.all(Array.from({ length: 5 }, () => s.op.refresh(rt)))

    expect(results.map((r) => r.status).sort()).toEqual([200, 400, 400, 400, 400])
    expect(s.op.stats.refreshGrants).toBe(1)
    expect(s.op.stats.refreshErrors.map((e) => e.error)).toEqual(Array(4).fill("invalid_grant"))
    expect(s.op.stats.grantsRevoked).toBeGreaterThanOrEqual(1)
    expectCleanRun(s)
  })

  test("without rotation the same refresh token keeps working", async () => {
    const s = await setup({ rotateRefreshToken: false })
    await signIn(s.app, new Browser(), "heidi")
    const rt = s.accounts[0]!.refresh_token!
    const first = await s.op.refresh(rt)
    const second = await s.op.refresh(rt)
    expect([first.status, second.status]).toEqual([200, 200])
    expect(first.body.refresh_token).toBe(rt)
    expect(second.body.refresh_token).toBe(rt)
    expect(second.body.access_token).not.toBe(first.body.access_token)
    expect(s.op.stats).toMatchObject({ refreshGrants: 2, refreshTokensConsumed: 0, grantsRevoked: 0 })
    expect(s.op.issuedOf("refresh_token")).toHaveLength(1)
    expectCleanRun(s)
  })

  test("Google-like mode: no refresh_token on a returning sign-in; switchable at run time", async () => {
    const s = await setup({ refreshTokenOnReturn: false })
    await signIn(s.app, new Browser(), "ivan")
    await signIn(s.app, new Browser(), "ivan")
    expect(s.accounts[0]?.refresh_token).toBeDefined()
    expect(s.accounts[1]?.access_token).toBeDefined()
    expect(s.accounts[1]?.access_token).not.toBe(s.accounts[0]?.access_token)
    expect(s.accounts[1]).not.toHaveProperty("refresh_token")
    expect(s.app.signIns[1]?.account).not.toHaveProperty("refresh_token")
    expect(s.op.issuedOf("refresh_token")).toHaveLength(1)

    // Another account still gets one on its first consent.
    await signIn(s.app, new Browser(), "judy")
    expect(s.accounts[2]?.refresh_token).toBeDefined()

    s.op.setRefreshTokenOnReturn(true)
    await signIn(s.app, new Browser(), "ivan")
    expect(s.accounts[3]?.refresh_token).toBeDefined()
    expectCleanRun(s)
  })

  test("an access token stops working at userinfo after its TTL", async () => {
    // 5 s: long enough that a loaded machine still checks the fresh token before it expires.
    const s = await setup({ accessTokenTtl: 5 })
    await signIn(s.app, new Browser(), "kim")
    const account = s.accounts[0]!
    expect(account.expires_at! - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(5)

    const fresh = await s.op.userinfo(account.access_token!)
    expect(fresh.status).toBe(200)
    expect(fresh.body).toMatchObject({ sub: "kim", email: "kim@example.test", email_verified: true })
    expect((await s.op.introspect(account.access_token!)).body).toMatchObject({ active: true, sub: "kim" })

    // Until a second past its expiry (epoch seconds).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, (account.expires_at! + 1) * 1000 - Date.now())))

    const expired = await s.op.userinfo(account.access_token!)
    expect(expired.status).toBe(401)
    expect(expired.headers.get("www-authenticate")).toMatch(/invalid_token/)
    expect((await s.op.introspect(account.access_token!)).body.active).toBe(false)
    // The refresh token still works and yields a working access token.
    const refreshed = await s.op.refresh(account.refresh_token!)
    expect(refreshed.status).toBe(200)
    expect((await s.op.userinfo(refreshed.body.access_token!)).status).toBe(200)
    expectCleanRun(s)
  })

  test("revokeGrant and revoke() invalidate tokens like a user removing the app's access", async () => {
    const s = await setup()
    await signIn(s.app, new Browser(), "leo")
    await signIn(s.app, new Browser(), "leo")
    const [a, b] = s.accounts as [Account, Account]

    expect((await s.op.revoke(a.refresh_token!, "refresh_token")).status).toBe(200)
    expect((await s.op.refresh(a.refresh_token!)).body.error).toBe("invalid_grant")

    await s.op.revokeGrant(s.op.issuedOf("refresh_token")[1]!.grantId!)
    expect((await s.op.refresh(b.refresh_token!)).body.error).toBe("invalid_grant")
    expect((await s.op.userinfo(b.access_token!)).status).toBe(401)
    expectCleanRun(s)
  })
})

describe("harness mechanics", () => {
  test("starts in well under a second and stops cleanly (idempotent stop)", async () => {
    await startOidcProvider().then((warm) => warm.stop()) // signing key and module are cached after this
    const started = performance.now()
    const op = await startOidcProvider()
    const app = await startAuthApp({ session: "jwt", provider: op })
    const elapsed = performance.now() - started
    expect(elapsed).toBeLessThan(1000)
    expect(op.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(app.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(app.callbackUrl()).toBe(`${app.url}/auth/callback/local-oidc`)
    const discovery = await fetch(op.endpoints.discovery).then((r) => r.json() as Promise<Record<string, unknown>>)
    expect(discovery).toMatchObject({
      issuer: op.issuer,
      token_endpoint: op.endpoints.token,
      userinfo_endpoint: op.endpoints.userinfo,
    })
    await Promise.all([app.stop(), app.stop()])
    await op.stop()
    await op.stop()
    await expect(fetch(op.endpoints.discovery)).rejects.toThrow()
  })

  test("oidc-provider's start-up notices are collected, not printed", async () => {
    const warn = jest.spyOn(console, "warn")
    try {
      const op = await startOidcProvider()
      running.push(op)
      expect(op.notices.some((n) => n.includes("devInteractions"))).toBe(true)
      expect(warn.mock.calls.flat().join("\n")).not.toMatch(/oidc-provider/)
    } finally {
      warn.mockRestore()
    }
  })

  test("the browser keeps one cookie jar across origins and reads cookies per URL", async () => {
    const s = await setup()
    const browser = new Browser()
    await signIn(s.app, browser, "mia")
    const appCookies = (await browser.cookies(s.app.url)).map((c) => c.name)
    expect(appCookies).toContain("authjs.session-token")
    expect(await browser.cookie(`${s.op.issuer}/auth/x`, `_op_session_${s.op.port}`)).toBeDefined()
    await browser.clearCookies()
    expect(await browser.cookies(s.app.url)).toEqual([])
    expect(await s.app.getSession(browser)).toBeNull()
  })
})
