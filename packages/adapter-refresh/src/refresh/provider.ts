/**
 * The OAuth side of a refresh: reads Auth.js provider objects, discovers (and caches) the authorization
 * server's metadata, and runs ONE refresh_token grant through oauth4webapi. Every failure comes out as a
 * classified `GrantFailure`, never as an oauth4webapi error: those carry the response body (tokens
 * included) in `cause`, so they must not travel to callers or logs.
 */
import * as oauth from "oauth4webapi"
import { RefreshNotConfiguredError } from "../errors.js"
import {
  DiscoveryDocumentError,
  checkedMetadata,
  discoverFromWellKnown,
  isIssuerTemplate,
  isLoopbackUrl,
} from "./discovery.js"
import { MAX_DISCOVERY_BODY_BYTES, MAX_TOKEN_BODY_BYTES, boundedCopy, readBoundedText } from "./bounded-body.js"
import { boundedFetch, receivedText } from "./token-transport.js"

/** The refresh grant's transport: undici's request API, its bodies read within the token bound. */
const sendTokenRequest = boundedFetch(MAX_TOKEN_BODY_BYTES)

/**
 * The provider objects the app gives Auth.js, as far as refresh needs them. Built-in provider functions
 * (`Google({ clientId, clientSecret })`) return their defaults with the user's settings in `options`; Auth.js
 * merges `options` over the defaults, and so do we.
 */
export interface RefreshProviderConfig {
  id: string
  type?: string
  /** OIDC / OAuth issuer; used for discovery when no explicit token endpoint is given. */
  issuer?: string
  clientId?: string
  clientSecret?: string
  /**
   * next-auth 4: the discovery document's full URL (GoogleProvider, AzureADProvider, generic OAuth configs
   * carry it instead of an issuer). Used when there is neither a token endpoint nor an issuer.
   */
  wellKnown?: string
  /** next-auth 4 OAuth 1.0a providers say `version: "1.0A"`: they have no refresh tokens. */
  version?: string
  /**
   * Explicit token endpoint (Auth.js OAuth providers): a URL string or `{ url }`. A v4 `token.request`
   * function customises the sign-in's code exchange only; the refresh grant goes to `token.url`.
   */
  token?: string | { url?: string | URL; request?: unknown } | URL
  /** Auth.js's client metadata; `token_endpoint_auth_method` decides how the client authenticates. */
  client?: { token_endpoint_auth_method?: string; id_token_signed_response_alg?: string }
  /** User settings of a built-in provider, merged over the fields above like Auth.js does. */
  options?: Partial<Omit<RefreshProviderConfig, "options">>
}

/** A provider, normalised: where and how to send its refresh grant. */
export interface ResolvedProvider {
  id: string
  issuer: string | undefined
  tokenEndpoint: string | undefined
  /** The wellKnown URL to discover from, when there is neither a token endpoint nor an issuer. */
  discoveryUrl: string | undefined
  clientId: string
  clientSecret: string | undefined
  authMethod: "client_secret_basic" | "client_secret_post" | "none"
  idTokenAlg: string | undefined
  /** Plain http is allowed only for loopback hosts, or when the app says so explicitly. */
  allowInsecure: boolean
  /** The app's explicit `allowInsecureRequests` (plain http to any host). */
  allowInsecureRequests: boolean
}

function urlOf(value: RefreshProviderConfig["token"]): string | undefined {
  if (value === undefined) return undefined
  if (typeof value === "string") return value
  if (value instanceof URL) return value.href
  const url = value.url
  return url === undefined ? undefined : String(url)
}

function isLoopback(url: string | undefined): boolean {
  if (!url) return false
  try {
    return isLoopbackUrl(new URL(url))
  } catch {
    return false
  }
}

export function resolveProvider(input: RefreshProviderConfig, allowInsecureRequests: boolean): ResolvedProvider {
  const merged: RefreshProviderConfig = {
    ...input,
    ...(input.options ?? {}),
    client: { ...input.client, ...input.options?.client },
  }
  if (typeof merged.id !== "string" || merged.id === "") {
    throw new RefreshNotConfiguredError("(unnamed)", "a provider in refresh.providers has no id")
  }
  if (typeof merged.clientId !== "string" || merged.clientId === "") {
    throw new RefreshNotConfiguredError(merged.id, "the provider has no clientId")
  }
  if (merged.type !== undefined && merged.type !== "oauth" && merged.type !== "oidc") {
    throw new RefreshNotConfiguredError(
      merged.id,
      `it is a "${merged.type}" provider: only OAuth and OIDC providers have tokens to refresh`,
    )
  }
  if (typeof merged.version === "string" && merged.version.startsWith("1.")) {
    throw new RefreshNotConfiguredError(
      merged.id,
      `it is an OAuth ${merged.version} provider, which has no refresh tokens (for Twitter, use version: "2.0")`,
    )
  }
  const tokenEndpoint = urlOf(merged.token)
  const discoveryUrl = !tokenEndpoint && !merged.issuer ? merged.wellKnown : undefined
  if (!tokenEndpoint && !merged.issuer && !discoveryUrl) {
    const custom =
      typeof merged.token === "object" && !(merged.token instanceof URL) && typeof merged.token.request === "function"
    throw new RefreshNotConfiguredError(
      merged.id,
      `the provider names no token endpoint to refresh ` +
        `at${custom ? " (its token.request function has no URL)" : ""}: add token (the token ` +
        `endpoint URL), issuer (for OpenID discovery) or wellKnown (the discovery document URL)`,
    )
  }
  for (const [field, url] of [
    ["token", tokenEndpoint],
    ["issuer", merged.issuer],
    ["wellKnown", discoveryUrl],
  ] as const) {
    if (url !== undefined && !URL.canParse(url)) {
      const hint =
        field === "wellKnown" ? " (built-in next-auth 4 providers derive it from the issuer option: pass issuer)" : ""
      throw new RefreshNotConfiguredError(merged.id, `its ${field} is not an absolute URL${hint}`)
    }
  }
  if (discoveryUrl?.startsWith("http:") && !isLoopback(discoveryUrl) && !allowInsecureRequests) {
    throw new RefreshNotConfiguredError(
      merged.id,
      "its wellKnown URL is plain http: use https (http is accepted for loopback hosts only)",
    )
  }
  const method = merged.client?.token_endpoint_auth_method ?? "client_secret_basic"
  if (method !== "client_secret_basic" && method !== "client_secret_post" && method !== "none") {
    throw new RefreshNotConfiguredError(
      merged.id,
      `token_endpoint_auth_method "${method}" is not supported for refresh`,
    )
  }
  if (method !== "none" && !merged.clientSecret) {
    throw new RefreshNotConfiguredError(merged.id, `the provider has no clientSecret (needed for ${method})`)
  }
  const urls = [merged.issuer, tokenEndpoint, discoveryUrl]
  const insecure = urls.some((url) => url?.startsWith("http:"))
  return {
    id: merged.id,
    issuer: merged.issuer,
    tokenEndpoint,
    discoveryUrl,
    clientId: merged.clientId,
    clientSecret: merged.clientSecret,
    authMethod: method,
    idTokenAlg: merged.client?.id_token_signed_response_alg,
    allowInsecureRequests,
    allowInsecure: allowInsecureRequests || (insecure && urls.every((url) => !url || isLoopback(url))),
  }
}

/** Why a grant failed. `retrySafe`: the request certainly did not consume the refresh token. */
export type GrantFailure =
  | { kind: "invalid_grant" }
  | { kind: "oauth_error"; oauthError: string; status: number; retrySafe: boolean }
  | { kind: "http_status"; status: number; retrySafe: boolean; detail?: string }
  | { kind: "timeout"; retrySafe: false }
  | { kind: "network"; retrySafe: boolean; detail: string }
  | { kind: "malformed_response"; detail: string }
  | { kind: "discovery"; detail: string }

/**
 * A 200 answer whose JSON body is an object: the provider has issued (and, rotating, already consumed the
 * old refresh token). `body` is the raw object, to be read tolerantly (token-response.ts); `idTokenValid`
 * says whether oauth4webapi's processing (id_token claims included) accepted it as a whole.
 */
export interface IssuedResponse {
  body: Record<string, unknown>
  idTokenValid: boolean
}

export type GrantResult = { ok: true; issued: IssuedResponse } | { ok: false; failure: GrantFailure }

/**
 * RFC 6749 §5.2: `error` is 1*NQSCHAR (printable ASCII without `"` and `\`). A code outside it, or longer
 * than 64 characters, is not kept: it would end up in an error message. `error_description` never is.
 */
const OAUTH_ERROR_CODE = /^[\x20-\x21\x23-\x5B\x5D-\x7E]{1,64}$/
export function safeOAuthErrorCode(value: unknown): string | undefined {
  return typeof value === "string" && OAUTH_ERROR_CODE.test(value) ? value : undefined
}

/** Node's codes for a connection that was never established: nothing reached the server. */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH"])

function networkCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === "string" && /^E[A-Z_]+$/.test(code)) return code
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

export function isTimeout(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name
  return name === "TimeoutError" || name === "AbortError"
}

/**
 * Classifies a thrown error of the grant request or its processing. Only facts that are safe to log
 * are kept (status, OAuth error code, Node error code, oauth4webapi error code), never a body.
 */
export function classify(error: unknown): GrantFailure {
  if (error instanceof oauth.ResponseBodyError) {
    const oauthError = safeOAuthErrorCode(error.error)
    if (oauthError === "invalid_grant") return { kind: "invalid_grant" }
    const retrySafe = error.status === 429 || error.status === 503
    // 429/503 are answered before the grant is processed; anything else may have consumed the token.
    if (oauthError === undefined) return { kind: "http_status", status: error.status, retrySafe }
    return { kind: "oauth_error", oauthError, status: error.status, retrySafe }
  }
  if (isTimeout(error)) return { kind: "timeout", retrySafe: false }
  if (error instanceof oauth.OperationProcessingError) {
    const cause = (error as { cause?: unknown }).cause
    if (cause instanceof Response) {
      const status = cause.status
      return { kind: "http_status", status, retrySafe: status === 429 || status === 503 }
    }
    return { kind: "malformed_response", detail: error.code ?? "OperationProcessingError" }
  }
  if (error instanceof oauth.UnsupportedOperationError)
    return { kind: "malformed_response", detail: "unsupported token_type" }
  const code = networkCode(error)
  if (code) return { kind: "network", retrySafe: NOT_SENT_CODES.has(code), detail: code }
  if (error instanceof TypeError) return { kind: "network", retrySafe: false, detail: "fetch failed" }
  return { kind: "malformed_response", detail: error instanceof Error ? error.name : typeof error }
}

/** https anywhere; plain http only on a loopback host, unless the app allowed insecure requests. */
export function endpointAllowed(url: unknown, allowInsecureRequests: boolean): boolean {
  if (typeof url !== "string") return false
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return false
  }
  if (parsed.protocol === "https:") return true
  return parsed.protocol === "http:" && (allowInsecureRequests || isLoopback(url))
}

/**
 * Asked when a refresh request reaches its bound unanswered: how many more ms to wait for the answer (0: abort
 * now). Called again each time that wait runs out. It bounds its own decision (lease mode: within the lease
 * it holds, lease-flight.ts); a rejection aborts the request.
 */
export type LateAnswer = () => Promise<number>

/** An abort signal for one request: fires at `timeoutMs`, unless `lateAnswer` grants more, again and again. */
function requestBound(timeoutMs: number, lateAnswer: LateAnswer | undefined): { signal: AbortSignal; done(): void } {
  if (!lateAnswer) return { signal: AbortSignal.timeout(timeoutMs), done: () => undefined }
  const controller = new AbortController()
  let finished = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const abort = (): void => {
    if (!finished) controller.abort(new DOMException("the refresh request timed out", "TimeoutError"))
  }
  const expire = (): void => {
    if (finished) return
    void lateAnswer()
      .catch(() => 0)
      .then((moreMs) => {
        if (finished) return
        if (moreMs > 0) timer = setTimeout(expire, moreMs)
        else abort()
      })
  }
  timer = setTimeout(expire, timeoutMs)
  return {
    signal: controller.signal,
    done() {
      finished = true
      clearTimeout(timer)
    },
  }
}

/** Runs refresh grants for one provider; discovery happens once and is cached (a failed one is retried later). */
export class ProviderClient {
  readonly provider: ResolvedProvider
  private metadata: Promise<oauth.AuthorizationServer> | undefined

  constructor(provider: ResolvedProvider) {
    this.provider = provider
  }

  private httpOptions(timeoutMs: number): oauth.HttpRequestOptions<"GET"> & oauth.TokenEndpointRequestOptions {
    return { signal: AbortSignal.timeout(timeoutMs), ...this.insecureOption() }
  }

  private insecureOption(): { [oauth.allowInsecureRequests]?: true } {
    return this.provider.allowInsecure ? { [oauth.allowInsecureRequests]: true } : {}
  }

  /**
   * The authorization server: built from an explicit token endpoint, or discovered from the issuer or the wellKnown
   * URL.
   */
  authorizationServer(timeoutMs: number): Promise<oauth.AuthorizationServer> {
    const { issuer, tokenEndpoint } = this.provider
    if (tokenEndpoint) {
      return Promise.resolve({ issuer: issuer ?? new URL(tokenEndpoint).origin, token_endpoint: tokenEndpoint })
    }
    return this.discover(timeoutMs)
  }

  /** Whether the provider names an issuer or a wellKnown URL to discover its metadata from. */
  get discoverable(): boolean {
    return this.provider.issuer !== undefined || this.provider.discoveryUrl !== undefined
  }

  /** The discovered metadata (from the wellKnown URL, else the issuer), fetched once; a failure is retried later. */
  discover(timeoutMs: number): Promise<oauth.AuthorizationServer> {
    const { issuer, discoveryUrl } = this.provider
    this.metadata ??= (async () => {
      if (discoveryUrl) {
        return discoverFromWellKnown(discoveryUrl, {
          signal: AbortSignal.timeout(timeoutMs),
          allowInsecure: this.provider.allowInsecure,
        })
      }
      const issuerUrl = new URL(issuer!)
      const sent = await oauth.discoveryRequest(issuerUrl, { ...this.httpOptions(timeoutMs), algorithm: "oidc" })
      // oauth4webapi reads a body whole: it gets a copy read within the bound.
      const response = await boundedCopy(sent, MAX_DISCOVERY_BODY_BYTES)
      if (!response) throw new DiscoveryDocumentError(`the document is larger than ${MAX_DISCOVERY_BODY_BYTES} bytes`)
      let metadata: oauth.AuthorizationServer
      try {
        metadata = await oauth.processDiscoveryResponse(issuerUrl, response)
      } catch (error) {
        // Microsoft's multi-tenant document (issuer ".../common/v2.0", the default of next-auth 5's
        // MicrosoftEntraID) names a "{tenantid}" template as its issuer: accepted when it matches the issuer.
        const body =
          error instanceof oauth.OperationProcessingError
            ? (error.cause as { attribute?: unknown; body?: unknown } | undefined)
            : undefined
        const claimed = body?.attribute === "issuer" ? (body.body as Record<string, unknown> | undefined) : undefined
        if (claimed && typeof claimed.issuer === "string" && isIssuerTemplate(claimed.issuer)) {
          return checkedMetadata(claimed, issuer!, this.provider.allowInsecure)
        }
        throw error
      }
      // A discovered endpoint passes the rule a configured one does: https, or plain http on loopback only.
      if (!endpointAllowed(metadata.token_endpoint, this.provider.allowInsecureRequests)) {
        throw new DiscoveryDocumentError("token_endpoint is not https (plain http is allowed on loopback only)")
      }
      return metadata
    })()
    // A failed discovery must not be cached forever.
    this.metadata.catch(() => (this.metadata = undefined))
    return this.metadata
  }

  clientAuth(): oauth.ClientAuth {
    const { authMethod, clientSecret } = this.provider
    if (authMethod === "none") return oauth.None()
    if (authMethod === "client_secret_post") return oauth.ClientSecretPost(clientSecret!)
    return oauth.ClientSecretBasic(clientSecret!)
  }

  /**
   * One refresh request, bounded by `timeoutMs`. With `lateAnswer`, a request still unanswered at its bound is
   * not abandoned at once: `lateAnswer` is asked how much longer to wait (lease mode renews its lease there) and
   * the request is aborted only when it says 0. An answer the provider may already have issued is worth waiting
   * for: abandoned, its rotated refresh token is lost with it. Never throws.
   */
  async refresh(refreshToken: string, timeoutMs: number, lateAnswer?: LateAnswer): Promise<GrantResult> {
    let as: oauth.AuthorizationServer
    try {
      as = await this.authorizationServer(timeoutMs)
    } catch (error) {
      if (error instanceof DiscoveryDocumentError)
        return { ok: false, failure: { kind: "discovery", detail: error.detail } }
      const failure = classify(error)
      return {
        ok: false,
        failure: { kind: "discovery", detail: failure.kind === "network" ? failure.detail : failure.kind },
      }
    }
    const client: oauth.Client = {
      client_id: this.provider.clientId,
      ...(this.provider.idTokenAlg ? { id_token_signed_response_alg: this.provider.idTokenAlg } : {}),
    }
    let response: Response
    const bound = requestBound(timeoutMs, lateAnswer)
    try {
      response = await oauth.refreshTokenGrantRequest(as, client, this.clientAuth(), refreshToken, {
        ...this.insecureOption(),
        signal: bound.signal,
        [oauth.customFetch]: sendTokenRequest,
      })
      // Not 200: oauth4webapi reads the OAuth error (or throws on the status); classify() keeps only safe facts.
      if (response.status !== 200) {
        const status = response.status
        // oauth4webapi reads an error body whole: it gets a copy read within the bound.
        const copy = await boundedCopy(response, MAX_TOKEN_BODY_BYTES)
        if (!copy) {
          const detail = `error body larger than ${MAX_TOKEN_BODY_BYTES} bytes, not read`
          return {
            ok: false,
            failure: { kind: "http_status", status, retrySafe: status === 429 || status === 503, detail },
          }
        }
        await oauth.processRefreshTokenResponse(as, client, copy)
        return { ok: false, failure: { kind: "http_status", status, retrySafe: false } }
      }
    } catch (error) {
      bound.done()
      return { ok: false, failure: classify(error) }
    }
    try {
      return await this.readIssued(as, client, response)
    } finally {
      bound.done()
    }
  }

  /**
   * A 200 answer. From here on a rotating provider has consumed the old refresh token, so the body is read
   * by our tolerant rules rather than refused as a whole on one odd field: oauth4webapi's processing runs on
   * a copy only to validate the id_token (its claims), and when it refuses, the id_token is what is dropped.
   */
  private async readIssued(
    as: oauth.AuthorizationServer,
    client: oauth.Client,
    response: Response,
  ): Promise<GrantResult> {
    let text: string | undefined
    try {
      text = receivedText(response) ?? (await readBoundedText(response, MAX_TOKEN_BODY_BYTES))
    } catch (error) {
      // The body was cut off (timeout, reset): what the provider issued never arrived.
      return {
        ok: false,
        failure: isTimeout(error)
          ? { kind: "timeout", retrySafe: false }
          : { kind: "malformed_response", detail: "body not received" },
      }
    }
    if (text === undefined)
      return {
        ok: false,
        failure: { kind: "malformed_response", detail: `body larger than ${MAX_TOKEN_BODY_BYTES} bytes` },
      }
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      return { ok: false, failure: { kind: "malformed_response", detail: "body is not JSON" } }
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return { ok: false, failure: { kind: "malformed_response", detail: "body is not a JSON object" } }
    }
    let idTokenValid = false
    const idToken = (body as { id_token?: unknown }).id_token
    // A multi-tenant issuer template ("{tenantid}") cannot be compared with an ID token's `iss`, which names
    // the user's tenant: the refreshed ID token is left out (the merge keeps the stored one), never accepted unchecked.
    if (typeof idToken === "string" && !isIssuerTemplate(as.issuer)) {
      try {
        // Only the id_token is judged here: the other fields of the copy are placeholders.
        const copy = new Response(JSON.stringify({ access_token: "-", token_type: "bearer", id_token: idToken }), {
          status: 200,
          headers: { "content-type": "application/json" },
        })
        await oauth.processRefreshTokenResponse(as, client, copy)
        idTokenValid = true
      } catch {
        idTokenValid = false
      }
    }
    return { ok: true, issued: { body: body as Record<string, unknown>, idTokenValid } }
  }
}
