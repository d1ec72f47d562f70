/**
 * `accountsNeedingReauth`: the accounts whose user must sign in again, listed for a job that emails them. The
 * dead grants are refused for real: real Auth.js sign-ins, the pg cell's documented schema on real PostgreSQL
 * with a `refresh_error` mark column, the real rotating oidc-provider (its token endpoint reached through the
 * Keycloak-answering proxy of keycloak-cell.ts, which forwards every request and refuses none here). Every
 * page is checked, serialized, for every token the provider issued.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import {
  ReauthListUnavailableError,
  RefreshTokenError,
  type AccountsNeedingReauthPage,
  type RefreshOptions,
  type TokenSyncAdapter,
} from "authjs-adapter-refresh"
import type { OfflineGrant, TestOidcProvider } from "../../src/harness/oidc-provider.js"
import type { DatabaseFixture } from "../../src/fixtures/databases.js"
import { startKeycloakCell, type KeycloakCell } from "./keycloak-cell.js"
import { rejection } from "./scenario-hooks.js"

const PROVIDER_ID = "keycloak"
const LOGIN = "list-user"

describe("accountsNeedingReauth (pg, real Auth.js, real oidc-provider)", () => {
  let cell: KeycloakCell
  let op: TestOidcProvider
  let fixture: DatabaseFixture<unknown>
  let userId: string
  /** Every id_token the sign-ins stored (the provider's records hold access and refresh tokens only). */
  const idTokens = new Set<string>()
  /** Every page listed in this suite, for the final no-token check. */
  const listed: AccountsNeedingReauthPage[] = []

  beforeAll(async () => {
    cell = await startKeycloakCell({ database: "reauth_list", providerId: PROVIDER_ID, login: LOGIN })
    ;({ op, fixture, userId } = cell)
    idTokens.add(String((await cell.row()).id_token))
  }, 60_000)
  afterAll(async () => {
    await cell?.stop()
  })

  const tokenSync = (refresh?: Partial<RefreshOptions>) => cell.tokenSync(refresh)
  const list = async (
    adapter: TokenSyncAdapter,
    params?: Parameters<TokenSyncAdapter["accountsNeedingReauth"]>[0],
  ): Promise<AccountsNeedingReauthPage> => {
    const page = await adapter.accountsNeedingReauth(params)
    listed.push(page)
    return page
  }
  /** Ends a grant at the real provider (the user removed the app's access). */
  const revokeGrantOf = async (refreshToken: unknown): Promise<void> => {
    const grantId = op.issuedOf("refresh_token").find((t) => t.value === refreshToken)?.grantId
    expect(grantId).toBeDefined()
    await op.revokeGrant(grantId!)
  }

  test(
    "a grant the provider refuses for real is marked and listed; a sign-in with a new refresh token clears " +
      "it; controls: nothing listed before the refusal, and without reauthColumn a typed error, not a list",
    async () => {
      const adapter = tokenSync()
      // Control: a working account is not listed.
      expect(await list(adapter)).toEqual({ accounts: [], next: null })
      // Without the column there is no stored mark to list: the error says what is needed.
      const without = await rejection(tokenSync({ reauthColumn: undefined }).accountsNeedingReauth())
      expect(without).toBeInstanceOf(ReauthListUnavailableError)
      expect(without).toMatchObject({ missing: "refresh.reauthColumn" })

      await cell.waitForExpiry()
      await revokeGrantOf((await cell.row()).refresh_token)
      const refusals = op.stats.refreshErrors.length
      const refused = await rejection(adapter.getAccessToken({ userId, provider: PROVIDER_ID }))
      expect((refused as RefreshTokenError).reason).toBe("invalid_grant")
      expect(op.stats.refreshErrors.length - refusals).toBe(1) // the provider itself refused it

      const account = { userId, provider: PROVIDER_ID, providerAccountId: LOGIN, reason: "invalid_grant" }
      expect(await list(adapter)).toEqual({ accounts: [account], next: null })
      // Another process (no shared memory) lists it too: the mark is in the row.
      expect((await list(tokenSync(), { provider: PROVIDER_ID })).accounts).toEqual([account])
      // Another provider's filter: not listed.
      expect((await list(adapter, { provider: "github" })).accounts).toEqual([])

      await cell.signInAgain()
      idTokens.add(String((await cell.row()).id_token))
      expect(await list(adapter)).toEqual({ accounts: [], next: null })
      await cell.waitForExpiry()
      expect((await adapter.getAccessToken({ userId, provider: PROVIDER_ID })).refreshed).toBe(true)
    },
    60_000,
  )

  test(
    "more dead grants than the limit, each refused for real by refreshExpiring: listed across pages, each " +
      "once, in key order; control: a seeded grant left alive is refreshed and never listed",
    async () => {
      const adapter = tokenSync()
      const DEAD = 7
      const seeded: { login: string; userId: string; grant: OfflineGrant }[] = []
      for (let i = 0; i <= DEAD; i++) {
        const login = `list-${i}`
        const grant = await op.issueOfflineGrant(login)
        const id = await fixture.insertUser(`${login}@example.test`)
        // Linked with the provider's real tokens, the access token already expired: refreshExpiring takes it.
        await adapter.linkAccount({
          provider: PROVIDER_ID,
          providerAccountId: login,
          userId: id,
          type: "oidc",
          access_token: grant.accessToken,
          refresh_token: grant.refreshToken,
          expires_at: Math.floor(Date.now() / 1000) - 60,
          scope: grant.scope,
          token_type: "bearer",
        })
        seeded.push({ login, userId: id, grant })
      }
      // One in the middle stays alive (the control: a listing that counted it toward a page would end early);
      // the others end at the provider.
      const ALIVE = 3
      const dead = seeded.filter((_, i) => i !== ALIVE)
      for (const { grant } of dead) await op.revokeGrant(grant.grantId)
      const refusals = op.stats.refreshErrors.length
      // A pass skips an account whose lock it did not get within tryLockMs (busy, on a loaded machine): a job
      // runs again, and so does this, at most 3 passes; a marked account is not taken again.
      let deadGrants = 0
      for (let pass = 0; pass < 3; pass++) {
        const progress = await adapter.refreshExpiring({ withinSeconds: 300, tryLockMs: 2_000 })
        deadGrants += progress.deadGrants
        expect(progress.failed).toBe(0)
        if (progress.busy === 0) break
      }
      expect(deadGrants).toBe(DEAD)
      expect(op.stats.refreshErrors.length - refusals).toBe(DEAD)

      const pages: AccountsNeedingReauthPage[] = []
      let after: AccountsNeedingReauthPage["next"] = null
      do {
        const page = await list(adapter, { provider: PROVIDER_ID, limit: 3, after })
        pages.push(page)
        after = page.next
      } while (after && pages.length < 10)
      expect(pages.map((page) => page.accounts.length)).toEqual([3, 3, 1])
      const expected = dead.map(({ login, userId: id }) => ({
        userId: id,
        provider: PROVIDER_ID,
        providerAccountId: login,
        reason: "invalid_grant",
      }))
      expect(pages.flatMap((page) => page.accounts)).toEqual(expected)
      // The control: alive, refreshed, not listed.
      const alive = seeded[ALIVE]!
      expect((await fixture.accountRows({ provider: PROVIDER_ID, providerAccountId: alive.login }))[0]).toMatchObject({
        refresh_error: null,
      })
      expect(pages.flatMap((page) => page.accounts).map((a) => a.providerAccountId)).not.toContain(alive.login)

      // One of them signs in again (a new refresh token through syncAccount, as events.signIn writes it): gone
      // from the listing, the others still there.
      const back = seeded[5]!
      const fresh = await op.issueOfflineGrant(back.login)
      await adapter.syncAccount({
        provider: PROVIDER_ID,
        providerAccountId: back.login,
        userId: back.userId,
        access_token: fresh.accessToken,
        refresh_token: fresh.refreshToken,
        expires_at: fresh.expiresAt,
      })
      const after2 = (await list(adapter, { provider: PROVIDER_ID, limit: 100 })).accounts.map(
        (a) => a.providerAccountId,
      )
      expect(after2).toEqual(expected.map((a) => a.providerAccountId).filter((login) => login !== back.login))
    },
    120_000,
  )

  test("no page carried a token: every token the provider issued is absent from all of them", () => {
    const serialized = JSON.stringify(listed)
    expect(listed.some((page) => page.accounts.length > 0)).toBe(true)
    const tokens = [...op.issued.map((token) => token.value), ...idTokens].filter((t) => t.length > 0)
    expect(tokens.length).toBeGreaterThan(20)
    expect(tokens.filter((token) => serialized.includes(token))).toEqual([])
  })
})
