/**
 * examples/express in real Chromium: its real server (`src/main.ts` on the built library), the real
 * oidc-provider (rotating refresh tokens, 8 s access tokens), real PostgreSQL. Sign in through the provider's
 * login form, sign out, sign in again, let the access token expire, call the app's userinfo route.
 * With withTokenSync the route answers 200 and the database holds the tokens the provider issued last;
 * the control run (TOKEN_SYNC=off, the bare adapter) keeps the first sign-in's tokens and gets the 401.
 */
import { readFile } from "node:fs/promises"
import * as path from "node:path"

import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import pg from "pg"

import { launchChromium, type LaunchedChromium } from "../../src/harness/chromium.js"
import { applySchema } from "../../src/harness/example-services.js"
import { startOidcProvider, type TestOidcProvider } from "../../src/harness/oidc-provider.js"
import { testDatabase, type TestDatabase } from "../../src/harness/postgres.js"
import {
  assertLibraryBuilt,
  exampleDir,
  freePort,
  signInThroughProvider,
  signOut,
  startExampleServer,
  waitUntilExpired,
  type ExampleServer,
} from "./example-flow.js"

const EXAMPLE = exampleDir("express")
const ACCESS_TOKEN_TTL = 8

interface StoredTokens {
  access_token: string | null
  refresh_token: string | null
  expires_at: string | null
}

interface Run {
  provider: TestOidcProvider
  database: TestDatabase
  server: ExampleServer
  browser: LaunchedChromium
  stored(): Promise<StoredTokens[]>
  stop(): Promise<void>
}

async function startRun(tokenSync: boolean): Promise<Run> {
  assertLibraryBuilt()
  const port = await freePort()
  const provider = await startOidcProvider({
    clientId: "example-app",
    accessTokenTtl: ACCESS_TOKEN_TTL,
    rotateRefreshToken: true,
    redirectUris: [`http://127.0.0.1:${port}/auth/callback/oidc`],
  })
  const database = await testDatabase(tokenSync ? "example_express" : "example_express_control")
  await applySchema(database.url, await readFile(path.join(EXAMPLE, "schema.sql"), "utf8"))
  const stops: Array<() => Promise<void>> = [() => provider.stop(), () => database.drop()]
  try {
    const server = await startExampleServer({
      cwd: EXAMPLE,
      command: process.execPath,
      args: ["--import", "tsx", "src/main.ts"],
      port,
      env: {
        DATABASE_URL: database.url,
        OIDC_ISSUER: provider.issuer,
        OIDC_CLIENT_ID: provider.clientId,
        OIDC_CLIENT_SECRET: provider.clientSecret,
        AUTH_SECRET: "example-express-browser-test-secret-0123456789",
        TOKEN_REFRESH_SKEW_SECONDS: "2",
        TOKEN_SYNC: tokenSync ? "on" : "off",
      },
    })
    stops.unshift(() => server.stop())
    console.log(`[express example${tokenSync ? "" : ", control"}] server answered ${server.startupMs} ms after spawn`)
    const browser = await launchChromium()
    stops.unshift(() => browser.close())
    const stored = async (): Promise<StoredTokens[]> => {
      const client = new pg.Client({ connectionString: database.url })
      await client.connect()
      try {
        return (await client.query<StoredTokens>("SELECT access_token, refresh_token, expires_at FROM accounts ORDER BY id")).rows
      } finally {
        await client.end()
      }
    }
    return {
      provider,
      database,
      server,
      browser,
      stored,
      stop: async () => {
        for (const fn of stops) await fn().catch(() => {})
      },
    }
  } catch (error) {
    for (const fn of stops) await fn().catch(() => {})
    throw error
  }
}

/** Sign in, sign out, sign in again; returns the page after the second sign-in. */
async function signInTwice(run: Run, shots: string): Promise<void> {
  const { page } = run.browser
  const first = await signInThroughProvider(page, run.server.origin, { signInPath: "/auth/signin", login: "alice" })
  expect(first.loginFormShown).toBe(true)
  await run.browser.screenshot(`${shots}/1-signed-in`)
  await signOut(page, run.server.origin, "/auth/signout")
  await signInThroughProvider(page, run.server.origin, { signInPath: "/auth/signin", login: "alice" })
  await run.browser.screenshot(`${shots}/2-signed-in-again`)
  expect(run.provider.stats.authorizationCodeGrants).toBe(2)
}

describe("examples/express in Chromium", () => {
  describe("withTokenSync", () => {
    let run: Run
    beforeAll(async () => {
      run = await startRun(true)
    }, 180_000)
    afterAll(async () => {
      await run?.stop()
    }, 60_000)

    test("sign in, sign out, sign in again, access token expires: /api/userinfo answers 200 and the database holds the tokens the provider issued last", async () => {
      const { page } = run.browser
      await signInTwice(run, "express")

      // The returning sign-in's tokens were stored (the bare adapter would have kept the first ones).
      const afterSignIns = await run.stored()
      expect(afterSignIns).toHaveLength(1)
      expect(afterSignIns[0]!.access_token).toBe(run.provider.lastIssued("access_token")!.value)
      expect(afterSignIns[0]!.refresh_token).toBe(run.provider.lastIssued("refresh_token")!.value)
      const secondAccessToken = afterSignIns[0]!.access_token!

      await waitUntilExpired(Number(afterSignIns[0]!.expires_at))
      expect((await run.provider.userinfo(secondAccessToken)).status).toBe(401) // really expired at the provider

      const response = await page.goto(`${run.server.origin}/api/userinfo`)
      expect(response?.status()).toBe(200)
      const body = (await response!.json()) as { refreshed: boolean; userinfo: { sub?: string } }
      expect(body.refreshed).toBe(true)
      expect(body.userinfo.sub).toBe("alice")

      // Exactly one refresh reached the provider, and the database holds its answer.
      expect(run.provider.stats.refreshGrants).toBe(1)
      expect(run.provider.stats.refreshErrors).toEqual([])
      const afterRefresh = await run.stored()
      expect(afterRefresh).toHaveLength(1)
      expect(afterRefresh[0]!.access_token).toBe(run.provider.lastIssued("access_token")!.value)
      expect(afterRefresh[0]!.refresh_token).toBe(run.provider.lastIssued("refresh_token")!.value)
      expect(afterRefresh[0]!.access_token).not.toBe(secondAccessToken)

      // The page shows the new state, shortened: never a whole token.
      await page.goto(`${run.server.origin}/`)
      const html = await page.content()
      expect(await page.textContent("td.last-userinfo")).toMatch(/^200 at /)
      expect(await page.textContent("td.last-refresh")).not.toMatch(/none/)
      expect(await page.textContent("td.access-token")).toContain(afterRefresh[0]!.access_token!.slice(0, 6))
      for (const token of run.provider.issued) expect(html).not.toContain(token.value)
      await run.browser.screenshot("express/3-after-refresh")
    }, 240_000)
  })

  describe("control: the same app with the bare adapter (TOKEN_SYNC=off)", () => {
    let run: Run
    beforeAll(async () => {
      run = await startRun(false)
    }, 180_000)
    afterAll(async () => {
      await run?.stop()
    }, 60_000)

    test("the database keeps the first sign-in's tokens (stale) and /api/userinfo gets the provider's 401", async () => {
      const { page } = run.browser
      await signInTwice(run, "express-control")

      const stored = await run.stored()
      expect(stored).toHaveLength(1)
      const firstIssued = run.provider.issuedOf("access_token")[0]!.value
      expect(stored[0]!.access_token).toBe(firstIssued)
      expect(stored[0]!.access_token).not.toBe(run.provider.lastIssued("access_token")!.value)
      expect(stored[0]!.refresh_token).not.toBe(run.provider.lastIssued("refresh_token")!.value)

      await waitUntilExpired(Number(stored[0]!.expires_at))
      const response = await page.goto(`${run.server.origin}/api/userinfo`)
      expect(response?.status()).toBe(401)
      expect(run.provider.stats.refreshGrants).toBe(0)
      await page.goto(`${run.server.origin}/`)
      expect(await page.textContent("td.last-userinfo")).toMatch(/^401 at /)
      await run.browser.screenshot("express-control/3-stale-token-401")
    }, 240_000)
  })
})
