/**
 * The Better Auth plugin and Better Auth's own `account.encryptOAuthTokens`, on the real `better-auth`
 * package (built-in Kysely adapter, PostgreSQL) and the real rotating provider. Several Better Auth instances
 * share one database and one secret: plain Better Auth and Better Auth + `tokenSync`, with encryption on or
 * off. They take turns on the same rows, as during a deploy that switches the plugin on or off: every turn
 * must read what the previous one wrote, and the token columns stay encrypted when encryption is on.
 */
import { randomBytes } from "node:crypto"
import { TokenDecryptionError } from "authjs-adapter-refresh"
import { symmetricDecrypt } from "better-auth/crypto"
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { Browser } from "../../src/harness/browser.js"
import type { IssuedTokenKind } from "../../src/harness/oidc-provider.js"
import {
  startBetterAuthApp,
  type BetterAuthAccount,
  type BetterAuthApp,
} from "../../src/refresh-bench/better-auth-app.js"
import { LEASE_TABLE_SQL } from "../../src/refresh-bench/lease-mode.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { refreshRequests, rejection, useRefreshScenario } from "./scenario-hooks.js"

interface TokenRow {
  accessToken: string
  refreshToken: string
}

describe("Better Auth's encryptOAuthTokens: plain Better Auth and Better Auth + tokenSync take turns on the same rows", () => {
  let s: RefreshScenario
  const secret = randomBytes(32).toString("base64url")
  const apps: BetterAuthApp[] = []
  let plain: BetterAuthApp
  let synced: BetterAuthApp
  let plainOff: BetterAuthApp
  let syncedOff: BetterAuthApp

  useRefreshScenario(
    "refresh_better_auth_encryption",
    { cell: "pg", login: "authjs-user", skewSeconds: 0, provider: { accessTokenTtl: 60 }, setupSql: LEASE_TABLE_SQL },
    (started) => {
      ;({ s } = started)
    },
  )
  beforeAll(async () => {
    const start = async (options: { encryptOAuthTokens: boolean; tokenSync: boolean }) => {
      const app = await startBetterAuthApp({
        pool: s.fixture.pool,
        provider: s.provider,
        addRedirectUri: (uri) => s.op.addRedirectUri(uri),
        secret,
        encryptOAuthTokens: options.encryptOAuthTokens,
        ...(options.tokenSync ? { tokenSync: { skewSeconds: 0 } } : {}),
      })
      apps.push(app)
      return app
    }
    plain = await start({ encryptOAuthTokens: true, tokenSync: false })
    synced = await start({ encryptOAuthTokens: true, tokenSync: true })
    plainOff = await start({ encryptOAuthTokens: false, tokenSync: false })
    syncedOff = await start({ encryptOAuthTokens: false, tokenSync: true })
  }, 60_000)
  afterAll(async () => {
    for (const app of apps) await app.stop()
  })

  const row = async (account: BetterAuthAccount): Promise<TokenRow> => {
    const { rows } = await s.fixture.pool.query<TokenRow>(
      `SELECT "accessToken", "refreshToken" FROM "account" WHERE "id" = $1`,
      [account.accountId],
    )
    return rows[0]!
  }
  const expire = (account: BetterAuthAccount) =>
    s.fixture.pool.query(`UPDATE "account" SET "accessTokenExpiresAt" = now() - interval '1 second' WHERE "id" = $1`, [
      account.accountId,
    ])
  const isIssued = (kind: IssuedTokenKind, value: string) =>
    s.op.issued.some((token) => token.kind === kind && token.value === value)
  /** No token the provider ever issued appears in the row's token columns, whole or in part. */
  const holdsNoPlaintext = (stored: TokenRow) =>
    s.op.issued.every(
      (token) => !stored.accessToken.includes(token.value) && !stored.refreshToken.includes(token.value),
    )
  /** The row's tokens, decrypted with Better Auth's own function and secret. */
  const decrypted = async (stored: TokenRow): Promise<TokenRow> => ({
    accessToken: await symmetricDecrypt({ key: secret, data: stored.accessToken }),
    refreshToken: await symmetricDecrypt({ key: secret, data: stored.refreshToken }),
  })

  test("encryption on: Better Auth signs in, the plugin reads and refreshes, Better Auth refreshes after it", async () => {
    const alice = await plain.signIn(new Browser(), "enc-alice")
    const signedIn = await row(alice)
    expect(holdsNoPlaintext(signedIn)).toBe(true)
    const signedInTokens = await decrypted(signedIn)
    expect(isIssued("access_token", signedInTokens.accessToken)).toBe(true)
    expect(isIssued("refresh_token", signedInTokens.refreshToken)).toBe(true)

    // Fresh: the plugin serves Better Auth's ciphertext decrypted, without a request.
    const requests = refreshRequests(s)
    const fresh = await synced.auth.api.getAccessToken({ body: alice })
    expect(fresh.accessToken).toBe(signedInTokens.accessToken)
    expect(refreshRequests(s)).toBe(requests)

    // Due: the plugin refreshes with the decrypted refresh token and writes the rotated pair as Better Auth would.
    await expire(alice)
    const grants = s.op.stats.refreshGrants
    const refreshed = await synced.auth.api.getAccessToken({ body: alice })
    expect(s.op.stats.refreshGrants).toBe(grants + 1)
    expect(s.op.stats.refreshErrors).toEqual([])
    const afterPlugin = await row(alice)
    expect(holdsNoPlaintext(afterPlugin)).toBe(true)
    const afterPluginTokens = await decrypted(afterPlugin)
    expect(afterPluginTokens.accessToken).toBe(refreshed.accessToken)
    expect(afterPluginTokens.accessToken).not.toBe(signedInTokens.accessToken)
    expect(afterPluginTokens.refreshToken).not.toBe(signedInTokens.refreshToken)
    expect(isIssued("refresh_token", afterPluginTokens.refreshToken)).toBe(true)

    // Plain Better Auth again: it reads the plugin's values, and its own refresh uses the rotated token.
    expect((await plain.auth.api.getAccessToken({ body: alice })).accessToken).toBe(refreshed.accessToken)
    await expire(alice)
    const byBetterAuth = await plain.auth.api.getAccessToken({ body: alice })
    expect(s.op.stats.refreshGrants).toBe(grants + 2)
    expect(s.op.stats.refreshErrors).toEqual([])
    expect(isIssued("access_token", byBetterAuth.accessToken)).toBe(true)
    expect(byBetterAuth.accessToken).not.toBe(refreshed.accessToken)
    const afterBetterAuth = await row(alice)
    expect(holdsNoPlaintext(afterBetterAuth)).toBe(true)

    // And the plugin's forced refresh after Better Auth's: the refresh token it returns is the stored one.
    const forced = await synced.auth.api.refreshToken({ body: alice })
    expect(s.op.stats.refreshGrants).toBe(grants + 3)
    const afterForced = await row(alice)
    expect(holdsNoPlaintext(afterForced)).toBe(true)
    expect(forced.refreshToken).toBe((await decrypted(afterForced)).refreshToken)
    expect(forced.accessToken).toBe((await decrypted(afterForced)).accessToken)
  }, 45_000)

  test("encryption off: the plugin reads and refreshes a row plain Better Auth wrote in plaintext", async () => {
    const bob = await plainOff.signIn(new Browser(), "enc-bob")
    const signedIn = await row(bob)
    expect(isIssued("access_token", signedIn.accessToken)).toBe(true)
    expect(isIssued("refresh_token", signedIn.refreshToken)).toBe(true)
    expect((await syncedOff.auth.api.getAccessToken({ body: bob })).accessToken).toBe(signedIn.accessToken)

    await expire(bob)
    const grants = s.op.stats.refreshGrants
    const refreshed = await syncedOff.auth.api.getAccessToken({ body: bob })
    expect(s.op.stats.refreshGrants).toBe(grants + 1)
    const after = await row(bob)
    expect(after.accessToken).toBe(refreshed.accessToken)
    expect(isIssued("refresh_token", after.refreshToken)).toBe(true)
    expect(after.refreshToken).not.toBe(signedIn.refreshToken)
    expect((await plainOff.auth.api.getAccessToken({ body: bob })).accessToken).toBe(refreshed.accessToken)
  }, 45_000)

  test("encryption turned on later: the plugin reads a plaintext row, and its refresh stores the new pair encrypted", async () => {
    const carol = await plainOff.signIn(new Browser(), "enc-carol")
    const signedIn = await row(carol)
    expect(isIssued("refresh_token", signedIn.refreshToken)).toBe(true)
    expect((await synced.auth.api.getAccessToken({ body: carol })).accessToken).toBe(signedIn.accessToken)

    await expire(carol)
    const grants = s.op.stats.refreshGrants
    const refreshed = await synced.auth.api.getAccessToken({ body: carol })
    expect(s.op.stats.refreshGrants).toBe(grants + 1)
    const after = await row(carol)
    expect(holdsNoPlaintext(after)).toBe(true)
    expect((await decrypted(after)).accessToken).toBe(refreshed.accessToken)
    expect((await plain.auth.api.getAccessToken({ body: carol })).accessToken).toBe(refreshed.accessToken)
  }, 45_000)

  test("an encrypted value that does not decrypt: Better Auth's 400 with TOKEN_DECRYPTION_FAILED, no token in it", async () => {
    const dave = await plain.signIn(new Browser(), "enc-dave")
    const signedIn = await row(dave)
    const plaintext = await decrypted(signedIn)
    // The stored refresh token altered (its last byte): the cipher's authentication rejects it.
    const altered = signedIn.refreshToken.slice(0, -2) + (signedIn.refreshToken.endsWith("00") ? "11" : "00")
    await s.fixture.pool.query(`UPDATE "account" SET "refreshToken" = $1 WHERE "id" = $2`, [altered, dave.accountId])
    await expire(dave)
    const before = refreshRequests(s)
    const error = (await rejection(synced.auth.api.getAccessToken({ body: dave }))) as {
      body?: { code?: unknown; tokenSyncCode?: unknown }
      cause?: unknown
    }
    expect(error.body?.code).toBe("FAILED_TO_GET_ACCESS_TOKEN")
    expect(error.body?.tokenSyncCode).toBe("TOKEN_DECRYPTION_FAILED")
    expect(error.cause).toBeInstanceOf(TokenDecryptionError)
    expect((error.cause as TokenDecryptionError).field).toBe("refresh_token")
    const said = `${JSON.stringify(error.body)} ${(error.cause as Error).message}`
    for (const secretValue of [altered, signedIn.accessToken, plaintext.accessToken, plaintext.refreshToken])
      expect(said).not.toContain(secretValue)
    expect(refreshRequests(s)).toBe(before)
    expect((await row(dave)).refreshToken).toBe(altered)
  }, 45_000)
})
