/**
 * A real OpenID Provider (`oidc-provider` 9) on 127.0.0.1, plain http, free port, for end-to-end tests.
 *
 * Nothing is mocked: Auth.js talks to it over real HTTP (discovery, authorization, token, userinfo) and
 * tests can call the same endpoints (`refresh`, `userinfo`, `introspect`, `revoke`). Everything the
 * provider issues is recorded (`issued`, `stats`) from the provider's own events.
 */
import { generateKeyPair, randomBytes, randomUUID } from "node:crypto"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { listenOnLoopback } from "./loopback-server.js"

// ---------------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------------

export type TokenEndpointAuthMethod = "client_secret_basic" | "client_secret_post"

export interface StartOidcProviderOptions {
  /** Redirect URIs registered for the client. More can be added later with `addRedirectUri`. */
  redirectUris?: string[]
  /** Default `"test-client"`. */
  clientId?: string
  /** Default: random. */
  clientSecret?: string
  /** How the client authenticates at the token endpoint. Default `"client_secret_basic"` (Auth.js's default). */
  tokenEndpointAuthMethod?: TokenEndpointAuthMethod
  /** Access token lifetime in seconds. Default 5. */
  accessTokenTtl?: number
  /** Refresh token lifetime in seconds. Default 1 day. */
  refreshTokenTtl?: number
  /** Rotate refresh tokens on every use (reuse of a consumed one fails and revokes the grant). Default true. */
  rotateRefreshToken?: boolean
  /** Issue refresh tokens at all (when `offline_access` is granted). Default true. */
  issueRefreshTokens?: boolean
  /**
   * Issue a refresh token on sign-ins after the first one of the same account. Default true.
   * `false` behaves like Google: only the account's first consent yields a refresh token.
   * Can be changed at run time with `setRefreshTokenOnReturn`.
   */
  refreshTokenOnReturn?: boolean
  /** Claims for a login name. Default: `{ sub: login, email: login@example.test, email_verified: true, name }`. */
  claims?: (login: string) => AccountClaims
  /** Drop oidc-provider's start-up notices (Node 20 runtime, devInteractions) from the console. Default true. */
  quiet?: boolean
}

export interface AccountClaims {
  sub: string
  email?: string
  email_verified?: boolean
  name?: string
  [claim: string]: unknown
}

export type IssuedTokenKind = "access_token" | "refresh_token"

export interface IssuedToken {
  kind: IssuedTokenKind
  value: string
  grantId: string | undefined
  accountId: string | undefined
  /** Grant type chain that produced the token, e.g. `"authorization_code"` or `"authorization_code refresh_token"`. */
  gty: string | undefined
  /** Date.now() when the provider saved it. */
  issuedAt: number
  /** Expiry, epoch seconds. */
  expiresAt: number | undefined
}

export interface GrantErrorRecord {
  grantType: string | undefined
  error: string
  description: string | undefined
  /** oidc-provider's internal detail, e.g. "refresh token already used", "refresh token not found". */
  detail: string | undefined
  at: number
}

export interface OidcProviderStats {
  /** Successful authorization_code grants at the token endpoint. */
  authorizationCodeGrants: number
  /** Successful refresh_token grants at the token endpoint. */
  refreshGrants: number
  /** Failed refresh_token grants (e.g. `invalid_grant`, "refresh token already used"). */
  refreshErrors: GrantErrorRecord[]
  /** Every failed token endpoint request, any grant type. */
  grantErrors: GrantErrorRecord[]
  /** Refresh tokens marked consumed by rotation. */
  refreshTokensConsumed: number
  /** Grants revoked (e.g. after refresh token reuse detection, or by `revokeGrant`). */
  grantsRevoked: number
  revokedGrantIds: string[]
  /** Unexpected provider errors (`server_error` events). Should stay empty. */
  serverErrors: string[]
}

export interface TokenEndpointBody {
  access_token?: string
  refresh_token?: string
  id_token?: string
  expires_in?: number
  scope?: string
  token_type?: string
  error?: string
  error_description?: string
  [key: string]: unknown
}

export interface HttpResult<T> {
  status: number
  body: T
  headers: Headers
}

export interface IntrospectionBody {
  active: boolean
  sub?: string
  client_id?: string
  exp?: number
  iat?: number
  scope?: string
  token_type?: string
  [key: string]: unknown
}

export interface OidcProviderEndpoints {
  discovery: string
  authorization: string
  token: string
  userinfo: string
  introspection: string
  revocation: string
  jwks: string
}

export interface TestOidcProvider {
  /** `http://127.0.0.1:<port>` */
  issuer: string
  port: number
  clientId: string
  clientSecret: string
  tokenEndpointAuthMethod: TokenEndpointAuthMethod
  endpoints: OidcProviderEndpoints
  stats: OidcProviderStats
  /** Every access and refresh token the provider saved, in order. */
  issued: IssuedToken[]
  /** Notices oidc-provider printed or that were dropped by `quiet`. */
  notices: string[]
  issuedOf(kind: IssuedTokenKind): IssuedToken[]
  lastIssued(kind: IssuedTokenKind): IssuedToken | undefined
  /** Registers another redirect URI for the client (takes effect immediately). */
  addRedirectUri(uri: string): void
  /** `false`: Google-like, no refresh token on later sign-ins of an account that already got one. */
  setRefreshTokenOnReturn(value: boolean): void
  setRotateRefreshToken(value: boolean): void
  /** The lifetime, in seconds, of the access tokens issued from now on. */
  setAccessTokenTtl(seconds: number): void
  /** Clears `issued` and `stats` (not the provider's state). */
  resetRecords(): void
  /** GET the userinfo endpoint with a bearer token. */
  userinfo(accessToken: string): Promise<HttpResult<Record<string, unknown>>>
  /** A real refresh_token grant at the token endpoint with the client's credentials. */
  refresh(refreshToken: string, options?: { scope?: string }): Promise<HttpResult<TokenEndpointBody>>
  /** RFC 7662 introspection with the client's credentials. */
  introspect(token: string, tokenTypeHint?: IssuedTokenKind): Promise<HttpResult<IntrospectionBody>>
  /** RFC 7009 revocation with the client's credentials. */
  revoke(token: string, tokenTypeHint?: IssuedTokenKind): Promise<HttpResult<string>>
  /** Revokes a whole grant server-side (like a user removing the app's access): all its tokens stop working. */
  revokeGrant(grantId: string): Promise<void>
  /**
   * Ends one access token server-side, its grant and refresh token left alive (as a provider does that ends a
   * session's tokens, or one whose keys rotated). Its revocation endpoint cannot: given an access token,
   * oidc-provider 9 revokes every token of the grant, refresh tokens included (lib/helpers/revoke.js).
   */
  destroyAccessToken(accessToken: string): Promise<void>
  /**
   * Takes one scope back from a grant server-side (like a user unticking a permission): the grant's later
   * refreshes answer with a narrower `scope` (oidc-provider filters the new access token's scope by its grant).
   */
  rejectGrantScope(grantId: string, scope: string): Promise<void>
  /**
   * An offline grant for `login` made with oidc-provider's own models (Grant, RefreshToken, AccessToken),
   * holding what an authorization_code exchange would store, without the login and consent pages. The
   * provider refreshes, rotates and detects reuse of its refresh token like any other. For seeding many
   * accounts fast (the scale bench); not counted in `stats.authorizationCodeGrants`.
   */
  issueOfflineGrant(login: string): Promise<OfflineGrant>
  stop(): Promise<void>
}

export interface OfflineGrant {
  grantId: string
  accessToken: string
  refreshToken: string
  /** The access token's expiry, epoch seconds. */
  expiresAt: number
  scope: string
}

// ---------------------------------------------------------------------------------------------------------
// Minimal structural view of oidc-provider (it ships no types)
// ---------------------------------------------------------------------------------------------------------

interface OidcToken {
  jti: string
  kind: string
  grantId?: string
  accountId?: string
  gty?: string
  exp?: number
}

interface OidcContext {
  oidc?: { params?: Record<string, unknown> }
}

interface OidcError {
  error?: string
  error_description?: string
  error_detail?: string
  message?: string
}

interface OidcModel {
  save(): Promise<string>
}

interface OidcProviderInstance {
  on(event: string, listener: (...args: never[]) => void): unknown
  callback(): (req: IncomingMessage, res: ServerResponse) => void
  Client: { find(id: string): Promise<unknown> }
  Grant: (new (fields: {
    accountId: string
    clientId: string
  }) => OidcModel & { addOIDCScope(scope: string): void }) & {
    find(id: string): Promise<(OidcModel & { rejectOIDCScope(scope: string): void }) | undefined>
  }
  RefreshToken: new (fields: Record<string, unknown>) => OidcModel
  AccessToken: new (fields: Record<string, unknown>) => OidcModel
}

type OidcProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => OidcProviderInstance

interface StoredEntry {
  payload: Record<string, unknown>
  expiresAt: number | undefined
}

// ---------------------------------------------------------------------------------------------------------
// Module-level caches: the provider module and a signing key are loaded once per module registry.
// ---------------------------------------------------------------------------------------------------------

const RUNTIME_NOTICE = "oidc-provider WARNING: Unsupported runtime"
const DEV_INTERACTIONS_NOTICE = "oidc-provider WARNING: a quick start development-only feature devInteractions"

let providerModule: Promise<OidcProviderConstructor> | undefined
let signingKey: Promise<Record<string, unknown>> | undefined

function withConsoleFilter<T>(quiet: boolean, notices: string[], run: () => T): T {
  const original = { warn: console.warn, info: console.info }
  const filter =
    (forward: (...args: unknown[]) => void) =>
    (...args: unknown[]): void => {
      const text = args.map(String).join(" ")
      if (text.startsWith("oidc-provider ")) notices.push(text)
      if (quiet && (text.startsWith(RUNTIME_NOTICE) || text.startsWith(DEV_INTERACTIONS_NOTICE))) return
      forward(...args)
    }
  console.warn = filter(original.warn)
  console.info = filter(original.info)
  const restore = (): void => {
    console.warn = original.warn
    console.info = original.info
  }
  try {
    const result = run()
    if (result instanceof Promise) {
      return result.finally(restore) as T
    }
    restore()
    return result
  } catch (error) {
    restore()
    throw error
  }
}

function loadProvider(quiet: boolean, notices: string[]): Promise<OidcProviderConstructor> {
  providerModule ??= withConsoleFilter(quiet, notices, async () => {
    // A non-literal specifier: oidc-provider has no type declarations; the shape we use is typed above.
    const specifier: string = "oidc-provider"
    const mod = (await import(specifier)) as { default: OidcProviderConstructor }
    return mod.default
  })
  return providerModule
}

function loadSigningKey(): Promise<Record<string, unknown>> {
  signingKey ??= new Promise((resolve, reject) => {
    generateKeyPair("rsa", { modulusLength: 2048 }, (error, _publicKey, privateKey) => {
      if (error) return reject(error)
      const jwk = privateKey.export({ format: "jwk" }) as Record<string, unknown>
      resolve({ ...jwk, kid: `test-${randomUUID()}`, alg: "RS256", use: "sig" })
    })
  })
  return signingKey
}

function epochSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

function defaultClaims(login: string): AccountClaims {
  return {
    sub: login,
    email: `${login.toLowerCase()}@example.test`,
    email_verified: true,
    name: `Test User ${login}`,
    preferred_username: login,
  }
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

const GRANTABLE = new Set([
  "AccessToken",
  "AuthorizationCode",
  "RefreshToken",
  "DeviceCode",
  "BackchannelAuthenticationRequest",
])

// ---------------------------------------------------------------------------------------------------------
// startOidcProvider
// ---------------------------------------------------------------------------------------------------------

export async function startOidcProvider(options: StartOidcProviderOptions = {}): Promise<TestOidcProvider> {
  const quiet = options.quiet ?? true
  const notices: string[] = []
  const clientId = options.clientId ?? "test-client"
  const clientSecret = options.clientSecret ?? randomBytes(24).toString("base64url")
  const authMethod: TokenEndpointAuthMethod = options.tokenEndpointAuthMethod ?? "client_secret_basic"
  let accessTokenTtl = options.accessTokenTtl ?? 5
  const refreshTokenTtl = options.refreshTokenTtl ?? 24 * 60 * 60
  const issueRefreshTokens = options.issueRefreshTokens ?? true
  let rotate = options.rotateRefreshToken ?? true
  let refreshTokenOnReturn = options.refreshTokenOnReturn ?? true
  const claimsFor = options.claims ?? defaultClaims
  const redirectUris = new Set(options.redirectUris ?? [])
  /** Accounts that already received a refresh token (for the Google-like mode). */
  const accountsWithRefreshToken = new Set<string>()

  const [Provider, jwk] = await Promise.all([loadProvider(quiet, notices), loadSigningKey()])

  // Listen first so the issuer (which must contain the port) is known before the provider is built.
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined = undefined
  const server: Server = createServer((req, res) => {
    if (handler) handler(req, res)
    else res.writeHead(503).end()
  })
  const { port, stop } = await listenOnLoopback(server)
  const issuer = `http://127.0.0.1:${port}`
  const endpoints: OidcProviderEndpoints = {
    discovery: `${issuer}/.well-known/openid-configuration`,
    authorization: `${issuer}/auth`,
    token: `${issuer}/token`,
    userinfo: `${issuer}/me`,
    introspection: `${issuer}/token/introspection`,
    revocation: `${issuer}/token/revocation`,
    jwks: `${issuer}/jwks`,
  }

  // ---- storage (replaces oidc-provider's dev in-memory adapter; also serves the client dynamically) ----
  const store = new Map<string, StoredEntry>()
  const grantMembers = new Map<string, Set<string>>()
  const clientMetadata = (): Record<string, unknown> => ({
    client_id: clientId,
    client_secret: clientSecret,
    // oidc-provider rejects a client without redirect_uris; a placeholder keeps it valid until one is added.
    redirect_uris: redirectUris.size ? [...redirectUris] : [`${issuer}/no-redirect-uri-registered`],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: authMethod,
    scope: "openid email profile offline_access",
  })
  const live = (key: string): StoredEntry | undefined => {
    const entry = store.get(key)
    if (entry?.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      store.delete(key)
      return undefined
    }
    return entry
  }
  const adapterFor = (model: string) => {
    const key = (id: string): string => `${model}:${id}`
    return {
      async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void> {
        const k = key(id)
        store.set(k, { payload, expiresAt: typeof expiresIn === "number" ? Date.now() + expiresIn * 1000 : undefined })
        if (model === "Session" && typeof payload.uid === "string") {
          store.set(`sessionUid:${payload.uid}`, { payload: { id }, expiresAt: undefined })
        }
        const grantId = payload.grantId
        if (GRANTABLE.has(model) && typeof grantId === "string") {
          let members = grantMembers.get(grantId)
          if (!members) grantMembers.set(grantId, (members = new Set()))
          members.add(k)
        }
      },
      async find(id: string): Promise<Record<string, unknown> | undefined> {
        if (model === "Client") return id === clientId ? clientMetadata() : undefined
        return live(key(id))?.payload
      },
      async findByUid(uid: string): Promise<Record<string, unknown> | undefined> {
        const ref = live(`sessionUid:${uid}`)?.payload.id
        return typeof ref === "string" ? live(key(ref))?.payload : undefined
      },
      async findByUserCode(): Promise<undefined> {
        return undefined
      },
      async consume(id: string): Promise<void> {
        const entry = live(key(id))
        if (entry) entry.payload.consumed = epochSeconds()
      },
      async destroy(id: string): Promise<void> {
        store.delete(key(id))
      },
      async revokeByGrantId(grantId: string): Promise<void> {
        const members = grantMembers.get(grantId)
        if (!members) return
        for (const k of [...members]) {
          if (!k.startsWith(`${model}:`)) continue
          store.delete(k)
          members.delete(k)
        }
        if (members.size === 0) grantMembers.delete(grantId)
      },
    }
  }

  // ---- records ----
  const issued: IssuedToken[] = []
  const stats: OidcProviderStats = {
    authorizationCodeGrants: 0,
    refreshGrants: 0,
    refreshErrors: [],
    grantErrors: [],
    refreshTokensConsumed: 0,
    grantsRevoked: 0,
    revokedGrantIds: [],
    serverErrors: [],
  }

  const configuration: Record<string, unknown> = {
    adapter: adapterFor,
    jwks: { keys: [jwk] },
    cookies: {
      keys: [randomBytes(32).toString("base64url")],
      // Cookies ignore ports: suffix the names so several providers on 127.0.0.1 can share one browser.
      names: { session: `_op_session_${port}`, interaction: `_op_interaction_${port}`, resume: `_op_resume_${port}` },
      long: { httpOnly: true, sameSite: "lax" },
      short: { httpOnly: true, sameSite: "lax" },
    },
    clockTolerance: 0,
    claims: {
      openid: ["sub"],
      email: ["email", "email_verified"],
      profile: ["name", "preferred_username"],
    },
    scopes: ["openid", "offline_access"],
    // Put the scope's claims into the ID token too, so Auth.js's profile (built from ID token claims) has
    // email and name without a userinfo call.
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
      revocation: { enabled: true, allowedPolicy: async () => true },
    },
    clientBasedCORS: () => true,
    routes: {
      authorization: "/auth",
      token: "/token",
      userinfo: "/me",
      introspection: "/token/introspection",
      revocation: "/token/revocation",
      jwks: "/jwks",
    },
    ttl: {
      AccessToken: () => accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: 60 * 60,
      RefreshToken: () => refreshTokenTtl,
      Interaction: 10 * 60,
      Session: 60 * 60,
      Grant: 24 * 60 * 60,
    },
    rotateRefreshToken: () => rotate,
    issueRefreshToken: async (
      _ctx: unknown,
      client: { grantTypeAllowed(type: string): boolean },
      source: { scopes: Set<string>; accountId?: string },
    ): Promise<boolean> => {
      if (!issueRefreshTokens) return false
      if (!client.grantTypeAllowed("refresh_token") || !source.scopes.has("offline_access")) return false
      const account = source.accountId ?? ""
      if (!refreshTokenOnReturn && accountsWithRefreshToken.has(account)) return false
      accountsWithRefreshToken.add(account)
      return true
    },
    findAccount: async (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: async () => ({ ...claimsFor(sub), sub }),
    }),
    renderError: async (ctx: { type: string; body: string }, out: { error?: string; error_description?: string }) => {
      ctx.type = "html"
      ctx.body =
        `<!DOCTYPE html><html><head><title>oidc-provider error</title></head><body>` +
        `<h1>oidc-provider error</h1><p id="error">${escapeHtml(out.error ?? "")}</p>` +
        `<p id="error_description">${escapeHtml(out.error_description ?? "")}</p></body></html>`
    },
  }

  const provider = withConsoleFilter(quiet, notices, () => new Provider(issuer, configuration))

  const recordToken = (kind: IssuedTokenKind) => (token: OidcToken) => {
    const storedExp = store.get(`${token.kind}:${token.jti}`)?.payload.exp
    issued.push({
      kind,
      value: token.jti,
      grantId: token.grantId,
      accountId: token.accountId,
      gty: token.gty,
      issuedAt: Date.now(),
      expiresAt: token.exp ?? (typeof storedExp === "number" ? storedExp : undefined),
    })
  }
  // Opaque tokens (the default format) emit `.saved`; JWT-format tokens would emit `.issued`.
  provider.on("access_token.saved", recordToken("access_token"))
  provider.on("access_token.issued", recordToken("access_token"))
  provider.on("refresh_token.saved", recordToken("refresh_token"))
  provider.on("refresh_token.consumed", () => {
    stats.refreshTokensConsumed++
  })
  provider.on("grant.success", (ctx: OidcContext) => {
    const grantType = ctx.oidc?.params?.grant_type
    if (grantType === "authorization_code") stats.authorizationCodeGrants++
    else if (grantType === "refresh_token") stats.refreshGrants++
  })
  provider.on("grant.error", (ctx: OidcContext, error: OidcError) => {
    const grantType = ctx.oidc?.params?.grant_type
    const record: GrantErrorRecord = {
      grantType: typeof grantType === "string" ? grantType : undefined,
      error: error.error ?? error.message ?? "unknown",
      description: error.error_description,
      detail: error.error_detail,
      at: Date.now(),
    }
    stats.grantErrors.push(record)
    if (record.grantType === "refresh_token") stats.refreshErrors.push(record)
  })
  provider.on("grant.revoked", (_ctx: unknown, grantId: string) => {
    stats.grantsRevoked++
    stats.revokedGrantIds.push(grantId)
  })
  provider.on("server_error", (_ctx: unknown, error: Error) => {
    stats.serverErrors.push(error.stack ?? String(error))
  })

  handler = provider.callback()

  const clientAuth = (body: URLSearchParams): Record<string, string> => {
    if (authMethod === "client_secret_post") {
      body.set("client_id", clientId)
      body.set("client_secret", clientSecret)
      return {}
    }
    const encode = (value: string): string => encodeURIComponent(value).replace(/%20/g, "+")
    return { authorization: `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString("base64")}` }
  }
  const postForm = async <T>(url: string, params: Record<string, string>): Promise<HttpResult<T>> => {
    const body = new URLSearchParams(params)
    const headers = {
      "content-type": "application/x-www-form-urlencoded",
      accept: "application/json",
      ...clientAuth(body),
    }
    const response = await fetch(url, { method: "POST", headers, body })
    const text = await response.text()
    return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : "") as T }
  }

  return {
    issuer,
    port,
    clientId,
    clientSecret,
    tokenEndpointAuthMethod: authMethod,
    endpoints,
    stats,
    issued,
    notices,
    issuedOf: (kind) => issued.filter((token) => token.kind === kind),
    lastIssued: (kind) => issued.filter((token) => token.kind === kind).at(-1),
    addRedirectUri(uri) {
      redirectUris.add(uri)
    },
    setRefreshTokenOnReturn(value) {
      refreshTokenOnReturn = value
    },
    setRotateRefreshToken(value) {
      rotate = value
    },
    setAccessTokenTtl(seconds) {
      accessTokenTtl = seconds
    },
    resetRecords() {
      issued.length = 0
      stats.authorizationCodeGrants = 0
      stats.refreshGrants = 0
      stats.refreshErrors.length = 0
      stats.grantErrors.length = 0
      stats.refreshTokensConsumed = 0
      stats.grantsRevoked = 0
      stats.revokedGrantIds.length = 0
      stats.serverErrors.length = 0
    },
    async userinfo(accessToken) {
      const response = await fetch(endpoints.userinfo, {
        headers: { authorization: `Bearer ${accessToken}`, accept: "application/json" },
      })
      const text = await response.text()
      let body: Record<string, unknown> = {}
      if (text) {
        try {
          body = JSON.parse(text) as Record<string, unknown>
        } catch {
          body = { raw: text }
        }
      }
      return { status: response.status, headers: response.headers, body }
    },
    refresh(refreshToken, refreshOptions = {}) {
      const params: Record<string, string> = { grant_type: "refresh_token", refresh_token: refreshToken }
      if (refreshOptions.scope) params.scope = refreshOptions.scope
      return postForm<TokenEndpointBody>(endpoints.token, params)
    },
    introspect(token, tokenTypeHint) {
      return postForm<IntrospectionBody>(endpoints.introspection, {
        token,
        ...(tokenTypeHint ? { token_type_hint: tokenTypeHint } : {}),
      })
    },
    revoke(token, tokenTypeHint) {
      return postForm<string>(endpoints.revocation, {
        token,
        ...(tokenTypeHint ? { token_type_hint: tokenTypeHint } : {}),
      })
    },
    async revokeGrant(grantId) {
      for (const model of GRANTABLE) await adapterFor(model).revokeByGrantId(grantId)
      await adapterFor("Grant").destroy(grantId)
      stats.grantsRevoked++
      stats.revokedGrantIds.push(grantId)
    },
    async destroyAccessToken(accessToken) {
      // Opaque access tokens are stored under their value (the jti).
      await adapterFor("AccessToken").destroy(accessToken)
    },
    async rejectGrantScope(grantId, scope) {
      const grant = await provider.Grant.find(grantId)
      if (!grant) throw new Error(`rejectGrantScope: no grant ${grantId}`)
      grant.rejectOIDCScope(scope)
      await grant.save()
    },
    async issueOfflineGrant(login) {
      const client = await provider.Client.find(clientId)
      if (!client) throw new Error("issueOfflineGrant: the client is not registered")
      const scope = "openid email profile offline_access"
      const grant = new provider.Grant({ accountId: login, clientId })
      grant.addOIDCScope(scope)
      const grantId = await grant.save()
      // The fields issueTokens (oidc-provider's lib/helpers/grant_common.js) gives the tokens of a code exchange.
      const common = { accountId: login, client, grantId, gty: "authorization_code", scope, expiresWithSession: false }
      const refreshToken = await new provider.RefreshToken({ ...common, authTime: epochSeconds(), rotations: 0 }).save()
      const accessToken = await new provider.AccessToken(common).save()
      return { grantId, accessToken, refreshToken, expiresAt: epochSeconds() + accessTokenTtl, scope }
    },
    stop,
  }
}
