/**
 * examples/better-auth in real Chromium: its real server (`src/main.ts` on the built library: Better Auth 1.7,
 * its Kysely adapter on a pg Pool, genericOAuth, the `tokenSync` plugin), the real oidc-provider (rotating
 * refresh tokens, 8 s access tokens; its token endpoint behind a proxy that holds answers back 500 ms, as
 * slow as real providers), real PostgreSQL. Sign in through the provider's login form, let the
 * access token expire, then the page's button fires 10 parallel /api/userinfo calls (each one
 * `auth.api.getAccessToken`). With the plugin: all 200, one refresh grant, the row holds the provider's last
 * tokens. The control (TOKEN_SYNC=off, plain Better Auth) sends the same refresh token several times.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"

import { signInThroughProvider, startExampleRun, waitUntilExpired, type ExampleRun } from "./example-flow.js"
import { ACCESS_TOKEN_TTL } from "./example-suite.js"

const SHOTS = "better-auth"
const PARALLEL_CALLS = 10
/** The local provider answers a grant in a few ms; real ones take hundreds. Slower, the calls overlap it. */
const TOKEN_ENDPOINT_DELAY_MS = 500

const start = (tokenSync: boolean): Promise<ExampleRun> =>
  startExampleRun({
    example: "better-auth",
    schemaFile: "schema.sql",
    callbackPath: "/api/auth/callback/oidc",
    command: process.execPath,
    args: () => ["--import", "tsx", "src/main.ts"],
    tokenSync,
    accessTokenTtl: ACCESS_TOKEN_TTL,
    tokenEndpointDelayMs: TOKEN_ENDPOINT_DELAY_MS,
    storedQuery:
      `SELECT "accessToken" AS access_token, "refreshToken" AS refresh_token, ` +
      `extract(epoch FROM "accessTokenExpiresAt") AS expires_at FROM "account" ORDER BY "createdAt"`,
  })

/** Signs in, waits until the stored access token has expired, clicks the page's parallel-calls button. */
async function signInThenParallelCalls(run: ExampleRun, shots: string): Promise<{ statuses: number[] }> {
  const { page } = run.browser
  const origin = run.server.origin
  const { loginFormShown } = await signInThroughProvider(page, origin, { signInPath: "/", login: "alice" })
  expect(loginFormShown).toBe(true)
  await run.browser.screenshot(`${shots}/1-signed-in`)
  expect(run.provider.stats.authorizationCodeGrants).toBe(1)

  // Better Auth stored the sign-in's tokens.
  const signedIn = await run.stored()
  expect(signedIn).toHaveLength(1)
  expect(signedIn[0]!.access_token).toBe(run.provider.lastIssued("access_token")!.value)
  expect(signedIn[0]!.refresh_token).toBe(run.provider.lastIssued("refresh_token")!.value)
  await waitUntilExpired(Number(signedIn[0]!.expires_at))
  expect((await run.provider.userinfo(signedIn[0]!.access_token!)).status).toBe(401) // expired at the provider

  await page.goto(`${origin}/`)
  await page.click("#storm")
  await page.waitForSelector("#storm-result[data-statuses]", { timeout: 60_000 })
  const statuses = JSON.parse((await page.getAttribute("#storm-result", "data-statuses"))!) as number[]
  expect(statuses).toHaveLength(PARALLEL_CALLS)
  return { statuses }
}

describe("examples/better-auth in Chromium", () => {
  describe("with the tokenSync plugin", () => {
    let run: ExampleRun | undefined
    beforeAll(async () => {
      run = await start(true)
    }, 180_000)
    afterAll(async () => {
      await run?.stop()
    }, 60_000)
    test(`sign in, access token expires, ${PARALLEL_CALLS} parallel /api/userinfo calls: all 200, one refresh grant, the row holds the provider's last tokens`, async () => {
      const r = run!
      const { page } = r.browser
      const { statuses } = await signInThenParallelCalls(r, SHOTS)
      console.log(`[better-auth] statuses ${statuses.join(",")}; stats ${JSON.stringify(r.provider.stats)}`)
      await r.browser.screenshot(`${SHOTS}/2-parallel-calls`)
      expect(statuses).toEqual(Array.from({ length: PARALLEL_CALLS }, () => 200))
      expect(r.provider.stats.refreshGrants).toBe(1)
      expect(r.provider.stats.refreshErrors).toEqual([])
      expect(r.provider.stats.grantsRevoked).toBe(0)
      const stored = await r.stored()
      expect(stored).toHaveLength(1)
      expect(stored[0]!.access_token).toBe(r.provider.lastIssued("access_token")!.value)
      expect(stored[0]!.refresh_token).toBe(r.provider.lastIssued("refresh_token")!.value)

      // The page shows the new state, shortened: never a whole token.
      await page.goto(`${r.server.origin}/`)
      await page.waitForSelector("#user")
      expect(await page.textContent("td.last-userinfo")).toMatch(/^200 at /)
      expect(await page.textContent("td.access-token")).toContain(stored[0]!.access_token!.slice(0, 6))
      const html = await page.content()
      for (const token of r.provider.issued) expect(html).not.toContain(token.value)
      await r.browser.screenshot(`${SHOTS}/3-after-refresh`)

      await page.click("#signout")
      await page.waitForSelector("#signed-out")
    }, 240_000)
  })

  describe("control: plain Better Auth (TOKEN_SYNC=off)", () => {
    let run: ExampleRun | undefined
    beforeAll(async () => {
      run = await start(false)
    }, 180_000)
    afterAll(async () => {
      await run?.stop()
    }, 60_000)
    test(`the same ${PARALLEL_CALLS} parallel calls: one refresh token sent more than once, invalid_grant, the grant revoked, calls fail`, async () => {
      const r = run!
      const { statuses } = await signInThenParallelCalls(r, `${SHOTS}-control`)
      const { refreshGrants, refreshErrors, grantsRevoked } = r.provider.stats
      const refused = refreshErrors.map((e) => `${e.error} (${e.detail ?? ""})`).join(", ")
      console.log(
        `[better-auth, control] statuses ${statuses.join(",")}; refresh grants ${refreshGrants}, ` +
          `refused: ${refused}; grants revoked ${grantsRevoked}`,
      )
      await r.browser.screenshot(`${SHOTS}-control/2-parallel-calls`)
      // Plain Better Auth: no single-flight, so overlapping calls send the same refresh token; the rotating
      // provider answers the first and refuses the others, and its reuse detection revokes the grant.
      expect(refreshGrants).toBe(1)
      expect(refreshErrors.length).toBeGreaterThan(0)
      for (const refusal of refreshErrors) expect(refusal.error).toBe("invalid_grant")
      expect(grantsRevoked).toBe(1)
      // The refused callers get Better Auth's 400; the token of the one refresh died with the grant.
      expect(statuses).toContain(400)
      expect(statuses.filter((status) => status === 200).length).toBeLessThan(PARALLEL_CALLS)
    }, 240_000)
  })
})
