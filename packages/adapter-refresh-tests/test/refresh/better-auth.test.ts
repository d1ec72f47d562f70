/**
 * The Better Auth 1.7 contender of `pnpm bench --only=better-auth` (src/refresh-bench/better-auth-app.ts) is
 * real: its own sign-in stores a rotating grant, its server-side getAccessToken serves a fresh token from the
 * row and refreshes an expiring one at the provider. Then the bench's storm, run on it, shows what the bench
 * reports: no coordination across callers, so the consumed refresh token is reused and the grant revoked.
 * If a later Better Auth coordinates refreshes, the last test fails and docs/BENCHMARKS.md must change.
 */
import { randomBytes } from "node:crypto"
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { Browser } from "../../src/harness/browser.js"
import type { TestDatabase } from "../../src/harness/postgres.js"
import {
  startBetterAuthApp,
  type BetterAuthAccount,
  type BetterAuthApp,
} from "../../src/refresh-bench/better-auth-app.js"
import { runStorm } from "../../src/refresh-bench/run-storm.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { refreshRequests, useRefreshScenario } from "./scenario-hooks.js"

interface BetterAuthRow {
  accessToken: string
  refreshToken: string
  accessTokenExpiresAt: Date
}

describe("Better Auth 1.7 on the rotating provider (the bench's third contender)", () => {
  let db: TestDatabase
  let s: RefreshScenario
  let app: BetterAuthApp
  let account: BetterAuthAccount
  const login = "better-auth-user"

  // The provider's access tokens live 8 s, more than Better Auth's 5 s refresh skew.
  useRefreshScenario(
    "refresh_better_auth",
    { cell: "pg", login: "authjs-user", skewSeconds: 0, provider: { accessTokenTtl: 8 } },
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
    })
    account = await app.signIn(new Browser(), login)
  }, 60_000)
  afterAll(async () => {
    await app?.stop()
  })

  const row = async (): Promise<BetterAuthRow> => {
    const { rows } = await s.fixture.pool.query<BetterAuthRow>(
      `SELECT "accessToken", "refreshToken", "accessTokenExpiresAt" FROM "account" WHERE "id" = $1`,
      [account.accountId],
    )
    return rows[0]!
  }
  test("its sign-in stored the provider's tokens, a refresh token among them; a fresh token comes from the row", async () => {
    const stored = await row()
    expect(s.op.issued.some((t) => t.kind === "refresh_token" && t.value === stored.refreshToken)).toBe(true)
    const before = refreshRequests(s)
    const result = await app.auth.api.getAccessToken({ body: account })
    expect(result.accessToken).toBe(stored.accessToken)
    expect(refreshRequests(s)).toBe(before)
  })

  test("an expiring token is refreshed at the provider and the rotated refresh token stored", async () => {
    const stored = await row()
    // Due for Better Auth once less than 5 s are left.
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, stored.accessTokenExpiresAt.getTime() - 5000 - Date.now() + 100)),
    )
    const grants = s.op.stats.refreshGrants
    const result = await app.auth.api.getAccessToken({ body: account })
    expect(s.op.stats.refreshGrants).toBe(grants + 1)
    const after = await row()
    expect(result.accessToken).toBe(after.accessToken)
    expect(after.accessToken).not.toBe(stored.accessToken)
    expect(after.refreshToken).not.toBe(stored.refreshToken)
  }, 30_000)
  test("the bench's storm (4 processes x 25 callers, expired token): refresh-token reuse, invalid_grant, grant revoked", async () => {
    const stored = await row()
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, stored.accessTokenExpiresAt.getTime() - 5000 - Date.now() + 100)),
    )
    const before = {
      grants: s.op.stats.refreshGrants,
      errors: s.op.stats.refreshErrors.length,
      revoked: s.op.stats.grantsRevoked,
    }
    const storm = await runStorm(
      {
        cell: "pg",
        databaseUrl: db.url,
        provider: s.provider,
        userId: account.userId,
        providerAccountId: login,
        mode: "better-auth",
        skewSeconds: 0,
        betterAuth: { ...app.settings, ...account },
      },
      { processes: 4, callersPerProcess: 25 },
    )
    const errors = s.op.stats.refreshErrors.slice(before.errors)
    expect(s.op.stats.refreshGrants - before.grants + errors.length).toBeGreaterThan(1)
    expect(errors.map((e) => e.error)).toContain("invalid_grant")
    expect(s.op.stats.grantsRevoked).toBeGreaterThan(before.revoked)
    expect(storm.outcomes.filter((o) => !o.ok).map((o) => o.error)).toContain("APIError FAILED_TO_GET_ACCESS_TOKEN")
    // The grant is gone: the refresh token Better Auth stored last no longer works.
    expect((await s.op.refresh((await row()).refreshToken)).body.error).toBe("invalid_grant")
  }, 120_000)
})
