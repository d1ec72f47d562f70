/**
 * The token lifecycle's store parts on a store without transactions (Redis, DynamoDB): what the SQL stores get
 * from their own suites (refresh-token-expiry, reauth-list, background, reencrypt), run on the real server
 * through the store's fixture, with the real rotating oidc-provider behind the Keycloak-answering proxy:
 * - the refresh token's expiry stored as an absolute time and obeyed (no request for a dead refresh token);
 * - a grant the provider revoked marked on refresh and listed by `accountsNeedingReauth`, a new sign-in clears it;
 * - `refreshExpiring` finds the due accounts through `scanAccounts` and refreshes each once;
 * - `reencryptAccounts` walks every account through `scanAccounts` to the current key.
 * Accounts are seeded with real offline grants (`issueOfflineGrant`): the provider refreshes and rotates them as
 * a sign-in's. Each test has its own provider id, so each sees only its own accounts.
 */
import { randomUUID } from "node:crypto"
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import type { Adapter } from "@auth/core/adapters"
import {
  RefreshTokenError,
  reencryptAccounts,
  tokenEncryption,
  withTokenSync,
  type AccountKey,
  type AccountStore,
  type TokenSyncAdapter,
  type TokenSyncOptions,
} from "authjs-adapter-refresh"
import { randomKeyString } from "../../src/encryption/at-rest.js"
import { startKeycloakProxy, type KeycloakProxy } from "../../src/harness/keycloak-proxy.js"
import { startOidcProvider, type OfflineGrant, type TestOidcProvider } from "../../src/harness/oidc-provider.js"
import type { ConformanceFixture } from "../../src/kit/fixture.js"

const MARK = "refresh_error"
const EXPIRY = "refresh_token_expires_at"
const IDLE_SECONDS = 1800

const nowSeconds = (): number => Math.floor(Date.now() / 1000)

export interface LifecycleSuiteOptions {
  /** "Redis", "DynamoDB (dynalite)". */
  label: string
  /** A fresh isolated database (key prefix, table) on the real server. */
  database: () => Promise<{ url: string; drop(): Promise<void> }>
  createFixture: (url: string) => Promise<ConformanceFixture>
}

export function defineLifecycleSuite(options: LifecycleSuiteOptions): void {
  describe(`the token lifecycle on ${options.label} (lease mode, real oidc-provider)`, () => {
    let op: TestOidcProvider
    let kc: KeycloakProxy
    let database: { url: string; drop(): Promise<void> }
    let fixture: ConformanceFixture

    beforeAll(async () => {
      op = await startOidcProvider({ quiet: true })
      // Refreshed tokens live an hour: outside refreshExpiring's window, so a second run finds nothing due.
      op.setAccessTokenTtl(3600)
      kc = await startKeycloakProxy(op.endpoints.token, { ssoSessionIdleSeconds: IDLE_SECONDS })
      // An online session: Keycloak then bounds the refresh token by SSO Session Idle (offline ones never expire).
      kc.onlineSession = true
      database = await options.database()
      fixture = await options.createFixture(database.url)
    }, 60_000)
    afterAll(async () => {
      await fixture?.close?.()
      await database?.drop()
      await kc?.stop()
      await op?.stop()
    })

    /** A withTokenSync over the fixture's store, lease mode, refreshing `providerId` through the proxy. */
    const tokenSync = (
      providerId: string,
      refresh: { expiryColumn?: boolean } = {},
      syncOptions: Omit<TokenSyncOptions, "refresh"> = {},
    ): TokenSyncAdapter<Adapter> =>
      withTokenSync(fixture.adapter, fixture.db as object, {
        ...syncOptions,
        refresh: {
          coordination: "lease",
          providers: [
            {
              id: providerId,
              type: "oidc",
              issuer: op.issuer,
              clientId: op.clientId,
              clientSecret: op.clientSecret,
              token: kc.url,
            },
          ],
          skewSeconds: 0,
          minRefreshIntervalSeconds: 0,
          reauthColumn: MARK,
          ...(refresh.expiryColumn === false ? {} : { refreshTokenExpiryColumn: EXPIRY }),
        },
      })

    /** A user and a real offline grant, linked through `adapter` (the sign-in path) with `expiresAt`. */
    async function seed(adapter: TokenSyncAdapter<Adapter>, providerId: string, expiresAt: number) {
      const id = randomUUID()
      const user = await fixture.adapter.createUser!({ id, email: `${id}@example.test`, emailVerified: null })
      const login = `life-${id.slice(0, 8)}`
      const grant: OfflineGrant = await op.issueOfflineGrant(login)
      const key: AccountKey = { provider: providerId, providerAccountId: login }
      await adapter.linkAccount({
        ...key,
        userId: user.id,
        type: "oidc",
        access_token: grant.accessToken,
        refresh_token: grant.refreshToken,
        expires_at: expiresAt,
        token_type: "bearer",
        scope: grant.scope,
      })
      return { userId: String(user.id), key, grant }
    }
    const stored = async (key: AccountKey): Promise<Record<string, unknown>> => (await fixture.accountRows(key))[0]!
    const works = async (accessToken: string): Promise<number> => (await op.userinfo(accessToken)).status

    test("the refresh token's expiry: stored from Keycloak's answer as an absolute time, then obeyed with no request", async () => {
      const providerId = `kc-expiry-${randomUUID().slice(0, 6)}`
      const adapter = tokenSync(providerId)
      const { userId, key } = await seed(adapter, providerId, nowSeconds() - 10)
      const before = nowSeconds()
      const { accessToken, refreshed } = await adapter.getAccessToken({ userId, provider: providerId })
      expect(refreshed).toBe(true)
      expect(await works(accessToken)).toBe(200)
      const at = Number((await stored(key))[EXPIRY])
      expect(at).toBeGreaterThanOrEqual(before + IDLE_SECONDS - 1)
      expect(at).toBeLessThanOrEqual(nowSeconds() + IDLE_SECONDS)

      // Control: the same refresh without the option stores no expiry.
      const plain = tokenSync(providerId, { expiryColumn: false })
      const other = await seed(plain, providerId, nowSeconds() - 10)
      expect((await plain.getAccessToken({ userId: other.userId, provider: providerId })).refreshed).toBe(true)
      expect((await stored(other.key))[EXPIRY] ?? null).toBeNull()

      // A refresh token known dead: typed "expired", and no request reaches the provider.
      await (fixture.db as AccountStore).withAccountLock(
        key,
        (account) =>
          account.update({ tokens: { [EXPIRY]: nowSeconds() - 5, expires_at: nowSeconds() - 5 } }, { userId }),
        {},
      )
      const requests = kc.requests
      const error = await adapter.getAccessToken({ userId, provider: providerId }).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(RefreshTokenError)
      expect((error as RefreshTokenError).reason).toBe("expired")
      expect(kc.requests).toBe(requests)
    }, 60_000)

    test("a grant the provider revoked: marked on refresh, listed for its user, cleared by a new sign-in", async () => {
      const providerId = `kc-reauth-${randomUUID().slice(0, 6)}`
      const adapter = tokenSync(providerId)
      const alive = await seed(adapter, providerId, nowSeconds() - 10)
      const dead = await seed(adapter, providerId, nowSeconds() - 10)
      await op.revokeGrant(dead.grant.grantId)
      const error = await adapter.getAccessToken({ userId: dead.userId, provider: providerId }).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(RefreshTokenError)
      expect((error as RefreshTokenError).reason).toBe("invalid_grant")
      // Control: the live grant refreshes and is not listed.
      expect((await adapter.getAccessToken({ userId: alive.userId, provider: providerId })).refreshed).toBe(true)
      const page = await adapter.accountsNeedingReauth({ provider: providerId })
      expect(page).toEqual({ accounts: [{ userId: dead.userId, ...dead.key, reason: "invalid_grant" }], next: null })
      expect(JSON.stringify(page)).not.toContain(dead.grant.refreshToken)

      // The user signs in again: a new grant's tokens through the sign-in path clear the mark.
      const again = await op.issueOfflineGrant(dead.key.providerAccountId)
      await adapter.syncAccount({
        ...dead.key,
        userId: dead.userId,
        access_token: again.accessToken,
        refresh_token: again.refreshToken,
        expires_at: again.expiresAt,
      })
      expect((await adapter.accountsNeedingReauth({ provider: providerId })).accounts).toEqual([])
      expect(
        await works((await adapter.getAccessToken({ userId: dead.userId, provider: providerId })).accessToken),
      ).toBe(200)
    }, 60_000)

    test("refreshExpiring pages through every account (scanAccounts) and refreshes each due one once", async () => {
      const providerId = `kc-bg-${randomUUID().slice(0, 6)}`
      const adapter = tokenSync(providerId)
      const due = await Promise.all([1, 2, 3, 4, 5].map(() => seed(adapter, providerId, nowSeconds() + 60)))
      const fresh = await Promise.all([1, 2].map(() => seed(adapter, providerId, nowSeconds() + 3600)))
      const grantsBefore = op.stats.refreshGrants
      // Pages of 2 keys: the walk must follow the keyset bound across pages, past every other test's accounts.
      const progress = await adapter.refreshExpiring({ withinSeconds: 300, batchSize: 2 })
      expect(progress.refreshed).toBe(5)
      expect(op.stats.refreshGrants - grantsBefore).toBe(5)
      for (const account of due) {
        const row = await stored(account.key)
        expect(row.access_token).not.toBe(account.grant.accessToken)
        expect(await works(String(row.access_token))).toBe(200)
      }
      // Control: the fresh ones were left alone.
      for (const account of fresh) expect((await stored(account.key)).access_token).toBe(account.grant.accessToken)
      // A second run finds nothing due.
      expect((await adapter.refreshExpiring({ withinSeconds: 300, batchSize: 2 })).refreshed).toBe(0)
    }, 60_000)

    test("reencryptAccounts walks every account (scanAccounts) to the current key; the tokens still work", async () => {
      const providerId = `kc-reenc-${randomUUID().slice(0, 6)}`
      const oldKeys = randomKeyString("2026-06")
      const codec = tokenEncryption({ keys: `${randomKeyString("2026-12")},${oldKeys}` })
      const old = tokenSync(providerId, {}, { codec: tokenEncryption({ keys: oldKeys }) })
      const accounts = await Promise.all([1, 2, 3].map(() => seed(old, providerId, nowSeconds() + 3600)))
      const value = async (key: AccountKey) => String((await stored(key)).refresh_token)
      // Control: encrypted, with the old key.
      for (const { key, grant } of accounts) {
        expect(await value(key)).not.toContain(grant.refreshToken)
        expect(codec.isCurrent(await value(key))).toBe(false)
      }
      const result = await reencryptAccounts(fixture.db as object, { codec, batchSize: 2 })
      expect(result.done).toBe(true)
      expect(result.failed).toBe(0)
      // Other tests' accounts are plaintext or absent from this provider: these three at least were rewritten.
      expect(result.rewritten).toBeGreaterThanOrEqual(3)
      const current = tokenSync(providerId, {}, { codec })
      for (const { key, grant, userId } of accounts) {
        expect(codec.isCurrent(await value(key))).toBe(true)
        expect(codec.keyIdOf(await value(key))).toBe("2026-12")
        const token = await current.getAccessToken({ userId, provider: providerId })
        expect(token.accessToken).toBe(grant.accessToken)
        expect(await works(token.accessToken)).toBe(200)
      }
    }, 60_000)
  })
}
