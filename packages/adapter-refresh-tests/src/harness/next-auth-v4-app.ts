/**
 * Serves next-auth 4's real handler, `NextAuth(req, res, options)` (the Pages Router API route, what most
 * v4 apps run), on a node http server without Next.js: a small shim gives it the request and response
 * of a Next.js API route (`req.query.nextauth`, parsed `req.body` and `req.cookies`, `res.status().send()`).
 * The provider is a v4 OAuth config with only `wellKnown`, as v4 apps write them. Sign-ins are driven
 * like a user would, with the cookie-jar browser.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { createRequire } from "node:module"

import { listenOnLoopback } from "./loopback-server.js"
import { findForm, describeHop, type Browser, type BrowserResponse, type Hop } from "./browser.js"
import type { OidcClientSettings } from "./auth-app.js"

/** What next-auth 4 gives `events.signIn` (typed here: importing its types would pull in next's globals). */
export interface V4SignInMessage {
  user: { id: string; email?: string | null }
  account: {
    type: string
    provider: string
    providerAccountId: string
    access_token?: string
    [field: string]: unknown
  } | null
  isNewUser?: boolean
}

export interface StartNextAuthV4Options {
  provider: OidcClientSettings
  providerId?: string
  /** An adapter of next-auth 4's shape (`@next-auth/*-adapter`, or a wrapped one). */
  adapter: object
  events?: { signIn?(message: V4SignInMessage): unknown }
  session?: "database" | "jwt"
}

export interface NextAuthV4App {
  url: string
  providerId: string
  /** The provider object given to next-auth 4 (what an app would also give `refresh.providers`). */
  provider: { id: string; type: string; wellKnown: string; clientId: string; clientSecret: string }
  signIn(browser: Browser, options: { login: string }): Promise<{ ok: boolean; trace: string }>
  /** Every `events.signIn` next-auth 4 emitted, in order. */
  signIns: V4SignInMessage[]
  /** Errors next-auth 4 logged (`logger.error`) or that escaped the handler. */
  errors: string[]
  stop(): Promise<void>
}

type NextApiHandler = (req: unknown, res: unknown, options: Record<string, unknown>) => Promise<void>
const require = createRequire(import.meta.url)
const NextAuth = (require("next-auth") as { default: NextApiHandler }).default

const BASE_PATH = "/api/auth"
const SESSION_COOKIE = /^next-auth\.session-token=([^;]+)/

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of (header ?? "").split(";")) {
    const i = part.indexOf("=")
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim())
  }
  return out
}

async function readForm(req: IncomingMessage): Promise<Record<string, string> | undefined> {
  if (req.method !== "POST") return undefined
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString("utf8")))
}

/** The parts of a Next.js API route's `req`/`res` that next-auth 4's handler uses. */
async function asNextApiRoute(req: IncomingMessage, res: ServerResponse, origin: string) {
  const url = new URL(req.url ?? "/", origin)
  const segments = url.pathname
    .slice(BASE_PATH.length + 1)
    .split("/")
    .filter(Boolean)
  const apiReq = {
    method: req.method,
    headers: { ...req.headers, "x-forwarded-proto": "http" },
    query: { ...Object.fromEntries(url.searchParams), nextauth: segments },
    cookies: parseCookies(req.headers.cookie),
    body: await readForm(req),
  }
  const apiRes = Object.assign(res, {
    status(code: number) {
      res.statusCode = code
      return apiRes
    },
    send(body: unknown) {
      if (body !== undefined && typeof body !== "string" && !Buffer.isBuffer(body)) {
        res.setHeader("content-type", "application/json")
        res.end(JSON.stringify(body))
      } else res.end(body)
    },
    json(body: unknown) {
      res.setHeader("content-type", "application/json")
      res.end(JSON.stringify(body))
    },
  })
  return { apiReq, apiRes }
}

export async function startNextAuthV4App(options: StartNextAuthV4Options): Promise<NextAuthV4App> {
  const providerId = options.providerId ?? "local-oidc"
  const errors: string[] = []
  const signIns: V4SignInMessage[] = []
  let origin = "http://127.0.0.1"

  const provider = {
    id: providerId,
    name: providerId,
    type: "oauth",
    // As next-auth 4 apps configure a generic OpenID provider: the discovery URL, no issuer.
    wellKnown: `${options.provider.issuer}/.well-known/openid-configuration`,
    clientId: options.provider.clientId,
    clientSecret: options.provider.clientSecret,
    authorization: { params: { scope: "openid email profile offline_access", prompt: "consent" } },
    idToken: true,
    checks: ["pkce", "state"],
    profile: (profile: { sub: string; email?: string; name?: string }) => ({
      id: profile.sub,
      email: profile.email ?? null,
      name: profile.name ?? null,
    }),
  }
  const authOptions = {
    secret: "authjs-adapter-refresh-tests-v4-secret-0123456789abcdef",
    adapter: options.adapter,
    session: { strategy: options.session ?? "database" },
    providers: [provider],
    events: {
      async signIn(message: V4SignInMessage) {
        signIns.push(message)
        await options.events?.signIn?.(message)
      },
    },
    logger: {
      error: (code: string, metadata: unknown) =>
        errors.push(`${code}: ${metadata instanceof Error ? metadata.message : JSON.stringify(metadata)}`),
      warn: () => {},
      debug: () => {},
    },
  }

  // next-auth 4 takes its URL from NEXTAUTH_URL, one per process; with AUTH_TRUST_HOST it uses each
  // request's Host header instead (and x-forwarded-proto, set by the shim), so several apps can run at once.
  delete process.env.NEXTAUTH_URL
  process.env.AUTH_TRUST_HOST = "true"
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", origin)
      if (url.pathname.startsWith(`${BASE_PATH}/`)) {
        const { apiReq, apiRes } = await asNextApiRoute(req, res, origin)
        await NextAuth(apiReq, apiRes, authOptions)
      } else if (url.pathname === "/") {
        res.writeHead(200, { "content-type": "text/html" }).end("<!DOCTYPE html><title>home</title>")
      } else {
        res.writeHead(404).end("not found")
      }
    })().catch((error: unknown) => {
      errors.push(`handler: ${error instanceof Error ? error.message : String(error)}`)
      if (!res.headersSent) res.writeHead(500)
      res.end("internal error")
    })
  })
  const { port, stop } = await listenOnLoopback(server)
  origin = `http://127.0.0.1:${port}`
  options.provider.addRedirectUri?.(`${origin}${BASE_PATH}/callback/${providerId}`)
  const isAppUrl = (url: string): boolean => new URL(url).origin === origin

  const signIn = async (browser: Browser, { login }: { login: string }) => {
    const errorsBefore = errors.length
    const hops: Hop[] = []
    const track = (response: BrowserResponse): BrowserResponse => {
      hops.push(...response.hops)
      return response
    }
    const csrf = await browser.get(`${origin}${BASE_PATH}/csrf`)
    const { csrfToken } = csrf.json<{ csrfToken: string }>()
    let page = track(
      await browser.post(`${origin}${BASE_PATH}/signin/${providerId}`, { csrfToken, callbackUrl: `${origin}/` }),
    )
    for (let step = 0; step < 6 && !isAppUrl(page.url); step++) {
      const loginForm = findForm(page, { field: "prompt", value: "login" })
      const consentForm = findForm(page, { field: "prompt", value: "consent" })
      if (loginForm) page = track(await browser.submit(loginForm, { login, password: "any-password" }))
      else if (consentForm) page = track(await browser.submit(consentForm))
      else break
    }
    const sessionCookieSet = hops.some((hop) => isAppUrl(hop.url) && hop.setCookies.some((c) => SESSION_COOKIE.test(c)))
    const failedUrl = hops.some((hop) => hop.location?.includes("/api/auth/error") || hop.location?.includes("error="))
    const newErrors = errors.slice(errorsBefore)
    const ok =
      isAppUrl(page.url) && !failedUrl && newErrors.length === 0 && (sessionCookieSet || options.session === "jwt")
    return { ok, trace: [...hops.map(describeHop), ...newErrors.map((e) => `next-auth logged: ${e}`)].join("\n") }
  }

  return {
    url: origin,
    providerId,
    provider,
    signIn,
    signIns,
    errors,
    stop,
  }
}
