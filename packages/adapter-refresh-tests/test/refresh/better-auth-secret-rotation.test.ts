/**
 * The Better Auth plugin under Better Auth's versioned `secrets` (secret rotation) with `encryptOAuthTokens`,
 * on the real `better-auth` package, PostgreSQL and the real rotating provider. Before the rotation Better Auth
 * runs with secret version 1; after it, with version 2 current and version 1 kept for reading. The plugin on
 * the rotated instance reads a row written under version 1, and its refresh writes the new pair under version 2
 * (Better Auth's `$ba$<version>$` envelope), which plain Better Auth on the same secrets then reads.
 */
import { randomBytes } from "node:crypto"
import { beforeAll, describe, expect, test } from "@jest/globals"
import { Browser } from "../../src/harness/browser.js"
import type { BetterAuthApp } from "../../src/refresh-bench/better-auth-app.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { useBetterAuthScenario } from "./better-auth-hooks.js"
import { rejection } from "./scenario-hooks.js"

describe("Better Auth secret rotation (versioned secrets, encryptOAuthTokens) with tokenSync", () => {
  const bed = useBetterAuthScenario("refresh_better_auth_secrets")
  let s: RefreshScenario
  let before: BetterAuthApp
  let after: BetterAuthApp
  let plainAfter: BetterAuthApp
  const v1 = { version: 1, value: randomBytes(32).toString("base64url") }
  const v2 = { version: 2, value: randomBytes(32).toString("base64url") }

  beforeAll(async () => {
    s = bed.s
    const start = (secrets: { version: number; value: string }[], plugin = true) =>
      bed.start({ secrets, encryptOAuthTokens: true, ...(plugin ? { tokenSync: { skewSeconds: 0 } } : {}) })
    before = await start([v1])
    after = await start([v2, v1])
    plainAfter = await start([v2, v1], false)
  }, 60_000)

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
