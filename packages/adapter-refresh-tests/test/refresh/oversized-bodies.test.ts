/**
 * Every body a provider sends is read within a size bound, not only a time bound: a token endpoint's error
 * body, issuer discovery (`<issuer>/.well-known/openid-configuration`) and next-auth 4's `wellKnown`. A real
 * loopback HTTP server streams a 64 MiB body on each and counts the bytes it managed to write before the
 * client hung up: a bounded reader stops after about a megabyte (plus what the sockets buffer), a whole
 * read takes all of it. The account row is a real one (real PostgreSQL, signed in at the real oidc-provider).
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { createServer, type ServerResponse } from "node:http"
import { gzipSync } from "node:zlib"
import { ProviderUnavailableError, withTokenSync } from "authjs-adapter-refresh"
import { listenOnLoopback } from "../../src/harness/loopback-server.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { PROVIDER_ID } from "../../src/refresh-bench/scenario.js"
import { rejection, useRefreshScenario } from "./scenario-hooks.js"

const BODY_BYTES = 64 * 1024 * 1024
const CHUNK = Buffer.alloc(64 * 1024, "x")
/** Well under the body: the bound (1 MiB at most) plus what the loopback sockets and the client buffer. */
const STOPPED_EARLY_BYTES = 16 * 1024 * 1024
const gzippedBomb = gzipSync(
  Buffer.concat([
    Buffer.from(`{"token_type":"Bearer","access_token":"`),
    Buffer.alloc(BODY_BYTES, "x"),
    Buffer.from(`"}`),
  ]),
)

interface Streamed {
  written: number
  /** Resolves when the response is over (the client hung up, or the whole body went out). */
  over: Promise<void>
}

/** Streams `head`, then padding up to BODY_BYTES, then `tail`; respects back-pressure and stops on hang-up. */
function stream(res: ServerResponse, status: number, head: string, tail: string): Streamed {
  let closed = false
  const streamed: Streamed = {
    written: 0,
    over: new Promise<void>((resolve) => res.once("close", () => ((closed = true), resolve()))),
  }
  res.writeHead(status, { "content-type": "application/json" })
  const write = (data: Buffer | string): boolean => {
    streamed.written += Buffer.byteLength(data)
    return res.write(data)
  }
  write(head)
  const pump = (): void => {
    while (!closed && streamed.written < BODY_BYTES) if (!write(CHUNK)) return void res.once("drain", pump)
    if (!closed) res.end(tail)
  }
  pump()
  return streamed
}

describe("bodies from the provider are bounded in size (loopback server streaming 64 MiB, real PostgreSQL)", () => {
  let s: RefreshScenario
  let base = ""
  let stop: () => Promise<void> = async () => {}
  const streams = new Map<string, Streamed>()
  let tokenRequests = 0

  useRefreshScenario(
    "refresh_oversized_bodies",
    { cell: "pg", login: "oversized-bodies-user", skewSeconds: 0, provider: { accessTokenTtl: 2 } },
    (started) => {
      ;({ s } = started)
    },
  )

  beforeAll(async () => {
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://localhost").pathname
      const document = (issuer: string) => `{"issuer":"${issuer}","token_endpoint":"${base}/granted","pad":"`
      if (path === "/token") {
        req.resume()
        streams.set(path, stream(res, 400, `{"error":"invalid_request","error_description":"`, `"}`))
      } else if (path === "/token-200") {
        req.resume()
        streams.set(path, stream(res, 200, `{"token_type":"Bearer","access_token":"`, `"}`))
      } else if (path === "/token-gzip-bomb") {
        // 64 MiB of JSON in about 64 KiB on the wire: the bound holds for the decoded text.
        req.resume()
        let over: () => void = () => {}
        streams.set(path, { written: gzippedBomb.byteLength, over: new Promise<void>((resolve) => (over = resolve)) })
        res.once("close", () => over())
        res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" }).end(gzippedBomb)
      } else if (path === "/token-gzip") {
        // A valid answer, compressed although the request asked for none: decoded and used.
        req.resume()
        res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" })
        res.end(gzipSync(JSON.stringify({ token_type: "Bearer", access_token: "gzip-coded-at", expires_in: 3600 })))
      } else if (path === "/issuer/.well-known/openid-configuration") {
        streams.set(path, stream(res, 200, document(`${base}/issuer`), `"}`))
      } else if (path === "/wk/.well-known/openid-configuration") {
        streams.set(path, stream(res, 200, document(`${base}/wk`), `"}`))
      } else if (path === "/granted") {
        // A discovery document accepted whole would send the grant here.
        tokenRequests++
        req.resume()
        res.writeHead(400, { "content-type": "application/json" }).end(`{"error":"invalid_grant"}`)
      } else {
        res.writeHead(404).end()
      }
    })
    const listening = await listenOnLoopback(server)
    base = `http://127.0.0.1:${listening.port}`
    stop = listening.stop
    await s.waitForExpiry(0) // the stored token is expired: every call below goes to the provider
  })
  afterAll(() => stop())

  const secret = () => ({ clientId: s.op.clientId, clientSecret: s.op.clientSecret })
  test.each([
    {
      name: "a token endpoint's 200 answer",
      path: "/token-200",
      provider: () => ({ id: PROVIDER_ID, type: "oauth", token: `${base}/token-200`, ...secret() }),
      kind: "malformed_response",
      message: /body larger than 1048576 bytes/,
    },
    {
      name: "a token endpoint's gzip-coded 200 answer (64 MiB decoded)",
      path: "/token-gzip-bomb",
      provider: () => ({ id: PROVIDER_ID, type: "oauth", token: `${base}/token-gzip-bomb`, ...secret() }),
      kind: "malformed_response",
      message: /body larger than 1048576 bytes/,
    },
    {
      name: "a token endpoint's error body",
      path: "/token",
      provider: () => ({ id: PROVIDER_ID, type: "oauth", token: `${base}/token`, ...secret() }),
      kind: "http_status",
      message: /HTTP 400, error body larger than 1048576 bytes, not read/,
    },
    {
      name: "issuer discovery",
      path: "/issuer/.well-known/openid-configuration",
      provider: () => ({ id: PROVIDER_ID, type: "oidc", issuer: `${base}/issuer`, ...secret() }),
      kind: "discovery",
      message: /the document is larger than 524288 bytes/,
    },
    {
      name: "next-auth 4's wellKnown",
      path: "/wk/.well-known/openid-configuration",
      provider: () => ({
        id: PROVIDER_ID,
        type: "oauth",
        wellKnown: `${base}/wk/.well-known/openid-configuration`,
        ...secret(),
      }),
      kind: "discovery",
      message: /the document is larger than 524288 bytes/,
    },
  ])(
    "$name: a typed failure, the read stopped early, nothing written",
    async ({ path, provider, kind, message }) => {
      const adapter = withTokenSync(s.fixture.adapter, s.fixture.db as object, {
        refresh: { providers: [provider()], skewSeconds: 0, minRefreshIntervalSeconds: 0, retries: 0 },
      })
      const before = await s.row()

      const error = await rejection(adapter.getAccessToken({ userId: s.userId, provider: PROVIDER_ID }))

      const streamed = streams.get(path)
      expect(streamed).toBeDefined()
      // The server sees the hang-up (bounded: a client reading on would take the whole body first).
      let timer: NodeJS.Timeout | undefined
      await Promise.race([streamed!.over, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))])
      clearTimeout(timer)
      expect(streamed!.written).toBeLessThan(STOPPED_EARLY_BYTES)
      expect(error).toBeInstanceOf(ProviderUnavailableError)
      expect((error as ProviderUnavailableError).kind).toBe(kind)
      expect((error as ProviderUnavailableError).message).toMatch(message)
      expect((error as ProviderUnavailableError).message).not.toMatch(/xxxx/) // no body text
      expect(tokenRequests).toBe(0) // no oversized document was used
      expect(await s.row()).toEqual(before)
    },
    30_000,
  )

  // Last: it refreshes the account, so the stored token is fresh afterwards.
  test("a gzip-coded answer, although none was asked for, is decoded and stored", async () => {
    const adapter = withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: {
        providers: [{ id: PROVIDER_ID, type: "oauth", token: `${base}/token-gzip`, ...secret() }],
        skewSeconds: 0,
        minRefreshIntervalSeconds: 0,
        retries: 0,
      },
    })
    const result = await adapter.getAccessToken({ userId: s.userId, provider: PROVIDER_ID })
    expect(result.accessToken).toBe("gzip-coded-at")
    expect((await s.row())?.access_token).toBe("gzip-coded-at")
  }, 30_000)
})
