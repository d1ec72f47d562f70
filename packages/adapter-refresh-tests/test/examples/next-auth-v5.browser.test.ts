/**
 * examples/next-auth-v5-app in real Chromium: `next build` (once per content, scripts/build.mjs) + `next start`
 * of the App Router app on the built library, next-auth 5 with @auth/prisma-adapter and database sessions,
 * the real oidc-provider (rotating refresh tokens, 8 s access tokens), real PostgreSQL. Sign in through the
 * provider's login form, sign out, sign in again, let the access token expire, call the app's route handler.
 * With withTokenSync it answers 200 and the database holds the tokens the provider issued last; the control
 * run (TOKEN_SYNC=off, the bare PrismaAdapter) keeps the first sign-in's tokens and gets the provider's 401.
 */
import { spawn } from "node:child_process"
import { readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import * as path from "node:path"

import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import pg from "pg"

import { launchChromium, type LaunchedChromium } from "../../src/harness/chromium.js"
import { applySchema } from "../../src/harness/example-services.js"
import { startOidcProvider, type TestOidcProvider } from "../../src/harness/oidc-provider.js"
import { testDatabase, type TestDatabase } from "../../src/harness/postgres.js"
import {
  exampleDir,
  freePort,
  signInThroughProvider,
  signOut,
  startExampleServer,
  waitUntilExpired,
  type ExampleServer,
} from "./example-flow.js"

const EXAMPLE = exampleDir("next-auth-v5-app")
const ACCESS_TOKEN_TTL = 8
const BUILD_TIMEOUT_MS = 15 * 60_000

interface StoredTokens {
  access_token: string | null
  refresh_token: string | null
  expires_at: number | null
}

interface Run {
  /**
   * `http://localhost:<port>`, not 127.0.0.1: Next.js rewrites a 127.x host to "localhost" in the request
   * URL next-auth 5 builds its form actions and redirects from, so on a 127.0.0.1 origin every sign-in
   * would post to another cookie origin and fail with MissingCSRF.
   */
  origin: string
  provider: TestOidcProvider
  database: TestDatabase
  server: ExampleServer
  browser: LaunchedChromium
  stored(): Promise<StoredTokens[]>
  stop(): Promise<void>
}

/** scripts/build.mjs: the library's dist, the Prisma client and `next build`, skipped when .next is current. */
async function buildExample(): Promise<void> {
  const started = performance.now()
  let output = ""
  const child = spawn(process.execPath, [path.join(EXAMPLE, "scripts/build.mjs")], { cwd: EXAMPLE, stdio: ["ignore", "pipe", "pipe"] })
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
  const timer = setTimeout(() => child.kill("SIGKILL"), BUILD_TIMEOUT_MS)
  const code = await new Promise<number | null>((resolve) => child.once("exit", (exitCode) => resolve(exitCode)))
  clearTimeout(timer)
  if (code !== 0) throw new Error(`scripts/build.mjs failed (exit ${code}) within ${BUILD_TIMEOUT_MS} ms:\n${output.slice(-4000)}`)
  const summary = output.split("\n").filter((line) => line.startsWith("[example build]"))
  console.log(`[next-auth v5 example] build step ${Math.round(performance.now() - started)} ms:\n${summary.join("\n")}`)
}

async function startRun(tokenSync: boolean): Promise<Run> {
  const port = await freePort()
  const provider = await startOidcProvider({
    clientId: "next-auth-v5-example",
    accessTokenTtl: ACCESS_TOKEN_TTL,
    rotateRefreshToken: true,
    redirectUris: [`http://localhost:${port}/api/auth/callback/oidc`],
  })
  const database = await testDatabase(tokenSync ? "example_v5" : "example_v5_control")
  await applySchema(database.url, await readFile(path.join(EXAMPLE, "prisma/schema.sql"), "utf8"))
  const stops: Array<() => Promise<void>> = [() => provider.stop(), () => database.drop()]
  try {
    const nextBin = path.join(path.dirname(createRequire(path.join(EXAMPLE, "package.json")).resolve("next/package.json")), "dist/bin/next")
    const server = await startExampleServer({
      cwd: EXAMPLE,
      command: process.execPath,
      args: [nextBin, "start", "--hostname", "127.0.0.1", "--port", String(port)],
      port,
      env: {
        DATABASE_URL: database.url,
        OIDC_ISSUER: provider.issuer,
        OIDC_CLIENT_ID: provider.clientId,
        OIDC_CLIENT_SECRET: provider.clientSecret,
        AUTH_SECRET: "example-next-auth-v5-browser-test-secret-0123456789",
        AUTH_URL: `http://localhost:${port}`,
        NEXT_TELEMETRY_DISABLED: "1",
        TOKEN_REFRESH_SKEW_SECONDS: "2",
        TOKEN_SYNC: tokenSync ? "on" : "off",
      },
    })
    stops.unshift(() => server.stop())
    console.log(`[next-auth v5 example${tokenSync ? "" : ", control"}] next start answered ${server.startupMs} ms after spawn`)
    const browser = await launchChromium()
    stops.unshift(() => browser.close())
    const stored = async (): Promise<StoredTokens[]> => {
      const client = new pg.Client({ connectionString: database.url })
      await client.connect()
      try {
        return (await client.query<StoredTokens>(`SELECT access_token, refresh_token, expires_at FROM "Account" ORDER BY "createdAt"`)).rows
      } finally {
        await client.end()
      }
    }
    return {
      origin: `http://localhost:${port}`,
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

/** Sign in (Auth.js's sign-in page), sign out (Auth.js's sign-out page), sign in again. */
async function signInTwice(run: Run, shots: string): Promise<void> {
  const { page } = run.browser
  const first = await signInThroughProvider(page, run.origin, { signInPath: "/api/auth/signin", login: "alice" })
  expect(first.loginFormShown).toBe(true)
  await run.browser.screenshot(`${shots}/1-signed-in`)
  await signOut(page, run.origin, "/api/auth/signout")
  await signInThroughProvider(page, run.origin, { signInPath: "/api/auth/signin", login: "alice" })
  await run.browser.screenshot(`${shots}/2-signed-in-again`)
  expect(run.provider.stats.authorizationCodeGrants).toBe(2)
}

describe("examples/next-auth-v5-app (next build + next start) in Chromium", () => {
  beforeAll(buildExample, BUILD_TIMEOUT_MS + 60_000)

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
      await signInTwice(run, "next-auth-v5")

      // events.signIn stored the returning sign-in's tokens (the bare adapter keeps the first ones).
      const afterSignIns = await run.stored()
      expect(afterSignIns).toHaveLength(1)
      expect(afterSignIns[0]!.access_token).toBe(run.provider.lastIssued("access_token")!.value)
      expect(afterSignIns[0]!.refresh_token).toBe(run.provider.lastIssued("refresh_token")!.value)
      const secondAccessToken = afterSignIns[0]!.access_token!

      await waitUntilExpired(Number(afterSignIns[0]!.expires_at))
      expect((await run.provider.userinfo(secondAccessToken)).status).toBe(401) // really expired at the provider

      const response = await page.goto(`${run.origin}/api/userinfo`)
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

      // The server component shows the new state, shortened: never a whole token, in the HTML or its RSC payload.
      await page.goto(`${run.origin}/`)
      const html = await page.content()
      expect(await page.textContent("td.last-userinfo")).toMatch(/^200 at /)
      expect(await page.textContent("td.last-refresh")).not.toMatch(/none/)
      expect(await page.textContent("td.access-token")).toContain(afterRefresh[0]!.access_token!.slice(0, 6))
      for (const token of run.provider.issued) expect(html).not.toContain(token.value)
      await run.browser.screenshot("next-auth-v5/3-after-refresh")
    }, 240_000)
  })

  describe("control: the same app with the bare PrismaAdapter (TOKEN_SYNC=off)", () => {
    let run: Run
    beforeAll(async () => {
      run = await startRun(false)
    }, 180_000)
    afterAll(async () => {
      await run?.stop()
    }, 60_000)

    test("the database keeps the first sign-in's tokens (stale) and /api/userinfo gets the provider's 401", async () => {
      const { page } = run.browser
      await signInTwice(run, "next-auth-v5-control")

      const stored = await run.stored()
      expect(stored).toHaveLength(1)
      expect(stored[0]!.access_token).toBe(run.provider.issuedOf("access_token")[0]!.value)
      expect(stored[0]!.access_token).not.toBe(run.provider.lastIssued("access_token")!.value)
      expect(stored[0]!.refresh_token).not.toBe(run.provider.lastIssued("refresh_token")!.value)

      await waitUntilExpired(Number(stored[0]!.expires_at))
      const response = await page.goto(`${run.origin}/api/userinfo`)
      expect(response?.status()).toBe(401)
      expect(run.provider.stats.refreshGrants).toBe(0)
      await page.goto(`${run.origin}/`)
      expect(await page.textContent("td.last-userinfo")).toMatch(/^401 at /)
      await run.browser.screenshot("next-auth-v5-control/3-stale-token-401")
    }, 240_000)
  })
})
