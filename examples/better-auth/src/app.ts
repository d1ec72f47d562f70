/**
 * The example's server (node:http): Better Auth's handler under /api/auth/*, and
 *
 *   GET  /               the signed-in user and the account's token state (shortened, never a whole token)
 *   POST /signin         starts Better Auth's sign-in at the provider (its API answers a URL: redirect there)
 *   POST /signout        Better Auth's sign-out, back to /
 *   GET  /api/userinfo   auth.api.getAccessToken (refreshes when due), then the provider's userinfo
 *
 * The home page's "10 parallel calls" button fires ten /api/userinfo requests at once, the case where
 * plain Better Auth sends the same rotating refresh token several times.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { APIError } from "better-auth/api"
import { fromNodeHeaders, toNodeHandler } from "better-auth/node"
import pg from "pg"

import { PROVIDER_ID, createAuth, migrate, type ExampleSettings } from "./auth.js"
import { PAGE_STYLE, STORM_SCRIPT, describeExpiry, escapeHtml, shorten } from "./page.js"

interface AccountRow {
  id: string
  accountId: string
  accessToken: string | null
  refreshToken: string | null
  accessTokenExpiresAt: Date | null
}

export interface ExampleApp {
  server: Server
  tokenSync: boolean
  close(): Promise<void>
}

export async function createApp(settings: ExampleSettings): Promise<ExampleApp> {
  const pool = new pg.Pool({ connectionString: settings.databaseUrl })
  await migrate(pool, settings)
  const auth = createAuth(pool, settings)
  const authHandler = toNodeHandler(auth)
  const userinfoUrl = discoveredUserinfo(settings.issuer)
  let lastUserinfo: { status: number; at: Date } | undefined

  const account = async (userId: string): Promise<AccountRow | undefined> => {
    const { rows } = await pool.query<AccountRow>(
      `SELECT "id", "accountId", "accessToken", "refreshToken", "accessTokenExpiresAt" FROM "account"
        WHERE "userId" = $1 AND "providerId" = $2`,
      [userId, PROVIDER_ID],
    )
    return rows[0]
  }

  /** Copies Better Auth's Set-Cookie headers onto a redirect. */
  const redirect = (res: ServerResponse, location: string, headers?: Headers): void => {
    const cookies = headers?.getSetCookie() ?? []
    if (cookies.length) res.setHeader("set-cookie", cookies)
    res.writeHead(302, { location }).end()
  }
  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body))
  }

  const userinfo = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const headers = fromNodeHeaders(req.headers)
    const session = await auth.api.getSession({ headers })
    if (!session) return json(res, 401, { error: "not signed in" })
    const row = await account(session.user.id)
    if (!row) return json(res, 404, { error: "no account at the provider" })
    let accessToken: string
    try {
      // Better Auth's own call, unchanged; with the plugin it is the library's single-flight refresh.
      ;({ accessToken } = await auth.api.getAccessToken({ body: { accountId: row.id }, headers }))
    } catch (error) {
      if (!(error instanceof APIError)) throw error
      const body = error.body as { code?: string; tokenSyncCode?: string } | undefined
      lastUserinfo = { status: error.statusCode, at: new Date() }
      return json(res, error.statusCode, { error: body?.code ?? error.message, tokenSyncCode: body?.tokenSyncCode })
    }
    const upstream = await fetch(await userinfoUrl(), {
      headers: { authorization: `Bearer ${accessToken}`, accept: "application/json" },
      signal: AbortSignal.timeout(10_000),
    })
    const claims = (await upstream.json().catch(() => ({}))) as Record<string, unknown>
    lastUserinfo = { status: upstream.status, at: new Date() }
    json(res, upstream.status, {
      status: upstream.status,
      tokenSync: settings.tokenSync,
      accessToken: shorten(accessToken),
      userinfo: upstream.ok ? claims : { error: claims.error ?? upstream.statusText },
    })
  }

  const home = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const session = await auth.api.getSession({ headers: fromNodeHeaders(req.headers) })
    const mode = settings.tokenSync
      ? `<span class="mode" id="mode">tokenSync plugin</span>`
      : `<span class="mode control" id="mode">control: plain Better Auth (TOKEN_SYNC=off)</span>`
    let body: string
    if (!session) {
      body =
        `<p id="signed-out">Not signed in.</p><form method="post" action="/signin">` +
        `<button type="submit" id="signin">Sign in with the OpenID provider</button></form>`
    } else {
      const row = await account(session.user.id)
      const cells: [string, string][] = [
        ["account-id", row?.accountId ?? "(no account)"],
        ["access-token", shorten(row?.accessToken)],
        ["refresh-token", shorten(row?.refreshToken)],
        ["expires-at", describeExpiry(row?.accessTokenExpiresAt ?? null)],
        [
          "last-userinfo",
          lastUserinfo ? `${lastUserinfo.status} at ${lastUserinfo.at.toISOString()}` : "not called yet",
        ],
      ]
      body =
        `<p id="user">Signed in as <b>${escapeHtml(session.user.name)}</b> (${escapeHtml(session.user.email)})</p>` +
        `<table id="account"><tr><th>account</th><th>access token</th><th>refresh token</th><th>expires</th>` +
        `<th>last userinfo call</th></tr><tr>` +
        cells.map(([cls, text]) => `<td class="${cls}">${escapeHtml(text)}</td>`).join("") +
        `</tr></table><p><a class="button" id="call-userinfo" href="/api/userinfo">GET /api/userinfo</a>` +
        `<button type="button" id="storm">10 parallel calls of /api/userinfo</button></p>` +
        `<pre id="storm-result"></pre><form method="post" action="/signout">` +
        `<button type="submit" id="signout">Sign out</button></form><script>${STORM_SCRIPT}</script>`
    }
    res
      .writeHead(200, { "content-type": "text/html; charset=utf-8" })
      .end(
        `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Better Auth + tokenSync</title>` +
          `<style>${PAGE_STYLE}</style></head><body><h1>Better Auth example</h1>` +
          `<p>Mode: ${mode}</p>${body}</body></html>`,
      )
  }

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { pathname } = new URL(req.url ?? "/", settings.baseURL)
    if (pathname.startsWith("/api/auth/")) return authHandler(req, res)
    const headers = fromNodeHeaders(req.headers)
    if (req.method === "POST" && pathname === "/signin") {
      // Better Auth's sign-in answers the provider's URL (and sets its state cookie): redirect the form there.
      const started = await auth.api.signInSocial({
        body: { provider: PROVIDER_ID, callbackURL: "/" },
        headers,
        returnHeaders: true,
      })
      if (!started.response.url) throw new Error("Better Auth's sign-in answered no provider URL")
      return redirect(res, started.response.url, started.headers)
    }
    if (req.method === "POST" && pathname === "/signout") {
      const done = await auth.api.signOut({ headers, returnHeaders: true })
      return redirect(res, "/", done.headers)
    }
    if (req.method === "GET" && pathname === "/api/userinfo") return userinfo(req, res)
    if (req.method === "GET" && pathname === "/") return home(req, res)
    res.writeHead(404, { "content-type": "text/plain" }).end("not found")
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      console.error(`[example-better-auth] ${req.method} ${req.url}: ${error instanceof Error ? error.message : error}`)
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" })
      res.end("internal error")
    })
  })
  return { server, tokenSync: settings.tokenSync, close: () => pool.end() }
}

/** The userinfo endpoint from the issuer's discovery document, fetched once. */
function discoveredUserinfo(issuer: string): () => Promise<string> {
  let endpoint: Promise<string> | undefined
  return () =>
    (endpoint ??= (async () => {
      const response = await fetch(`${issuer}/.well-known/openid-configuration`, {
        signal: AbortSignal.timeout(10_000),
      })
      const document = (await response.json()) as { userinfo_endpoint?: unknown }
      if (typeof document.userinfo_endpoint !== "string") throw new Error(`${issuer} names no userinfo_endpoint`)
      return document.userinfo_endpoint
    })())
}
