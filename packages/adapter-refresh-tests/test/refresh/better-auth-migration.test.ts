/**
 * Moving from Auth.js (next-auth + `withTokenSync`, tokens under `tokenEncryption`) to Better Auth +
 * `tokenSync`, on one real PostgreSQL database and the real rotating provider: the Auth.js sign-in stores a
 * real grant in `accounts`; `copyAuthjsAccounts` copies it into Better Auth's `account` (re-encrypted with
 * Better Auth's `encryptOAuthTokens`); Better Auth + the plugin then refreshes that same grant, with no new
 * authorization (no consent). The Auth.js app is not used after the copy (the cutover of the README).
 */
import { randomBytes } from "node:crypto"
import { tokenEncryption, type TokenEncryptionCodec } from "authjs-adapter-refresh"
import { copyAuthjsAccounts } from "authjs-adapter-refresh/better-auth"
import { symmetricDecrypt } from "better-auth/crypto"
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { Browser } from "../../src/harness/browser.js"
import { startBetterAuthApp, type BetterAuthApp } from "../../src/refresh-bench/better-auth-app.js"
import { LEASE_TABLE_SQL } from "../../src/refresh-bench/lease-mode.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { rejection, useRefreshScenario } from "./scenario-hooks.js"

interface BetterAuthRow {
  id: string
  userId: string
  accessToken: string
  refreshToken: string
  accessTokenExpiresAt: Date
}

describe("Auth.js (withTokenSync, tokenEncryption) to Better Auth + tokenSync: copyAuthjsAccounts on PostgreSQL", () => {
  let s: RefreshScenario
  let app: BetterAuthApp
  const secret = randomBytes(32).toString("base64url")
  const codec: TokenEncryptionCodec = tokenEncryption({ keys: [{ id: "k1", key: randomBytes(32) }] })

  useRefreshScenario(
    "refresh_better_auth_migration",
    {
      cell: "pg",
      login: "mig-alice",
      skewSeconds: 0,
      provider: { accessTokenTtl: 60 },
      codec,
      setupSql: LEASE_TABLE_SQL,
    },
    (started) => {
      ;({ s } = started)
    },
  )
  beforeAll(async () => {
    app = await startBetterAuthApp({
      pool: s.fixture.pool,
      provider: s.provider,
      addRedirectUri: (uri) => s.op.addRedirectUri(uri),
      secret,
      encryptOAuthTokens: true,
      tokenSync: { skewSeconds: 0 },
    })
  }, 60_000)
  afterAll(async () => {
    await app?.stop()
  })

  const betterAuthRow = async (login = s.key.providerAccountId): Promise<BetterAuthRow | undefined> => {
    const { rows } = await s.fixture.pool.query<BetterAuthRow>(
      `SELECT "id", "userId", "accessToken", "refreshToken", "accessTokenExpiresAt" FROM "account"
        WHERE "providerId" = $1 AND "accountId" = $2`,
      [s.key.provider, login],
    )
    return rows[0]
  }

  test("the copied grant is refreshed by Better Auth + the plugin, with no new authorization", async () => {
    const authjs = await s.row()
    const authjsRefreshToken = codec.decode(String(authjs.refresh_token), "refresh_token", s.key)
    const authjsAccessToken = codec.decode(String(authjs.access_token), "access_token", s.key)
    const grantId = s.op.issued.find((token) => token.value === authjsRefreshToken)?.grantId
    expect(grantId).toBeDefined()
    expect(await betterAuthRow()).toBeUndefined()

    const first = await copyAuthjsAccounts({ from: s.fixture.pool, to: app.auth, codec })
    expect(first).toEqual({ copied: 1, alreadyThere: 0, usersCreated: 1, skipped: [] })
    const copied = (await betterAuthRow())!
    // Re-encrypted as Better Auth stores it, never in plaintext, expiry as a timestamp.
    for (const value of [authjsRefreshToken, authjsAccessToken]) {
      expect(copied.refreshToken).not.toContain(value)
      expect(copied.accessToken).not.toContain(value)
    }
    expect(await symmetricDecrypt({ key: secret, data: copied.refreshToken })).toBe(authjsRefreshToken)
    expect(await symmetricDecrypt({ key: secret, data: copied.accessToken })).toBe(authjsAccessToken)
    expect(copied.accessTokenExpiresAt.getTime()).toBe(Number(authjs.expires_at) * 1000)
    // Run again (a copy that stopped half-way): nothing is written twice.
    expect(await copyAuthjsAccounts({ from: s.fixture.pool, to: app.auth, codec })).toEqual({
      copied: 0,
      alreadyThere: 1,
      usersCreated: 0,
      skipped: [],
    })

    await s.fixture.pool.query(
      `UPDATE "account" SET "accessTokenExpiresAt" = now() - interval '1 second' WHERE "id" = $1`,
      [copied.id],
    )
    const authorizations = s.op.stats.authorizationCodeGrants
    const grants = s.op.stats.refreshGrants
    const result = await app.auth.api.getAccessToken({ body: { accountId: copied.id, userId: copied.userId } })
    expect(s.op.stats.refreshErrors).toEqual([])
    expect(s.op.stats.refreshGrants).toBe(grants + 1)
    expect(s.op.stats.authorizationCodeGrants).toBe(authorizations)
    expect(s.op.stats.grantsRevoked).toBe(0)
    const issued = s.op.issued.find((token) => token.value === result.accessToken)
    expect(issued?.grantId).toBe(grantId)
    const after = (await betterAuthRow())!
    expect(await symmetricDecrypt({ key: secret, data: after.accessToken })).toBe(result.accessToken)
    expect(await symmetricDecrypt({ key: secret, data: after.refreshToken })).not.toBe(authjsRefreshToken)
  }, 45_000)

  test("why the deploy is a cutover: an Auth.js refresh after the copy leaves Better Auth a used refresh token", async () => {
    expect((await s.app.signIn(new Browser(), { login: "mig-bob" })).ok).toBe(true)
    expect(await copyAuthjsAccounts({ from: s.fixture.pool, to: app.auth, codec })).toMatchObject({ copied: 1 })
    const copied = (await betterAuthRow("mig-bob"))!
    // An Auth.js process still running refreshes from its own row: the grant rotates away from the copy.
    const { rows } = await s.fixture.pool.query<{ userId: unknown }>(
      `UPDATE accounts SET expires_at = extract(epoch from now())::bigint - 1 WHERE "providerAccountId" = $1
        RETURNING "userId"`,
      ["mig-bob"],
    )
    await s.adapter.getAccessToken({ userId: String(rows[0]!.userId), provider: s.key.provider })
    await s.fixture.pool.query(
      `UPDATE "account" SET "accessTokenExpiresAt" = now() - interval '1 second' WHERE "id" = $1`,
      [copied.id],
    )
    const revoked = s.op.stats.grantsRevoked
    const error = (await rejection(
      app.auth.api.getAccessToken({ body: { accountId: copied.id, userId: copied.userId } }),
    )) as { body?: { tokenSyncCode?: unknown } }
    expect(error.body?.tokenSyncCode).toBe("REFRESH_INVALID_GRANT")
    expect(s.op.stats.grantsRevoked).toBe(revoked + 1)
  }, 45_000)
})
