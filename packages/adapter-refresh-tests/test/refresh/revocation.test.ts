/**
 * RFC 7009 revocation when an account leaves (`refresh.revocation`), against the real rotating provider
 * (its revocation endpoint), the real Auth.js handler and real PostgreSQL (the pg cell): after an unlink
 * or a deletion with the option, the old refresh token fails at the provider with `invalid_grant`;
 * without it, it still refreshes. Failing endpoints are real loopback servers (500, no answer), and the
 * plain-http endpoint is a real server on 127.0.0.2 (loopback to the kernel, not to the https/loopback
 * rule), so "nothing was sent" is what that server saw.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import diagnostics from "node:diagnostics_channel"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { inspect } from "node:util"
import type { Adapter } from "@auth/core/adapters"
import {
  InvalidOptionsError,
  RefreshTokenError,
  TOKEN_SYNC_CHANNELS,
  tokenEncryption,
  withTokenSync,
  type RefreshOptions,
  type RevocationEvent,
  type TokenSyncAdapter,
} from "authjs-adapter-refresh"
import { randomKeyString } from "../../src/encryption/at-rest.js"
import { Browser } from "../../src/harness/browser.js"
import { listenOnLoopback } from "../../src/harness/loopback-server.js"
import { PROVIDER_ID, type RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { rejection, useRefreshScenario } from "./scenario-hooks.js"

const events: RevocationEvent[] = []
const listener = (event: unknown) => events.push(event as RevocationEvent)
beforeAll(() => {
  diagnostics.subscribe(TOKEN_SYNC_CHANNELS.revocation, listener)
})
afterAll(() => {
  diagnostics.unsubscribe(TOKEN_SYNC_CHANNELS.revocation, listener)
})
/** Every token value a test saw: none may appear in any event or error. */
const seenTokens = new Set<string>()
/** Errors the tests met, as `util.inspect` prints them (message, fields, causes). */
const seenErrors: string[] = []

/** A real loopback server recording every request (its form body included) and answering as `answer` says. */
async function recordingServer(
  answer: (request: IncomingMessage, response: ServerResponse, body: string) => void,
  host = "127.0.0.1",
) {
  const requests: { url: string | undefined; body: string }[] = []
  const server = createServer((request, response) => {
    let body = ""
    request.on("data", (chunk: Buffer) => (body += chunk.toString()))
    request.on("end", () => {
      requests.push({ url: request.url, body })
      answer(request, response, body)
    })
  })
  const listening = await listenOnLoopbackOn(server, host)
  return { ...listening, requests, url: `http://${host}:${listening.port}` }
}

/** listenOnLoopback binds 127.0.0.1; the insecure-endpoint test needs another address of the lo interface. */
async function listenOnLoopbackOn(server: ReturnType<typeof createServer>, host: string) {
  if (host === "127.0.0.1") return listenOnLoopback(server)
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  return {
    port: (server.address() as { port: number }).port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

describe("refresh.revocation on unlink, deletion and sign-out (real provider, real PostgreSQL)", () => {
  let s: RefreshScenario
  useRefreshScenario(
    "revocation",
    {
      cell: "pg",
      login: "revoke-signout",
      provider: { accessTokenTtl: 60 },
      refresh: { revocation: { providers: [{ id: PROVIDER_ID, onSignOut: true }] } },
    },
    (started) => {
      ;({ s } = started)
    },
  )

  /** A wrapped adapter over the scenario's database with other refresh options. */
  const wrap = (refresh: Partial<RefreshOptions> = {}): TokenSyncAdapter<Adapter> =>
    withTokenSync(s.fixture.adapter as Adapter, s.fixture.db as object, {
      refresh: { providers: [s.providerConfig], ...refresh },
    })

  /** A real sign-in of `login`: its key, owner and the tokens the provider issued (read from the row). */
  async function signedIn(login: string) {
    const browser = new Browser()
    const result = await s.app.signIn(browser, { login })
    if (!result.ok) throw new Error(`sign-in failed:\n${result.trace}`)
    const key = { provider: PROVIDER_ID, providerAccountId: login }
    const [row] = await s.fixture.accountRows(key)
    const refreshToken = String(row!.refresh_token)
    const accessToken = String(row!.access_token)
    seenTokens.add(refreshToken).add(accessToken)
    return { browser, key, userId: String(row!.userId), refreshToken, accessToken }
  }

  test("unlink, option on: row gone, then the old refresh token fails at the provider (invalid_grant)", async () => {
    const account = await signedIn("revoke-unlink")
    events.length = 0
    await s.adapter.unlinkAccount!(account.key)
    expect(await s.fixture.accountRows(account.key)).toEqual([])
    const refreshed = await s.op.refresh(account.refreshToken)
    expect(refreshed.status).toBe(400)
    expect(refreshed.body.error).toBe("invalid_grant")
    expect(events).toEqual([
      {
        store: "pg",
        provider: PROVIDER_ID,
        trigger: "unlink",
        tokenType: "refresh_token",
        outcome: "revoked",
        sent: true,
        status: 200,
        durationMs: expect.any(Number),
      },
    ])
  })

  test("control: unlink without the option leaves the old refresh token working at the provider", async () => {
    const account = await signedIn("keep-unlink")
    events.length = 0
    await wrap().unlinkAccount!(account.key)
    expect(await s.fixture.accountRows(account.key)).toEqual([])
    const refreshed = await s.op.refresh(account.refreshToken)
    expect(refreshed.status).toBe(200)
    expect(events).toEqual([])
    if (refreshed.body.refresh_token) seenTokens.add(refreshed.body.refresh_token)
  })

  test("deleteUser with the option: the user's refresh token fails at the provider with invalid_grant", async () => {
    const account = await signedIn("revoke-delete")
    events.length = 0
    await (s.adapter as unknown as Adapter).deleteUser!(account.userId)
    expect(await s.fixture.accountRows(account.key)).toEqual([])
    const refreshed = await s.op.refresh(account.refreshToken)
    expect(refreshed.status).toBe(400)
    expect(refreshed.body.error).toBe("invalid_grant")
    expect(events).toEqual([expect.objectContaining({ trigger: "delete-user", outcome: "revoked", sent: true })])
  })

  test("control: deleteUser without the option leaves the old refresh token working", async () => {
    const account = await signedIn("keep-delete")
    await wrap().deleteUser!(account.userId)
    expect(await s.fixture.accountRows(account.key)).toEqual([])
    expect((await s.op.refresh(account.refreshToken)).status).toBe(200)
  })

  test("an endpoint answering 500 (real loopback server): unlink succeeds, one failure event, no body", async () => {
    // The server echoes what it received, token included, so a body that leaked would show in the events;
    // before answering it looks at the table: the request must come after the row is gone.
    let key: { provider: string; providerAccountId: string } | undefined
    const rowsAtRequest: number[] = []
    const failing = await recordingServer((_request, response, body) => {
      void s.fixture.accountRows(key!).then((rows) => {
        rowsAtRequest.push(rows.length)
        response.writeHead(500, { "content-type": "text/plain" }).end(`boom ${body}`)
      })
    })
    try {
      const adapter = wrap({ revocation: { providers: [{ id: PROVIDER_ID, endpoint: `${failing.url}/revoke` }] } })
      const account = await signedIn("revoke-500")
      key = account.key
      events.length = 0
      await adapter.unlinkAccount!(account.key)
      expect(await s.fixture.accountRows(account.key)).toEqual([])
      expect(failing.requests).toHaveLength(1)
      expect(new URLSearchParams(failing.requests[0]!.body).get("token")).toBe(account.refreshToken)
      expect(rowsAtRequest).toEqual([0])
      expect(events).toEqual([
        expect.objectContaining({
          trigger: "unlink",
          outcome: "failed",
          reason: "http_status",
          status: 500,
          sent: true,
        }),
      ])
    } finally {
      await failing.stop()
    }
  })

  test("an error body larger than the bound is not read to its end: reason body_too_large", async () => {
    // 2 MiB of JSON, past the bounded reader's 1 MiB: a valid OAuth error a full read would have parsed.
    const huge = JSON.stringify({ error: "invalid_request", error_description: "x".repeat(2 * 1024 * 1024) })
    const flooding = await recordingServer((_request, response) => {
      response.writeHead(400, { "content-type": "application/json" }).end(huge)
    })
    try {
      const adapter = wrap({ revocation: { providers: [{ id: PROVIDER_ID, endpoint: `${flooding.url}/revoke` }] } })
      const account = await signedIn("revoke-huge-body")
      events.length = 0
      await adapter.unlinkAccount!(account.key)
      expect(await s.fixture.accountRows(account.key)).toEqual([])
      expect(events).toEqual([
        expect.objectContaining({ outcome: "failed", reason: "body_too_large", status: 400, sent: true }),
      ])
    } finally {
      await flooding.stop()
    }
  })

  test("an endpoint that never answers: the unlink returns within the bound, the failure says timeout", async () => {
    const hanging = await recordingServer(() => {
      // No answer: the request hangs until the client gives up.
    })
    try {
      const timeoutMs = 500
      const adapter = wrap({
        revocation: { providers: [{ id: PROVIDER_ID, endpoint: `${hanging.url}/revoke` }], timeoutMs },
      })
      const account = await signedIn("revoke-hang")
      events.length = 0
      const started = performance.now()
      await adapter.unlinkAccount!(account.key)
      const tookMs = performance.now() - started
      expect(await s.fixture.accountRows(account.key)).toEqual([])
      expect(hanging.requests).toHaveLength(1)
      // The bound plus the read and the delete, with slack for a loaded machine; not a timing goal.
      expect(tookMs).toBeLessThan(timeoutMs + 3_000)
      expect(events).toEqual([expect.objectContaining({ outcome: "failed", reason: "timeout", sent: true })])
      expect(events[0]!.durationMs).toBeGreaterThanOrEqual(timeoutMs - 50)
    } finally {
      await hanging.stop()
    }
  })

  test("a discovered plain-http endpoint off loopback is refused: no request reaches it, unlink succeeds", async () => {
    // 127.0.0.2 routes to this machine, but only localhost, 127.0.0.1 and [::1] pass the https/loopback rule.
    const offLoopback = await recordingServer((_request, response) => response.writeHead(200).end(), "127.0.0.2")
    const metadata = await recordingServer((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          issuer: metadata.url,
          token_endpoint: s.op.endpoints.token,
          revocation_endpoint: `${offLoopback.url}/revoke`,
        }),
      )
    })
    try {
      const adapter = withTokenSync(s.fixture.adapter as Adapter, s.fixture.db as object, {
        refresh: {
          providers: [
            {
              id: PROVIDER_ID,
              wellKnown: `${metadata.url}/.well-known/openid-configuration`,
              clientId: s.op.clientId,
              clientSecret: s.op.clientSecret,
            },
          ],
          revocation: { providers: [PROVIDER_ID] },
        },
      })
      const account = await signedIn("revoke-insecure")
      events.length = 0
      await adapter.unlinkAccount!(account.key)
      expect(await s.fixture.accountRows(account.key)).toEqual([])
      expect(metadata.requests).toHaveLength(1)
      expect(offLoopback.requests).toEqual([])
      expect(events).toEqual([expect.objectContaining({ outcome: "failed", reason: "insecure_endpoint", sent: false })])
    } finally {
      await offLoopback.stop()
      await metadata.stop()
    }
  })

  test("a configured plain-http endpoint off loopback is refused at start-up with InvalidOptionsError", () => {
    const build = () =>
      wrap({ revocation: { providers: [{ id: PROVIDER_ID, endpoint: "http://auth.example.test/r" }] } })
    expect(build).toThrow(InvalidOptionsError)
    expect(build).toThrow(/https URL \(plain http only on a loopback host\)/)
    expect(() => wrap({ revocation: { providers: ["not-configured"] } })).toThrow(/not in refresh.providers/)
  })

  test("sign-out with onSignOut (Auth.js): the access token stops working and is not served again", async () => {
    const account = await signedIn("revoke-on-sign-out")
    expect((await s.op.userinfo(account.accessToken)).status).toBe(200)
    events.length = 0
    expect((await s.app.signOut(account.browser)).status).toBe(200)
    expect(await s.app.getSession(account.browser)).toBeNull()
    expect((await s.op.userinfo(account.accessToken)).status).toBe(401)
    expect(events).toEqual([
      expect.objectContaining({ trigger: "sign-out", tokenType: "access_token", outcome: "revoked", sent: true }),
    ])
    // oidc-provider, like Google, revokes the whole grant with its access token (RFC 7009 §2.1 allows it):
    // the refresh token dies too, so getAccessToken asks for a new sign-in rather than serve the revoked token.
    expect((await s.op.refresh(account.refreshToken)).body.error).toBe("invalid_grant")
    const error = await rejection(s.adapter.getAccessToken({ userId: account.userId, provider: PROVIDER_ID }))
    expect(error).toBeInstanceOf(RefreshTokenError)
    seenErrors.push(inspect(error, { depth: 5 }))
  })

  test("sign-out with onSignOut sends the access token only (recording endpoint), marks it expired", async () => {
    const endpoint = await recordingServer((_request, response) => response.writeHead(200).end())
    try {
      const adapter = wrap({
        revocation: { providers: [{ id: PROVIDER_ID, endpoint: `${endpoint.url}/revoke`, onSignOut: true }] },
      })
      const account = await signedIn("revoke-on-sign-out-recorded")
      await adapter.events.signOut({ session: { userId: account.userId } })
      expect(endpoint.requests.map((request) => Object.fromEntries(new URLSearchParams(request.body)))).toEqual([
        { token: account.accessToken, token_type_hint: "access_token" },
      ])
      expect(Number((await s.fixture.accountRows(account.key))[0]!.expires_at) * 1000).toBeLessThan(Date.now())
      // The refresh token was not sent: it still refreshes, and the next getAccessToken does so.
      const result = await adapter.getAccessToken({ userId: account.userId, provider: PROVIDER_ID })
      expect(result.refreshed).toBe(true)
      seenTokens.add(result.accessToken).add(String(result.account.refresh_token))
      expect((await s.op.userinfo(result.accessToken)).status).toBe(200)
    } finally {
      await endpoint.stop()
    }
  })

  test("control: sign-out without onSignOut leaves the access token working", async () => {
    const account = await signedIn("keep-on-sign-out")
    events.length = 0
    await wrap({ revocation: { providers: [PROVIDER_ID] } }).events.signOut({ session: { userId: account.userId } })
    expect(events).toEqual([])
    expect((await s.op.userinfo(account.accessToken)).status).toBe(200)
  })

  test("no token appears in any event, on any channel, nor in the error", () => {
    const serialized = JSON.stringify(allEvents) + seenErrors.join("\n")
    expect(seenErrors).toHaveLength(1)
    expect(seenTokens.size).toBeGreaterThan(10)
    for (const token of seenTokens) expect(serialized).not.toContain(token)
  })
})

/** Every event of this file on every channel, kept for the final no-token check (tests clear `events`). */
const allEvents: unknown[] = []
const keepAll = (event: unknown) => allEvents.push(event)
beforeAll(() => {
  for (const channel of Object.values(TOKEN_SYNC_CHANNELS)) diagnostics.subscribe(channel, keepAll)
})
afterAll(() => {
  for (const channel of Object.values(TOKEN_SYNC_CHANNELS)) diagnostics.unsubscribe(channel, keepAll)
})

describe("refresh.revocation with tokenEncryption: the token is decrypted before it is sent", () => {
  let s: RefreshScenario
  const codec = tokenEncryption({ keys: randomKeyString("2026-12") })
  useRefreshScenario(
    "revocation_enc",
    {
      cell: "pg",
      login: "revoke-encrypted",
      codec,
      refresh: { revocation: { providers: [PROVIDER_ID] } },
    },
    (started) => {
      ;({ s } = started)
    },
  )

  test("unlink: the stored refresh token is ciphertext, and the provider's (plain) one is revoked", async () => {
    const stored = String((await s.row()).refresh_token)
    const issued = await Promise.resolve(codec.decode(stored, "refresh_token", s.key))
    expect(stored).not.toBe(issued)
    await s.adapter.unlinkAccount!(s.key)
    expect(await s.fixture.accountRows(s.key)).toEqual([])
    const refreshed = await s.op.refresh(issued)
    expect(refreshed.status).toBe(400)
    expect(refreshed.body.error).toBe("invalid_grant")
  })
})
