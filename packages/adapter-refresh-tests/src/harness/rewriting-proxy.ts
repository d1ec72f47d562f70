/**
 * A real HTTP proxy in front of one endpoint of the real provider (the token endpoint), for provider
 * misbehaviour that `oidc-provider` cannot be configured into: every request is forwarded unchanged, the
 * real answer comes back, and then `rewrite` may change its JSON body (an `expires_in: 0`, a malformed
 * id_token, a NUL in a field...) and `delayMs` may hold it back. The provider really processed the grant
 * (rotation included); only what the client sees is altered. `intercept` may instead answer a request
 * itself, without forwarding it (a refusal the provider makes before processing anything).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/** The request a rewrite or an intercept sees: its path and its form body (empty for other bodies). */
export interface ProxiedRequest {
  method: string
  path: string
  form: URLSearchParams
}

/** Returns the body to send (an object is sent as JSON, a string as is); `undefined` keeps it. */
export type BodyRewrite = (
  body: Record<string, unknown>,
  status: number,
  request: ProxiedRequest,
) => Record<string, unknown> | string | undefined

/** Returns an answer to send instead of forwarding the request; `undefined` forwards it. */
export type Intercept = (request: ProxiedRequest) => { status: number; body: Record<string, unknown> } | undefined

export interface RewritingProxy {
  /** The proxied endpoint's URL (same path as the target). */
  url: string
  /** Requests received. */
  requests: number
  /** Applied to every answer with a JSON object body, until changed. */
  rewrite: BodyRewrite | undefined
  /** Delay before each answer, in ms. */
  delayMs: number
  /** Consulted first for every request, until changed. */
  intercept: Intercept | undefined
  stop(): Promise<void>
}

export async function startRewritingProxy(target: string): Promise<RewritingProxy> {
  const targetUrl = new URL(target)
  const proxy: RewritingProxy = {
    url: "",
    requests: 0,
    rewrite: undefined,
    delayMs: 0,
    intercept: undefined,
    stop: async () => {},
  }
  const respond = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    proxy.requests++
    try {
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      const headers: Record<string, string> = {}
      for (const name of ["authorization", "content-type", "accept", "dpop"])
        if (req.headers[name]) headers[name] = String(req.headers[name])
      const method = req.method ?? "GET"
      const body = Buffer.concat(chunks)
      const isForm = String(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")
      const request: ProxiedRequest = {
        method,
        path: new URL(req.url ?? "/", targetUrl).pathname,
        form: new URLSearchParams(isForm ? body.toString("utf8") : ""),
      }
      const answer = proxy.intercept?.(request)
      if (answer) {
        if (proxy.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, proxy.delayMs))
        res.writeHead(answer.status, { "content-type": "application/json", "cache-control": "no-store" })
        res.end(JSON.stringify(answer.body))
        return
      }
      const upstream = await fetch(new URL(req.url ?? "/", targetUrl), {
        method,
        headers,
        ...(method === "GET" || method === "HEAD" ? {} : { body }),
      })
      let text = await upstream.text()
      const rewrite = proxy.rewrite
      if (rewrite) {
        let parsed: unknown
        try {
          parsed = JSON.parse(text)
        } catch {
          parsed = undefined
        }
        if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
          const changed = rewrite(parsed as Record<string, unknown>, upstream.status, request)
          if (changed !== undefined) text = typeof changed === "string" ? changed : JSON.stringify(changed)
        }
      }
      if (proxy.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, proxy.delayMs))
      res.writeHead(upstream.status, {
        "content-type": upstream.headers.get("content-type") ?? "application/json",
        "cache-control": "no-store",
      })
      res.end(text)
    } catch {
      if (!res.headersSent) res.writeHead(502).end()
      else res.destroy()
    }
  }
  // respond() answers its own failures with a 502; a throw from that answer still ends the socket.
  const server: Server = createServer((req, res) => void respond(req, res).catch(() => res.destroy()))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${targetUrl.pathname}`
  proxy.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return proxy
}
