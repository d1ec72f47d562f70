/**
 * The browser scenario every example runs, with the wrapper and as a control without it:
 * sign in through the provider's login form, sign out, sign in again, let the access token expire,
 * call the app's /api/userinfo route in the browser.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"

import {
  signInTwice,
  startExampleRun,
  waitUntilExpired,
  type ExampleRun,
  type StartExampleRunOptions,
} from "./example-flow.js"

export const ACCESS_TOKEN_TTL = 8

export interface ExampleSuite extends Omit<StartExampleRunOptions, "tokenSync" | "accessTokenTtl"> {
  title: string
  /** Screenshot folder name under the tests package's screenshots/. */
  shots: string
  paths: { signIn: string; signOut: string }
  /** Runs before the servers start (e.g. the cached `next build`). */
  prepare?: () => void
}

export function defineExampleSuite(suite: ExampleSuite): void {
  const start = (tokenSync: boolean): Promise<ExampleRun> =>
    startExampleRun({ ...suite, tokenSync, accessTokenTtl: ACCESS_TOKEN_TTL })

  describe(suite.title, () => {
    if (suite.prepare) beforeAll(() => suite.prepare!(), 25 * 60_000)

    describe("withTokenSync", () => {
      let run: ExampleRun | undefined
      beforeAll(async () => {
        run = await start(true)
      }, 180_000)
      afterAll(async () => {
        await run?.stop()
      }, 60_000)
      test("sign in, sign out, sign in again, access token expires: /api/userinfo answers 200 and the database holds the tokens the provider issued last", async () => {
        const r = run!
        const { page } = r.browser
        const { firstLoginFormShown } = await signInTwice(r, suite.paths, suite.shots)
        expect(firstLoginFormShown).toBe(true)
        expect(r.provider.stats.authorizationCodeGrants).toBe(2)

        // The returning sign-in's tokens were stored (the bare adapter keeps the first ones).
        const afterSignIns = await r.stored()
        expect(afterSignIns).toHaveLength(1)
        expect(afterSignIns[0]!.access_token).toBe(r.provider.lastIssued("access_token")!.value)
        expect(afterSignIns[0]!.refresh_token).toBe(r.provider.lastIssued("refresh_token")!.value)
        const secondAccessToken = afterSignIns[0]!.access_token!

        await waitUntilExpired(Number(afterSignIns[0]!.expires_at))
        expect((await r.provider.userinfo(secondAccessToken)).status).toBe(401) // really expired at the provider

        const response = await page.goto(`${r.server.origin}/api/userinfo`)
        expect(response?.status()).toBe(200)
        const body = (await response!.json()) as { refreshed: boolean; userinfo: { sub?: string } }
        expect(body.refreshed).toBe(true)
        expect(body.userinfo.sub).toBe("alice")

        // Exactly one refresh reached the provider, and the database holds its answer.
        expect(r.provider.stats.refreshGrants).toBe(1)
        expect(r.provider.stats.refreshErrors).toEqual([])
        const afterRefresh = await r.stored()
        expect(afterRefresh).toHaveLength(1)
        expect(afterRefresh[0]!.access_token).toBe(r.provider.lastIssued("access_token")!.value)
        expect(afterRefresh[0]!.refresh_token).toBe(r.provider.lastIssued("refresh_token")!.value)
        expect(afterRefresh[0]!.access_token).not.toBe(secondAccessToken)

        // The page shows the new state, shortened: never a whole token.
        await page.goto(`${r.server.origin}/`)
        await page.waitForSelector("#user")
        expect(await page.textContent("td.last-userinfo")).toMatch(/^200 at /)
        expect(await page.textContent("td.last-refresh")).not.toMatch(/none/)
        expect(await page.textContent("td.access-token")).toContain(afterRefresh[0]!.access_token!.slice(0, 6))
        const html = await page.content()
        for (const token of r.provider.issued) expect(html).not.toContain(token.value)
        await r.browser.screenshot(`${suite.shots}/3-after-refresh`)
      }, 240_000)
    })

    describe("control: the same app with the bare adapter (TOKEN_SYNC=off)", () => {
      let run: ExampleRun | undefined
      beforeAll(async () => {
        run = await start(false)
      }, 180_000)
      afterAll(async () => {
        await run?.stop()
      }, 60_000)
      test("the database keeps the first sign-in's tokens (stale) and /api/userinfo gets the provider's 401", async () => {
        const r = run!
        const { page } = r.browser
        await signInTwice(r, suite.paths, `${suite.shots}-control`)
        expect(r.provider.stats.authorizationCodeGrants).toBe(2)

        const stored = await r.stored()
        expect(stored).toHaveLength(1)
        expect(stored[0]!.access_token).toBe(r.provider.issuedOf("access_token")[0]!.value)
        expect(stored[0]!.access_token).not.toBe(r.provider.lastIssued("access_token")!.value)
        expect(stored[0]!.refresh_token).not.toBe(r.provider.lastIssued("refresh_token")!.value)

        await waitUntilExpired(Number(stored[0]!.expires_at))
        const response = await page.goto(`${r.server.origin}/api/userinfo`)
        expect(response?.status()).toBe(401)
        expect(r.provider.stats.refreshGrants).toBe(0)
        await page.goto(`${r.server.origin}/`)
        await page.waitForSelector("#user")
        expect(await page.textContent("td.last-userinfo")).toMatch(/^401 at /)
        await r.browser.screenshot(`${suite.shots}-control/3-stale-token-401`)
      }, 240_000)
    })
  })
}
