/**
 * A Keycloak token endpoint, for tests: the real oidc-provider does the OAuth work (it issues, rotates and
 * validates every token) and a real rewriting proxy in front of its token endpoint makes the answers look
 * like Keycloak's. No Keycloak server can run on the test machines, so the shapes below are taken from
 * Keycloak's own source, keycloak/keycloak at commit 091ec956bb27ecbf692f0bbe4a14d570d6f44b3c (the 26.x
 * line, jakarta packages; read through the project's code search, not run):
 *
 * - services/src/main/java/org/keycloak/protocol/oidc/TokenManager.java, `AccessTokenResponseBuilder.build()`:
 *   every token answer carries `session_state` (the user session id) and `not-before-policy` (the latest of
 *   the realm's, the client's and the user's not-before, epoch seconds, 0 when never pushed), and
 *   `refresh_expires_in` = refresh token `exp` - now, set only when the refresh token has an `exp`. The field
 *   is a primitive `long` (core/.../representations/AccessTokenResponse.java), so an offline token without
 *   "Offline Session Max Limited" is answered with `refresh_expires_in: 0`.
 * - same file, `getExpiration(false)`: an online refresh token expires at the earlier of "client session
 *   last refresh + SSO Session Idle" and "session start + SSO Session Max" (per-client overrides aside).
 * - services/src/main/java/org/keycloak/protocol/oidc/grants/RefreshTokenGrantType.java, `process()`: a
 *   refused refresh (an `OAuthErrorException` from TokenManager) is answered HTTP 400 with the exception's
 *   `error` and `error_description`. The refusals are listed in `KEYCLOAK_REFUSALS` with where each is raised.
 * - same grant, with the client's "Use refresh tokens" off (`isUseRefreshToken()` false): the refresh answer
 *   has no `refresh_token` (TokenManager.refreshAccessToken only calls `generateRefreshToken` when it is on),
 *   and then `refresh_expires_in` stays at the primitive's 0: a 0 says "never" only next to a refresh token.
 */
import { randomUUID } from "node:crypto"
import { startRewritingProxy, type ProxiedRequest, type RewritingProxy } from "./rewriting-proxy.js"

/** Where Keycloak's answers were read: repository, commit and line. */
export const KEYCLOAK_SOURCE = {
  repo: "keycloak/keycloak",
  commit: "091ec956bb27ecbf692f0bbe4a14d570d6f44b3c",
  line: "26.x",
} as const

/** A refusal Keycloak answers a refresh_token grant with, and where in its source it is raised. */
export interface KeycloakRefusal {
  error: string
  error_description: string
  /** Why Keycloak says it. */
  when: string
  /** File and method of Keycloak's source (at `KEYCLOAK_SOURCE.commit`). */
  source: string
}

const TOKEN_MANAGER = "services/src/main/java/org/keycloak/protocol/oidc/TokenManager.java"

/** Keycloak's refusals of a refresh_token grant, by `error_description`. All are HTTP 400. */
export const KEYCLOAK_REFUSALS = {
  "Token is not active": {
    error: "invalid_grant",
    error_description: "Token is not active",
    when: "the refresh token is past its exp (SSO Session Idle or Max reached)",
    source:
      `${TOKEN_MANAGER} verifyRefreshToken (passes on the message of ` +
      "core/src/main/java/org/keycloak/TokenVerifier.java IS_ACTIVE)",
  },
  "Session not active": {
    error: "invalid_grant",
    error_description: "Session not active",
    when: "the user session is gone or expired (logout, admin sign-out, idle); Keycloak also logs it out",
    source: `${TOKEN_MANAGER} validateToken`,
  },
  "Stale token": {
    error: "invalid_grant",
    error_description: "Stale token",
    when:
      "Revoke Refresh Token on and an older refresh token of the session is presented, " +
      "or the token predates a not-before push",
    source: `${TOKEN_MANAGER} validateTokenReuse; validateToken (NotBeforeCheck)`,
  },
  "Maximum allowed refresh token reuse exceeded": {
    error: "invalid_grant",
    error_description: "Maximum allowed refresh token reuse exceeded",
    when: "Revoke Refresh Token on and the same refresh token used more than Refresh Token Max Reuse times",
    source: `${TOKEN_MANAGER} validateTokenReuse`,
  },
  "Offline user session not found": {
    error: "invalid_grant",
    error_description: "Offline user session not found",
    when: "the offline session was removed (the user revoked the app's offline access, an admin did)",
    source: `${TOKEN_MANAGER} validateToken`,
  },
  "Offline session not active": {
    error: "invalid_grant",
    error_description: "Offline session not active",
    when: "the offline session passed Offline Session Idle (or its Max)",
    source: `${TOKEN_MANAGER} validateToken`,
  },
  "Invalid refresh token": {
    error: "invalid_grant",
    error_description: "Invalid refresh token",
    when: "not a refresh token of this realm (bad signature, wrong type, unknown user)",
    source: `${TOKEN_MANAGER} verifyRefreshToken, toRefreshToken, validateToken`,
  },
  "User disabled": {
    error: "invalid_grant",
    error_description: "User disabled",
    when: "an admin disabled the user",
    source: `${TOKEN_MANAGER} validateToken`,
  },
  "Client no longer has requested consent from user": {
    error: "invalid_scope",
    error_description: "Client no longer has requested consent from user",
    when: "the user revoked the consent to the app's scopes (NOT invalid_grant)",
    source: `${TOKEN_MANAGER} validateToken`,
  },
} as const satisfies Record<string, KeycloakRefusal>

export type KeycloakRefusalName = keyof typeof KEYCLOAK_REFUSALS

export interface KeycloakProxyOptions {
  /** Realm "SSO Session Idle", seconds. Keycloak's default 1800. */
  ssoSessionIdleSeconds?: number
  /** Realm "SSO Session Max", seconds. Keycloak's default 36000. */
  ssoSessionMaxSeconds?: number
  /** `not-before-policy` sent in every answer. Default 0 (no not-before pushed). */
  notBeforePolicy?: number
}

export interface KeycloakProxy {
  /** The token endpoint to give the client (Auth.js and the library). */
  url: string
  /** Requests received (forwarded or answered by the proxy). */
  readonly requests: number
  /** The user session id sent as `session_state` (a new one for each authorization_code grant). */
  readonly sessionState: string
  /**
   * Remove `offline_access` from the answers' scope: a Keycloak client that asked for an online session.
   * Keycloak's refresh token is offline exactly when its scope holds `offline_access`.
   */
  onlineSession: boolean
  /** While set, every refresh_token grant is refused with it, before reaching the provider (as Keycloak does). */
  refusal: KeycloakRefusal | undefined
  /**
   * How the provider's own refusal of a refresh is worded to the client. oidc-provider says "grant request
   * is invalid" where Keycloak names the cause; default "Session not active" (a grant ended at the provider
   * is, in Keycloak, a session an admin or the user ended).
   */
  providerRefusal: KeycloakRefusal
  /** The client's "Use refresh tokens" off: refresh answers carry no refresh_token. */
  omitRefreshToken: boolean
  /**
   * Not Keycloak: answers without `refresh_expires_in` (a provider that says nothing about the refresh token's
   * life), so a test can show that a new refresh token without an expiry makes the stored one unknown.
   */
  omitRefreshExpiresIn: boolean
  /** The grant type and body of the last successful answer sent (test-only: it holds tokens). */
  readonly lastAnswer: { grantType: string; body: Record<string, unknown> } | undefined
  stop(): Promise<void>
}

/** Keycloak's field order in a token answer (cosmetic: JSON readers do not care). */
const KEYCLOAK_ORDER = [
  "access_token",
  "expires_in",
  "refresh_expires_in",
  "refresh_token",
  "token_type",
  "id_token",
  "not-before-policy",
  "session_state",
  "scope",
]

/** Starts a Keycloak-answering proxy in front of the real token endpoint `tokenEndpoint`. */
export async function startKeycloakProxy(
  tokenEndpoint: string,
  options: KeycloakProxyOptions = {},
): Promise<KeycloakProxy> {
  const idle = options.ssoSessionIdleSeconds ?? 1800
  const max = options.ssoSessionMaxSeconds ?? 36_000
  const nowSeconds = (): number => Math.floor(Date.now() / 1000)
  const inner: RewritingProxy = await startRewritingProxy(tokenEndpoint)
  let session = { id: randomUUID(), startedAt: nowSeconds() }
  let lastAnswer: KeycloakProxy["lastAnswer"]

  const keycloak: KeycloakProxy = {
    url: inner.url,
    get requests() {
      return inner.requests
    },
    get sessionState() {
      return session.id
    },
    onlineSession: false,
    refusal: undefined,
    providerRefusal: KEYCLOAK_REFUSALS["Session not active"],
    omitRefreshToken: false,
    omitRefreshExpiresIn: false,
    get lastAnswer() {
      return lastAnswer
    },
    stop: () => inner.stop(),
  }

  inner.intercept = (request: ProxiedRequest) => {
    const refusal = keycloak.refusal
    if (!refusal || request.form.get("grant_type") !== "refresh_token") return undefined
    // RefreshTokenGrantType.process(): OAuthErrorException -> 400 { error, error_description }.
    return { status: 400, body: { error: refusal.error, error_description: refusal.error_description } }
  }

  inner.rewrite = (body, status, request) => {
    const grantType = request.form.get("grant_type") ?? ""
    if (status === 400 && body.error === "invalid_grant" && grantType === "refresh_token") {
      // The provider really refused the grant: answer with Keycloak's words for it.
      const { error, error_description } = keycloak.providerRefusal
      return { error, error_description }
    }
    if (status !== 200 || typeof body.access_token !== "string") return undefined
    // A login makes a new user session (a new session_state), started now.
    if (grantType === "authorization_code") session = { id: randomUUID(), startedAt: nowSeconds() }
    const answer: Record<string, unknown> = { ...body }
    if (keycloak.onlineSession && typeof answer.scope === "string") {
      answer.scope = answer.scope
        .split(" ")
        .filter((scope) => scope !== "offline_access")
        .join(" ")
    }
    const offline = typeof answer.scope === "string" && answer.scope.split(" ").includes("offline_access")
    const now = nowSeconds()
    // getExpiration(false): min(last refresh + idle, start + max); an offline token has no exp: 0.
    answer.refresh_expires_in = offline ? 0 : Math.max(0, Math.min(now + idle, session.startedAt + max) - now)
    answer["not-before-policy"] = options.notBeforePolicy ?? 0
    answer.session_state = session.id
    if (grantType === "refresh_token" && keycloak.omitRefreshToken) {
      // No refresh token built: the primitive field keeps its 0 (as in Keycloak's client_credentials answers).
      delete answer.refresh_token
      answer.refresh_expires_in = 0
    }
    if (keycloak.omitRefreshExpiresIn) delete answer.refresh_expires_in
    const ordered: Record<string, unknown> = {}
    for (const field of KEYCLOAK_ORDER) if (field in answer) ordered[field] = answer[field]
    for (const [field, value] of Object.entries(answer)) if (!(field in ordered)) ordered[field] = value
    lastAnswer = { grantType, body: ordered }
    return ordered
  }
  return keycloak
}
