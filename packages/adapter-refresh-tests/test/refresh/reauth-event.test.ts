/**
 * The reauth event (TOKEN_SYNC_CHANNELS.reauth): the one place an app learns that an account needs its user
 * again. Each reason is produced for real: real Auth.js sign-ins, the pg cell's documented schema on real
 * PostgreSQL, the real rotating oidc-provider, and, for the refusal oidc-provider cannot produce (Keycloak's
 * withdrawn consent, `invalid_scope`), a real proxy answering as Keycloak does (src/harness/keycloak-proxy.ts;
 * that test says so in its name). Every event is checked for its fields, and all of them, serialized, for
 * every token the provider issued.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import diagnostics from "node:diagnostics_channel"
import {
  InsufficientScopeError,
  RefreshTokenError,
  TOKEN_SYNC_CHANNELS,
  type ReauthEvent,
  type RefreshOptions,
  type TokenSyncAdapter,
} from "authjs-adapter-refresh"
import { KEYCLOAK_REFUSALS, type KeycloakProxy } from "../../src/harness/keycloak-proxy.js"
import type { TestOidcProvider } from "../../src/harness/oidc-provider.js"
import type { DatabaseFixture } from "../../src/fixtures/databases.js"
import { startKeycloakCell, type KeycloakCell } from "./keycloak-cell.js"
import { rejection } from "./scenario-hooks.js"

const PROVIDER_ID = "keycloak"
const LOGIN = "reauth-user"

const received: ReauthEvent[] = []
const listener = (event: unknown) => received.push(event as ReauthEvent)
/** The events received since the last call. */
const take = (): ReauthEvent[] => received.splice(0)
/** Every event of the suite, for the final no-token check. */
const all: ReauthEvent[] = []

describe("the reauth event (pg, real Auth.js, real oidc-provider; a Keycloak-answering proxy where named)", () => {
  let cell: KeycloakCell
  let op: TestOidcProvider
  let kc: KeycloakProxy
  let fixture: DatabaseFixture<unknown>
  let userId: string
  /** Every id_token the sign-ins stored (the provider's records hold access and refresh tokens only). */
  const idTokens = new Set<string>()

  beforeAll(async () => {
    diagnostics.subscribe(TOKEN_SYNC_CHANNELS.reauth, listener)
    cell = await startKeycloakCell({ database: "reauth_event", providerId: PROVIDER_ID, login: LOGIN })
    ;({ op, kc, fixture, userId } = cell)
    idTokens.add(String((await row()).id_token))
  }, 60_000)
  afterAll(async () => {
    diagnostics.unsubscribe(TOKEN_SYNC_CHANNELS.reauth, listener)
    await cell?.stop()
  })

  const tokenSync = (refresh?: Partial<RefreshOptions>) => cell.tokenSync(refresh)
  const key = { provider: PROVIDER_ID, providerAccountId: LOGIN }
  const row = () => cell.row()
  const ask = (adapter: TokenSyncAdapter, scopes?: string[]) =>
    adapter.getAccessToken({ userId, provider: PROVIDER_ID, ...(scopes ? { scopes } : {}) })
  /** What every event of this account carries, whatever the reason. */
  const about = () => ({ store: "pg", provider: PROVIDER_ID, userId, providerAccountId: LOGIN })
  const events = (): ReauthEvent[] => {
    const taken = take()
    all.push(...taken)
    return taken
  }

  const waitForExpiry = () => cell.waitForExpiry()
  async function signInAgain(): Promise<void> {
    await cell.signInAgain()
    idTokens.add(String((await row()).id_token))
    expect(events()).toEqual([]) // a sign-in is no reason
  }
  /** Ends the stored grant at the real provider (the user removed the app's access, an admin ended it). */
  async function revokeStoredGrant(): Promise<void> {
    const refreshToken = (await row()).refresh_token
    const grantId = op.issuedOf("refresh_token").find((t) => t.value === refreshToken)?.grantId
    expect(grantId).toBeDefined()
    await op.revokeGrant(grantId!)
  }

  test(
    "the provider refuses the refresh token (invalid_grant, the grant ended at the real provider): " +
      "refresh_token_refused in the process that saw it; 'marked' once in another; nothing more",
    async () => {
      await waitForExpiry()
      take()
      await revokeStoredGrant()
      const first = tokenSync()
      const refusals = op.stats.refreshErrors.length
      expect(((await rejection(ask(first))) as RefreshTokenError).reason).toBe("invalid_grant")
      expect(op.stats.refreshErrors.length - refusals).toBe(1) // the provider itself refused it
      expect(events()).toEqual([{ ...about(), reason: "refresh_token_refused", oauthError: "invalid_grant" }])
      // The same process again: refused without a request, and no second event (it reported it already).
      expect(((await rejection(ask(first))) as RefreshTokenError).reason).toBe("marked")
      expect(events()).toEqual([])

      // Another process meets the mark: reported once, however often it is asked.
      const other = tokenSync()
      expect(((await rejection(ask(other))) as RefreshTokenError).reason).toBe("marked")
      expect(((await rejection(ask(other))) as RefreshTokenError).reason).toBe("marked")
      expect(events()).toEqual([{ ...about(), reason: "marked" }])
      expect(op.stats.refreshErrors.length - refusals).toBe(1)

      // A sign-in brings a new refresh token: the account works again, and nothing is reported.
      await signInAgain()
      await waitForExpiry()
      expect((await ask(other)).refreshed).toBe(true)
      expect(events()).toEqual([])
    },
    30_000,
  )

  test(
    "[Keycloak proxy] the user withdrew consent (invalid_scope): refresh_token_refused with oauthError " +
      "invalid_scope, the account marked; another process: 'marked' with no request",
    async () => {
      await waitForExpiry()
      take()
      const requests = kc.requests
      kc.refusal = KEYCLOAK_REFUSALS["Client no longer has requested consent from user"]
      try {
        expect(((await rejection(ask(tokenSync()))) as RefreshTokenError).reason).toBe("invalid_scope")
        expect(events()).toEqual([{ ...about(), reason: "refresh_token_refused", oauthError: "invalid_scope" }])
        expect((await row()).refresh_error).toBe("invalid_scope")
        expect(((await rejection(ask(tokenSync()))) as RefreshTokenError).reason).toBe("marked")
        expect(events()).toEqual([{ ...about(), reason: "marked" }])
        expect(kc.requests - requests).toBe(1)
      } finally {
        kc.refusal = undefined
      }
      await signInAgain()
      expect((await row()).refresh_error).toBeNull()
    },
    30_000,
  )

  test(
    "without refresh.reauthColumn: each process that asks the provider reports the refusal itself " +
      "(one request each); none reports 'marked'",
    async () => {
      await waitForExpiry()
      take()
      await revokeStoredGrant()
      const refusals = op.stats.refreshErrors.length
      const first = tokenSync({ reauthColumn: undefined })
      const second = tokenSync({ reauthColumn: undefined })
      for (const process of [first, first, second, second])
        expect(await rejection(ask(process))).toBeInstanceOf(RefreshTokenError)
      expect(op.stats.refreshErrors.length - refusals).toBe(2)
      expect(events()).toEqual([
        { ...about(), reason: "refresh_token_refused", oauthError: "invalid_grant" },
        { ...about(), reason: "refresh_token_refused", oauthError: "invalid_grant" },
      ])
      expect((await row()).refresh_error).toBeNull()
      await signInAgain()
    },
    30_000,
  )

  test("scopes the grant lacks: scopes_missing naming them; control: granted scopes, no event", async () => {
    take()
    const adapter = tokenSync()
    const error = await rejection(ask(adapter, ["openid", "calendar", "contacts"]))
    expect((error as InsufficientScopeError).missingScopes).toEqual(["calendar", "contacts"])
    expect(events()).toEqual([
      { ...about(), reason: "scopes_missing", missingScopes: ["calendar", "contacts"], scopeSource: "stored" },
    ])
    await ask(adapter, ["openid", "email"])
    expect(events()).toEqual([])
  }, 30_000)

  test(
    "an unlink with refresh.revocation: 'revoked' once the provider revoked the grant; " +
      "control: an unlink without it reports nothing",
    async () => {
      // Control first (the account must exist for it): a plain unlink, then the user links it again.
      take()
      await tokenSync().unlinkAccount!(key)
      expect(await fixture.accountRows(key)).toEqual([])
      expect(events()).toEqual([])
      await signInAgain()
      expect(await fixture.accountRows(key)).toHaveLength(1)
      userId = String((await row()).userId)

      const refreshToken = String((await row()).refresh_token)
      await tokenSync({ revocation: { providers: [PROVIDER_ID] } }).unlinkAccount!(key)
      expect(events()).toEqual([{ ...about(), reason: "revoked" }])
      // Revoked for real: the provider refuses the old refresh token.
      const refused = await op.refresh(refreshToken)
      expect({ status: refused.status, error: refused.body.error }).toEqual({
        status: 400,
        error: "invalid_grant",
      })
    },
    30_000,
  )

  test("no event carried a token: every token the provider issued is absent from all of them", () => {
    all.push(...take())
    expect(new Set(all.map((event) => event.reason))).toEqual(
      new Set(["refresh_token_refused", "marked", "scopes_missing", "revoked"]),
    )
    const serialized = JSON.stringify(all)
    const tokens = [...op.issued.map((token) => token.value), ...idTokens].filter((t) => t.length > 0)
    expect(tokens.length).toBeGreaterThan(4)
    expect(tokens.filter((token) => serialized.includes(token))).toEqual([])
  })
})
