/**
 * Keycloak (issue 19, part 5): the provider of the next-auth 4 setup this project started from. No Keycloak
 * server runs here, so the real oidc-provider issues and validates every token and a real proxy in front of
 * its token endpoint answers as Keycloak does (src/harness/keycloak-proxy.ts names the Keycloak commit and
 * file of each shape). Every test using the proxy says so in its name.
 *
 * Through the real path: real Auth.js sign-ins (their token request goes through the proxy too), the
 * pg cell's documented schema on real PostgreSQL, withTokenSync and getAccessToken.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { inspect } from "node:util"
import {
  ProviderUnavailableError,
  RefreshTokenError,
  type RefreshOptions,
  type TokenSyncAdapter,
} from "authjs-adapter-refresh"
import type { AuthApp } from "../../src/harness/auth-app.js"
import { KEYCLOAK_REFUSALS, type KeycloakProxy, type KeycloakRefusalName } from "../../src/harness/keycloak-proxy.js"
import type { TestOidcProvider } from "../../src/harness/oidc-provider.js"
import { startKeycloakCell, type KeycloakCell } from "./keycloak-cell.js"
import { rejection } from "./scenario-hooks.js"

const PROVIDER_ID = "keycloak"
const LOGIN = "keycloak-user"
const SSO_SESSION_IDLE = 1800

const SUITE = "Keycloak's answers and refusals (pg, real Auth.js, real oidc-provider behind a Keycloak-answering proxy)"

describe(SUITE, () => {
  let cell: KeycloakCell
  let op: TestOidcProvider
  let kc: KeycloakProxy
  let app: AuthApp
  let userId: string

  beforeAll(async () => {
    cell = await startKeycloakCell({
      database: "keycloak_proxy",
      providerId: PROVIDER_ID,
      login: LOGIN,
      proxy: { ssoSessionIdleSeconds: SSO_SESSION_IDLE },
    })
    ;({ op, kc, app, userId } = cell)
  }, 60_000)
  afterAll(async () => {
    await cell?.stop()
  })

  const tokenSync = (refresh?: Partial<RefreshOptions>) => cell.tokenSync(refresh)
  const row = () => cell.row()
  const ask = (adapter: TokenSyncAdapter) => adapter.getAccessToken({ userId, provider: PROVIDER_ID })
  const tokensOf = async () => {
    const r = await row()
    return { access_token: r.access_token, refresh_token: r.refresh_token, expires_at: r.expires_at }
  }
  const waitForExpiry = () => cell.waitForExpiry()
  /** A dead grant: RefreshTokenError with `reason`, holding no token and not the provider's description. */
  function expectDeadGrant(error: unknown, reason: "invalid_grant" | "invalid_scope", secrets: unknown[]): void {
    expect(error).toBeInstanceOf(RefreshTokenError)
    const refused = error as RefreshTokenError
    expect({ code: refused.code, reason: refused.reason, provider: refused.provider }).toEqual({
      code: "REFRESH_INVALID_GRANT",
      reason,
      provider: PROVIDER_ID,
    })
    const text = `${inspect(error, { depth: 10, showHidden: true })}${JSON.stringify(error)}`
    for (const secret of secrets) expect(text.includes(String(secret))).toBe(false)
  }
  const signInAgain = () => cell.signInAgain()

  test(
    "[Keycloak proxy] a sign-in: Keycloak's extras reach Auth.js and the sync, break nothing; " +
      "session_state is stored",
    async () => {
      const errors = app.errors.length
      await signInAgain()
      expect(app.errorMessages().slice(errors)).toEqual([])
      // What Auth.js received is Keycloak's answer (offline: the scope holds offline_access).
      const account = app.signIns.at(-1)!.account as Record<string, unknown>
      expect({
        refresh_expires_in: account.refresh_expires_in,
        notBeforePolicy: account["not-before-policy"],
        session_state: account.session_state,
      }).toEqual({ refresh_expires_in: 0, notBeforePolicy: 0, session_state: kc.sessionState })
      // The sync stored the sign-in's tokens; the extras have no column and were written nowhere.
      const stored = await row()
      expect(stored.refresh_token).toBe(op.lastIssued("refresh_token")?.value)
      expect(stored.access_token).toBe(op.lastIssued("access_token")?.value)
      expect(stored.session_state).toBe(kc.sessionState)
      expect(stored.refresh_error).toBeNull()
      expect(Object.keys(stored).filter((column) => /expires_in|before/.test(column))).toEqual([])
    },
    30_000,
  )

  test(
    "[Keycloak proxy] refreshes: online (refresh_expires_in = the SSO bound) and offline (0); " +
      "extras ignored, nothing dropped",
    async () => {
      for (const online of [true, false]) {
        kc.onlineSession = online
        try {
          await waitForExpiry()
          const result = await ask(tokenSync())
          const answer = kc.lastAnswer!
          expect({ online, grantType: answer.grantType, refreshed: result.refreshed }).toEqual({
            online,
            grantType: "refresh_token",
            refreshed: true,
          })
          expect(result.droppedFields ?? []).toEqual([])
          expect(result.persistError).toBeUndefined()
          const refreshExpiresIn = answer.body.refresh_expires_in as number
          if (online) expect(refreshExpiresIn > 0 && refreshExpiresIn <= SSO_SESSION_IDLE).toBe(true)
          else expect(refreshExpiresIn).toBe(0)
          const stored = await row()
          expect(stored.refresh_token).toBe(answer.body.refresh_token)
          expect(stored.access_token).toBe(answer.body.access_token)
          expect(stored.scope).toBe(answer.body.scope)
          expect(stored.session_state).toBe(kc.sessionState)
          expect((await op.userinfo(String(stored.access_token))).status).toBe(200)
        } finally {
          kc.onlineSession = false
        }
      }
    },
    30_000,
  )

  test(
    "[Keycloak proxy] a refresh answer without refresh_token (client 'Use refresh tokens' off): " +
      "the stored one is kept and works",
    async () => {
      // Without rotation the provider keeps the refresh token valid, as Keycloak does with Revoke Refresh Token off.
      op.setRotateRefreshToken(false)
      kc.omitRefreshToken = true
      try {
        await waitForExpiry()
        const before = await row()
        const result = await ask(tokenSync())
        expect(result.refreshed).toBe(true)
        expect(kc.lastAnswer!.body.refresh_token).toBeUndefined()
        expect(kc.lastAnswer!.body.refresh_expires_in).toBe(0) // Keycloak's primitive field, no refresh token built
        const stored = await row()
        expect(stored.refresh_token).toBe(before.refresh_token)
        expect(stored.access_token).toBe(result.accessToken)
        expect(stored.access_token).not.toBe(before.access_token)
        kc.omitRefreshToken = false
        await waitForExpiry()
        const grants = op.stats.refreshGrants
        expect((await ask(tokenSync())).refreshed).toBe(true) // the kept refresh token still works
        expect(op.stats.refreshGrants - grants).toBe(1)
      } finally {
        kc.omitRefreshToken = false
        op.setRotateRefreshToken(true)
      }
    },
    30_000,
  )

  const INVALID_GRANT_REFUSALS = (Object.keys(KEYCLOAK_REFUSALS) as KeycloakRefusalName[]).filter(
    (name) => KEYCLOAK_REFUSALS[name].error === "invalid_grant",
  )

  test.each(INVALID_GRANT_REFUSALS)(
    "[Keycloak proxy] refusal '%s': RefreshTokenError (invalid_grant), account marked for re-authentication, " +
      "tokens kept, not asked again; a sign-in clears it",
    async (name) => {
      await waitForExpiry()
      const before = await tokensOf()
      const requests = kc.requests
      const grants = op.stats.refreshGrants + op.stats.refreshErrors.length
      kc.refusal = KEYCLOAK_REFUSALS[name]
      try {
        expectDeadGrant(await rejection(ask(tokenSync())), "invalid_grant", [
          before.access_token,
          before.refresh_token,
          KEYCLOAK_REFUSALS[name].error_description,
        ])
        expect(kc.requests - requests).toBe(1)
        expect(op.stats.refreshGrants + op.stats.refreshErrors.length).toBe(grants) // Keycloak refused it first
        expect((await row()).refresh_error).toBe("invalid_grant")
        expect(await tokensOf()).toEqual(before)

        // Another process: the mark says it, the dead refresh token is not sent again.
        const again = await rejection(ask(tokenSync()))
        expect((again as RefreshTokenError).reason).toBe("marked")
        expect(kc.requests - requests).toBe(1)
      } finally {
        kc.refusal = undefined
      }
      // The user signs in again (through Keycloak's answer): new tokens, the mark is cleared.
      await signInAgain()
      expect((await row()).refresh_error).toBeNull()
      expect((await row()).refresh_token).not.toBe(before.refresh_token)
    },
    30_000,
  )

  test(
    "[Keycloak proxy] a grant really ended at the provider, worded as Keycloak's 'Session not active': " +
      "RefreshTokenError (invalid_grant), marked, tokens kept",
    async () => {
      await waitForExpiry()
      const before = await tokensOf()
      const grantId = op.issuedOf("refresh_token").find((t) => t.value === before.refresh_token)?.grantId
      expect(grantId).toBeDefined()
      await op.revokeGrant(grantId!) // an admin ended the session
      const refusals = op.stats.refreshErrors.length
      const error = await rejection(ask(tokenSync()))
      expect(op.stats.refreshErrors.length - refusals).toBe(1) // the provider itself refused it
      expect(error).toBeInstanceOf(RefreshTokenError)
      expect((error as RefreshTokenError).reason).toBe("invalid_grant")
      expect((await row()).refresh_error).toBe("invalid_grant")
      expect(await tokensOf()).toEqual(before)
      await signInAgain()
      expect((await row()).refresh_error).toBeNull()
    },
    30_000,
  )

  test(
    "[Keycloak proxy] without refresh.reauthColumn an invalid_grant is remembered only by the process " + "that saw it",
    async () => {
      await waitForExpiry()
      const before = await tokensOf()
      const requests = kc.requests
      kc.refusal = KEYCLOAK_REFUSALS["Session not active"]
      try {
        const noColumn = tokenSync({ reauthColumn: undefined })
        expect(((await rejection(ask(noColumn))) as RefreshTokenError).reason).toBe("invalid_grant")
        expect(((await rejection(ask(noColumn))) as RefreshTokenError).reason).toBe("marked")
        expect(kc.requests - requests).toBe(1)
        expect((await row()).refresh_error).toBeNull() // nothing written
        // Another process has no memory of it and asks Keycloak again.
        expect(((await rejection(ask(tokenSync({ reauthColumn: undefined })))) as RefreshTokenError).reason).toBe(
          "invalid_grant",
        )
        expect(kc.requests - requests).toBe(2)
        expect(await tokensOf()).toEqual(before)
      } finally {
        kc.refusal = undefined
      }
    },
    30_000,
  )

  test(
    "[Keycloak proxy] Keycloak's revoked consent (invalid_scope on a refresh, which sends no scope): " +
      "RefreshTokenError (invalid_scope), marked, tokens kept, not asked again; a sign-in clears it",
    async () => {
      await waitForExpiry()
      const before = await tokensOf()
      const requests = kc.requests
      const refusal = KEYCLOAK_REFUSALS["Client no longer has requested consent from user"]
      kc.refusal = refusal
      try {
        expectDeadGrant(await rejection(ask(tokenSync())), "invalid_scope", [
          before.access_token,
          before.refresh_token,
          refusal.error_description,
        ])
        expect(kc.requests - requests).toBe(1)
        expect((await row()).refresh_error).toBe("invalid_scope")
        expect(await tokensOf()).toEqual(before)
        // Another process: the mark says it, the refresh token is not sent again.
        expect(((await rejection(ask(tokenSync()))) as RefreshTokenError).reason).toBe("marked")
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
    "[Keycloak proxy] control: another OAuth error on a refresh (invalid_request) stays a " +
      "ProviderUnavailableError, marks nothing, and is asked again",
    async () => {
      await waitForExpiry()
      const before = await tokensOf()
      const requests = kc.requests
      kc.refusal = {
        error: "invalid_request",
        error_description: "Control: a refusal that says nothing about the grant",
        when: "never: a control of this test",
        source: "none",
      }
      try {
        for (const attempt of [1, 2]) {
          const error = await rejection(ask(tokenSync()))
          expect(error).toBeInstanceOf(ProviderUnavailableError)
          const unavailable = error as ProviderUnavailableError
          expect({ kind: unavailable.kind, oauthError: unavailable.oauthError, status: unavailable.status }).toEqual({
            kind: "oauth_error",
            oauthError: "invalid_request",
            status: 400,
          })
          expect(kc.requests - requests).toBe(attempt)
        }
        expect((await row()).refresh_error).toBeNull()
        expect(await tokensOf()).toEqual(before)
      } finally {
        kc.refusal = undefined
      }
    },
    30_000,
  )
})
