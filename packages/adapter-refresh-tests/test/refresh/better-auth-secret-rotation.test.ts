/**
 * The Better Auth plugin under Better Auth's versioned `secrets` (secret rotation) with `encryptOAuthTokens`,
 * on the real `better-auth` package, PostgreSQL and the real rotating provider. Before the rotation Better Auth
 * runs with secret version 1; after it, with version 2 current and version 1 kept for reading. The plugin on
 * the rotated instance reads a row written under version 1, and its refresh writes the new pair under version 2
 * (Better Auth's `$ba$<version>$` envelope), which plain Better Auth on the same secrets then reads.
 */
import { randomBytes } from "node:crypto"
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { Browser } from "../../src/harness/browser.js"
import { startBetterAuthApp, type BetterAuthApp } from "../../src/refresh-bench/better-auth-app.js"
import { LEASE_TABLE_SQL } from "../../src/refresh-bench/lease-mode.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { rejection, useRefreshScenario } from "./scenario-hooks.js"

describe("Better Auth secret rotation (versioned secrets, encryptOAuthTokens) with tokenSync", () => {
  let s: RefreshScenario
  const apps: BetterAuthApp[] = []
  let before: BetterAuthApp
  let after: BetterAuthApp
  let plainAfter: BetterAuthApp
  const v1 = { version: 1, value: randomBytes(32).toString("base64url") }
  const v2 = { version: 2, value: randomBytes(32).toString("base64url") }

  useRefreshScenario(
    "refresh_better_auth_secrets",
    { cell: "pg", login: "authjs-user", skewSeconds: 0, provider: { accessTokenTtl: 60 }, setupSql: LEASE_TABLE_SQL },
    (started) => {
      ;({ s } = started)
    },
  )
  beforeAll(async () => {
    const start = async (secrets: { version: number; value: string }[], plugin = true) => {
      const app = await startBetterAuthApp({
        pool: s.fixture.pool,
        provider: s.provider,
        addRedirectUri: (uri) => s.op.addRedirectUri(uri),
        secret: randomBytes(32).toString("base64url"),
        secrets,
        encryptOAuthTokens: true,
        ...(plugin ? { tokenSync: { skewSeconds: 0 } } : {}),
      })
      apps.push(app)
      return app
    }
    before = await start([v1])
    after = await start([v2, v1])
    plainAfter = await start([v2, v1], false)
  }, 60_000)
  afterAll(async () => {
    for (const app of apps) await app.stop()
  })

  const stored = async (accountId: string) =>
    (
      await s.fixture.pool.query<{ accessToken: string; refreshToken: string }>(
        `SELECT "accessToken", "refreshToken" FROM "account" WHERE "id" = $1`,
        [accountId],
      )
    ).rows[0]!

  test("a row under version 1 is read after the rotation; the plugin's refresh stores the pair under version 2", async () => {
    const account = await before.signIn(new Browser(), "ba-rotation-user")
    const old = await stored(account.accountId)
    expect(old.refreshToken.startsWith("$ba$1$")).toBe(true)
    // Fresh: the rotated instance decrypts the version-1 value.
    const fresh = await after.auth.api.getAccessToken({ body: account })
    expect((await s.op.userinfo(fresh.accessToken)).status).toBe(200)

    await s.fixture.pool.query(
      `UPDATE "account" SET "accessTokenExpiresAt" = now() - interval '1 second' WHERE "id" = $1`,
      [account.accountId],
    )
    const grants = s.op.stats.refreshGrants
    const refreshed = await after.auth.api.getAccessToken({ body: account })
    expect(s.op.stats.refreshGrants).toBe(grants + 1)
    expect(s.op.stats.refreshErrors).toEqual([])
    const now = await stored(account.accountId)
    expect(now.refreshToken.startsWith("$ba$2$")).toBe(true)
    expect(now.accessToken.startsWith("$ba$2$")).toBe(true)
    expect(now.refreshToken).not.toContain(refreshed.accessToken)
    expect((await s.op.userinfo(refreshed.accessToken)).status).toBe(200)

    // Control: the instance from before the rotation has no version 2, so it cannot read the new pair.
    const error = (await rejection(before.auth.api.getAccessToken({ body: account }))) as {
      body?: { tokenSyncCode?: unknown }
    }
    expect(error.body?.tokenSyncCode).toBe("TOKEN_DECRYPTION_FAILED")
    // Plain Better Auth on the rotated secrets reads what the plugin wrote.
    expect((await plainAfter.auth.api.getAccessToken({ body: account })).accessToken).toBe(refreshed.accessToken)
  }, 60_000)
})
