/**
 * Serves the real `Auth(request, config)` from `@auth/core` on a node http server (127.0.0.1, free port,
 * basePath `/auth`) with a generic OIDC provider, and drives sign-ins like a user would.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"

import { Auth, type AuthConfig } from "@auth/core"
import type { Adapter } from "@auth/core/adapters"
import { AuthError } from "@auth/core/errors"
import type { OIDCConfig } from "@auth/core/providers"
import type { Account, Profile, Session, User } from "@auth/core/types"

import { listenOnLoopback } from "./loopback-server.js"
import { describeHop, findForm, type Browser, type BrowserResponse, type Hop } from "./browser.js"

export interface OidcClientSettings {
  issuer: string
  clientId: string
  clientSecret: string
  tokenEndpointAuthMethod?: "client_secret_basic" | "client_secret_post"
  /** When present (a `TestOidcProvider` has it), the app registers its callback URL with the provider. */
  addRedirectUri?: (uri: string) => void
}

export interface StartAuthAppOptions {
  provider: OidcClientSettings
  /** Default `"local-oidc"`. */
  providerId?: string
  session: "database" | "jwt"
  adapter?: Adapter
  events?: AuthConfig["events"]
  callbacks?: AuthConfig["callbacks"]
  /** Overrides merged into the generated OIDC provider config (e.g. `checks`, `authorization`, `account`). */
  providerOverrides?: Partial<OIDCConfig<Profile>>
  /** More providers (OIDC providers added here get their callback URL registered too, see `extraOidcProviders`). */
  extraProviders?: AuthConfig["providers"]
  /** Extra generic OIDC providers, each `{ id, ...client settings }`. */
  extraOidcProviders?: Array<OidcClientSettings & { id: string }>
  /** Default: a fixed test secret. */
  secret?: string
  /** Auth.js debug logging (goes to `app.debugLog`). Default false. */
  debug?: boolean
  /** Last word on the config before it is used. */
  configure?: (config: AuthConfig) => AuthConfig | void
  /** Print Auth.js errors to the console as they happen (they are always collected). Default false. */
  printErrors?: boolean
}

export interface SignInEventRecord {
  user: User
  account: Account | null | undefined
  profile: Profile | undefined
  isNewUser: boolean | undefined
}

export interface SignInOptions {
  /** Login name typed into the provider's login form (becomes the account's `sub`). */
  login: string
  providerId?: string
  /** Where Auth.js sends the browser after sign-in. Default `<app>/`. */
  callbackUrl?: string
  /** Extra authorization request parameters (Auth.js forwards the sign-in URL's query to the provider). */
  authorizationParams?: Record<string, string>
  /** Send `prompt=login consent`, so the provider asks for the login even with a provider session. */
  forceLogin?: boolean
}

export interface SignInResult {
  /** A session cookie was set and no error showed up. */
  ok: boolean
  status: number
  finalUrl: string
  sessionCookieSet: boolean
  /** Auth.js error code (`?error=` on an Auth.js page), e.g. `OAuthCallbackError`, `Configuration`. */
  error: string | undefined
  /** HTML of the page the browser ended on, when there was an error. */
  errorPage: string | undefined
  /** Error the provider reported (its error page, or `error` on the redirect back to the callback). */
  providerError: { error: string; description: string | undefined } | undefined
  loginFormShown: boolean
  consentFormShown: boolean
  /** Every HTTP exchange of the flow, in order. */
  hops: Hop[]
  /** Auth.js errors logged during this sign-in (described). */
  authErrors: string[]
  /** Human-readable trace, for assertion messages. */
  trace: string
}

export interface SignOutResult {
  status: number
  finalUrl: string
  hops: Hop[]
}

export interface AuthApp {
  /** `http://127.0.0.1:<port>` */
  url: string
  port: number
  basePath: string
  providerId: string
  /** The config passed to `Auth` (mutations affect the next requests). */
  config: AuthConfig
  callbackUrl(providerId?: string): string
  signIn(browser: Browser, options: SignInOptions): Promise<SignInResult>
  signOut(browser: Browser): Promise<SignOutResult>
  getSession(browser: Browser): Promise<Session | null>
  csrfToken(browser: Browser): Promise<string>
  /** Errors Auth.js logged (through `logger.error`) or that escaped the request handler. */
  errors: Error[]
  /** `errors`, each with its cause, as text. */
  errorMessages(): string[]
  /** Warning codes Auth.js logged. */
  warnings: string[]
  /** Debug log lines (only with `debug: true`). */
  debugLog: Array<{ message: string; metadata: unknown }>
  /** Every `events.signIn` Auth.js emitted (the raw account: the token response), in order. */
  signIns: SignInEventRecord[]
  stop(): Promise<void>
}

export const TEST_AUTH_SECRET = "authjs-adapter-refresh-tests-secret-0123456789abcdef"
const SESSION_COOKIE = /^(?:__Secure-)?authjs\.session-token(?:\.\d+)?=([^;]*)/

export function describeError(error: Error): string {
  const name = error instanceof AuthError ? error.type : error.name
  let text = `${name}: ${error.message}`
  const cause = (error as { cause?: unknown }).cause
  if (cause && typeof cause === "object") {
    const { err, ...details } = cause as { err?: unknown; [key: string]: unknown }
    // The whole chain: Drizzle, for one, wraps the driver's error in its own (DrizzleQueryError.cause).
    for (
      let next: unknown = err instanceof Error ? err : cause, depth = 0;
      next instanceof Error && depth < 5;
      next = next.cause, depth++
    ) {
      text += `\n  caused by ${next.stack ?? String(next)}`
    }
    if (Object.keys(details).length && !(cause instanceof Error)) text += `\n  details: ${JSON.stringify(details)}`
  }
  return text
}

function toWebRequest(req: IncomingMessage, body: Buffer | undefined, origin: string): Request {
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue
    if (Array.isArray(value)) for (const item of value) headers.append(name, item)
    else headers.set(name, value)
  }
  return new Request(new URL(req.url ?? "/", origin), {
    method: req.method ?? "GET",
    headers,
    body: body && body.length ? new Uint8Array(body) : undefined,
  })
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  if (req.method === "GET" || req.method === "HEAD") return undefined
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

async function sendWebResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") res.setHeader(name, value)
  })
  const cookies = response.headers.getSetCookie()
  if (cookies.length) res.setHeader("set-cookie", cookies)
  res.end(Buffer.from(await response.arrayBuffer()))
}

function oidcProvider(
  id: string,
  settings: OidcClientSettings,
  overrides?: Partial<OIDCConfig<Profile>>,
): OIDCConfig<Profile> {
  const base: OIDCConfig<Profile> = {
    id,
    name: id,
    type: "oidc",
    issuer: settings.issuer,
    clientId: settings.clientId,
    clientSecret: settings.clientSecret,
    authorization: { params: { scope: "openid email profile offline_access", prompt: "consent" } },
    ...(settings.tokenEndpointAuthMethod
      ? { client: { token_endpoint_auth_method: settings.tokenEndpointAuthMethod } }
      : {}),
  }
  return { ...base, ...overrides }
}

export async function startAuthApp(options: StartAuthAppOptions): Promise<AuthApp> {
  const providerId = options.providerId ?? "local-oidc"
  const basePath = "/auth"
  const errors: Error[] = []
  const warnings: string[] = []
  const debugLog: Array<{ message: string; metadata: unknown }> = []
  const signIns: SignInEventRecord[] = []
  const userEvents = options.events ?? {}

  const recordError = (error: Error): void => {
    errors.push(error)
    if (options.printErrors) console.error(`[auth-app] ${describeError(error)}`)
  }

  let config: AuthConfig = {
    basePath,
    trustHost: true,
    secret: options.secret ?? TEST_AUTH_SECRET,
    debug: options.debug ?? false,
    session: { strategy: options.session },
    ...(options.adapter ? { adapter: options.adapter } : {}),
    providers: [
      oidcProvider(providerId, options.provider, options.providerOverrides),
      ...(options.extraOidcProviders ?? []).map((extra) => oidcProvider(extra.id, extra)),
      ...(options.extraProviders ?? []),
    ],
    ...(options.callbacks ? { callbacks: options.callbacks } : {}),
    events: {
      ...userEvents,
      async signIn(message) {
        signIns.push({
          user: message.user,
          account: message.account,
          profile: message.profile,
          isNewUser: message.isNewUser,
        })
        await userEvents.signIn?.(message)
      },
    },
    logger: {
      error: recordError,
      warn: (code) => {
        warnings.push(code)
      },
      debug: (message, metadata) => {
        debugLog.push({ message, metadata })
      },
    },
  }
  config = options.configure?.(config) ?? config

  let origin = "http://127.0.0.1"
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", origin)
    if (url.pathname === basePath || url.pathname.startsWith(`${basePath}/`)) {
      const request = toWebRequest(req, await readBody(req), origin)
      await sendWebResponse(res, await Auth(request, config))
      return
    }
    if (url.pathname === "/") {
      res
        .writeHead(200, { "content-type": "text/html; charset=utf-8" })
        .end("<!DOCTYPE html><title>home</title><h1>home</h1>")
      return
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found")
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      recordError(error instanceof Error ? error : new Error(String(error)))
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" })
      res.end("internal error")
    })
  })
  const { port, stop } = await listenOnLoopback(server)
  origin = `http://127.0.0.1:${port}`
  const callbackUrl = (id: string = providerId): string => `${origin}${basePath}/callback/${id}`
  options.provider.addRedirectUri?.(callbackUrl(providerId))
  for (const extra of options.extraOidcProviders ?? []) extra.addRedirectUri?.(callbackUrl(extra.id))

  const csrfToken = async (browser: Browser): Promise<string> => {
    const response = await browser.get(`${origin}${basePath}/csrf`)
    if (response.status !== 200) throw new Error(`GET ${basePath}/csrf -> ${response.status}: ${response.body}`)
    return response.json<{ csrfToken: string }>().csrfToken
  }

  const isAppUrl = (url: string): boolean => new URL(url).origin === origin

  const signIn = async (browser: Browser, signInOptions: SignInOptions): Promise<SignInResult> => {
    const id = signInOptions.providerId ?? providerId
    const errorCountBefore = errors.length
    const hops: Hop[] = []
    const track = (response: BrowserResponse): BrowserResponse => {
      hops.push(...response.hops)
      return response
    }
    const token = await csrfToken(browser)
    const signInUrl = new URL(`${origin}${basePath}/signin/${id}`)
    const params = { ...signInOptions.authorizationParams }
    if (signInOptions.forceLogin) params.prompt = "login consent"
    for (const [name, value] of Object.entries(params)) signInUrl.searchParams.set(name, value)

    let page = track(
      await browser.post(signInUrl.href, { csrfToken: token, callbackUrl: signInOptions.callbackUrl ?? `${origin}/` }),
    )
    let loginFormShown = false
    let consentFormShown = false
    for (let step = 0; step < 6 && !isAppUrl(page.url); step++) {
      const login = findForm(page, { field: "prompt", value: "login" })
      if (login) {
        loginFormShown = true
        page = track(await browser.submit(login, { login: signInOptions.login, password: "any-password" }))
        continue
      }
      const consent = findForm(page, { field: "prompt", value: "consent" })
      if (consent) {
        consentFormShown = true
        page = track(await browser.submit(consent))
        continue
      }
      break
    }

    let sessionCookieSet = false
    let error: string | undefined
    let providerError: SignInResult["providerError"]
    for (const hop of hops) {
      if (!isAppUrl(hop.url)) continue
      for (const cookie of hop.setCookies) {
        const match = SESSION_COOKIE.exec(cookie)
        if (match?.[1]) sessionCookieSet = true
      }
      const url = new URL(hop.url)
      if (url.pathname.startsWith(`${basePath}/callback/`) && url.searchParams.has("error")) {
        providerError = {
          error: url.searchParams.get("error") ?? "",
          description: url.searchParams.get("error_description") ?? undefined,
        }
      }
      if (hop.location && isAppUrl(hop.location)) {
        const target = new URL(hop.location)
        if (target.pathname.startsWith(basePath) && target.searchParams.has("error")) {
          error = target.searchParams.get("error") ?? undefined
        }
      }
    }
    const finalUrl = new URL(page.url)
    if (isAppUrl(page.url) && finalUrl.pathname.startsWith(basePath) && finalUrl.searchParams.has("error")) {
      error = finalUrl.searchParams.get("error") ?? error
    }
    if (!isAppUrl(page.url)) {
      const opError = /<p id="error">([^<]*)<\/p>/.exec(page.body)?.[1]
      const opDescription = /<p id="error_description">([^<]*)<\/p>/.exec(page.body)?.[1]
      providerError ??= {
        error: opError ?? `stuck on provider page (status ${page.status})`,
        description: opDescription,
      }
    }
    const authErrors = errors.slice(errorCountBefore).map(describeError)
    const failed = Boolean(error || providerError || !sessionCookieSet || page.status >= 400)
    const trace = [
      ...hops.map(describeHop),
      ...(error ? [`Auth.js error: ${error}`] : []),
      ...(providerError ? [`provider error: ${providerError.error} ${providerError.description ?? ""}`] : []),
      ...authErrors.map((e) => `Auth.js logged: ${e}`),
    ].join("\n")
    return {
      ok: !failed,
      status: page.status,
      finalUrl: page.url,
      sessionCookieSet,
      error,
      errorPage: failed ? page.body : undefined,
      providerError,
      loginFormShown,
      consentFormShown,
      hops,
      authErrors,
      trace,
    }
  }

  const signOut = async (browser: Browser): Promise<SignOutResult> => {
    const token = await csrfToken(browser)
    const response = await browser.post(`${origin}${basePath}/signout`, { csrfToken: token, callbackUrl: `${origin}/` })
    return { status: response.status, finalUrl: response.url, hops: response.hops }
  }

  const getSession = async (browser: Browser): Promise<Session | null> => {
    const response = await browser.get(`${origin}${basePath}/session`, { headers: { accept: "application/json" } })
    if (response.status !== 200) throw new Error(`GET ${basePath}/session -> ${response.status}: ${response.body}`)
    return response.json<Session | null>()
  }

  return {
    url: origin,
    port,
    basePath,
    providerId,
    config,
    callbackUrl,
    signIn,
    signOut,
    getSession,
    csrfToken,
    errors,
    errorMessages: () => errors.map(describeError),
    warnings,
    debugLog,
    signIns,
    stop,
  }
}
