/**
 * A token the API refused (issue 19 part 1): `getAccessToken({ refusedAccessToken })` and
 * `fetchWithAccessToken`, against the real rotating provider (oidc-provider: its revocation endpoint revokes
 * the access token, its userinfo endpoint answers 401 `invalid_token` for it), the real Auth.js sign-in and
 * real PostgreSQL (the pg cell), in both coordination modes. The cross-process test runs 2 OS processes of
 * 10 callers each (the storm worker). The APIs other than userinfo are real loopback servers: one refusing
 * the tokens a test names, one answering `insufficient_scope`, one answering 500.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { createHash } from "node:crypto"
import diagnostics from "node:diagnostics_channel"
import { createServer } from "node:http"
import { inspect } from "node:util"
import {
  AccessTokenRefusedError,
  fetchWithAccessToken,
  InsufficientScopeError,
  TOKEN_SYNC_CHANNELS,
  withTokenSync,
  type RefreshOptions,
  type TokenSyncAdapter,
} from "authjs-adapter-refresh"
import { Browser } from "../../src/harness/browser.js"
import { listenOnLoopback } from "../../src/harness/loopback-server.js"
import { startRewritingProxy } from "../../src/harness/rewriting-proxy.js"
import type { TestDatabase } from "../../src/harness/postgres.js"
import { runStorm } from "../../src/refresh-bench/run-storm.js"
import { PROVIDER_ID, type RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { rejection, useRefreshScenario } from "./scenario-hooks.js"

const MODES = ["lock", "lease"] as const
const fingerprint = (token: string): string => createHash("sha256").update(token).digest("hex").slice(0, 16)

/** Every event of every channel, and every error the tests met: the refused tokens must appear in none. */
const events: unknown[] = []
const seenErrors: unknown[] = []
const refusedTokens = new Set<string>()
const listener = (event: unknown) => events.push(event)
beforeAll(() => {
  for (const channel of Object.values(TOKEN_SYNC_CHANNELS)) diagnostics.subscribe(channel, listener)
})
afterAll(() => {
  for (const channel of Object.values(TOKEN_SYNC_CHANNELS)) diagnostics.unsubscribe(channel, listener)
})

/** The error a call rejects with, kept for the leak check. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  const error = await rejection(promise)
  seenErrors.push(error)
  return error
}

/** Everything a leak could hide in: JSON and util.inspect (message, fields, stack, causes) of each value. */
const serialized = (values: unknown[]): string =>
  values
    .map((value) => {
      const json = JSON.stringify(value, (_key, v: unknown) => (v instanceof Error ? inspect(v) : v))
      return `${json}\n${inspect(value, { depth: 8 })}`
    })
    .join("\n")

describe("a token the API refused (real provider, real PostgreSQL)", () => {
  let db: TestDatabase
  let s: RefreshScenario
  useRefreshScenario(
    "refused_token",
    // Access tokens live 10 minutes: every refresh below is caused by a refusal, never by the expiry.
    { cell: "pg", login: "refused-scenario", provider: { accessTokenTtl: 600 } },
    (started) => {
      ;({ db, s } = started)
    },
  )

  /** Another "process": a wrapped adapter of its own (its own flights and interval memory) on the same database. */
  const wrap = (coordination: "lock" | "lease", refresh: Partial<RefreshOptions> = {}): TokenSyncAdapter =>
    withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: { providers: [s.providerConfig], minRefreshIntervalSeconds: 0, coordination, ...refresh },
    })

  /** A real sign-in of `login`: its owner and the access token the provider issued (read from the row). */
  async function signedIn(login: string) {
    const result = await s.app.signIn(new Browser(), { login })
    if (!result.ok) throw new Error(`sign-in failed:\n${result.trace}`)
    const key = { provider: PROVIDER_ID, providerAccountId: login }
    const row = async () => (await s.fixture.accountRows(key))[0]!
    const first = await row()
    return { key, userId: String(first.userId), accessToken: String(first.access_token), row }
  }

  /** Userinfo refuses `token`: 401 with a Bearer `invalid_token` challenge. */
  async function expectRefused(token: string): Promise<void> {
    const info = await s.op.userinfo(token)
    expect(info.status).toBe(401)
    expect(info.headers.get("www-authenticate")).toContain('error="invalid_token"')
  }

  /**
   * Ends `token` at the provider, its grant alive (see destroyAccessToken: the revocation endpoint would
   * revoke the refresh token too); userinfo then answers 401 invalid_token.
   */
  async function revokeAccessToken(token: string): Promise<void> {
    refusedTokens.add(token)
    await s.op.destroyAccessToken(token)
    await expectRefused(token)
  }

  test("the access token revoked at the provider's RFC 7009 endpoint: userinfo 401, reported; the grant went with it (oidc-provider 9), so RefreshTokenError, never the token; after a new sign-in, the sign-in's token with no grant", async () => {
    const adapter = wrap("lock")
    const account = await signedIn("refused-endpoint")
    refusedTokens.add(account.accessToken)
    expect((await s.op.revoke(account.accessToken, "access_token")).status).toBe(200)
    await expectRefused(account.accessToken)
    const params = { userId: account.userId, provider: PROVIDER_ID, refusedAccessToken: account.accessToken }
    const error = await failure(adapter.getAccessToken(params))
    expect(error).toMatchObject({ code: "REFRESH_INVALID_GRANT", reason: "invalid_grant" })
    expect(events).toContainEqual(
      expect.objectContaining({ reason: "refresh_token_refused", providerAccountId: "refused-endpoint" }),
    )

    // The user signs in again (the real flow); the old refusal now finds the sign-in's token stored.
    await signedIn("refused-endpoint")
    const grants = s.op.stats.refreshGrants
    const after = await adapter.getAccessToken(params)
    expect(after.refreshed).toBe(false)
    expect(after.accessToken === account.accessToken).toBe(false)
    expect(s.op.stats.refreshGrants - grants).toBe(0)
    expect((await s.op.userinfo(after.accessToken)).status).toBe(200)
  }, 60_000)

  describe.each(MODES)("%s mode", (coordination) => {
    test("access token ended at the provider: userinfo 401, reported, then a token userinfo accepts; one grant", async () => {
      const adapter = wrap(coordination)
      const account = await signedIn(`refused-revoked-${coordination}`)
      await revokeAccessToken(account.accessToken)
      // Control: unreported, the stored token has not expired, so getAccessToken hands back the revoked one.
      const unreported = await adapter.getAccessToken({ userId: account.userId, provider: PROVIDER_ID })
      expect(unreported.refreshed).toBe(false)
      expect(unreported.accessToken === account.accessToken).toBe(true)

      const grants = s.op.stats.refreshGrants
      const result = await adapter.getAccessToken({
        userId: account.userId,
        provider: PROVIDER_ID,
        refusedAccessToken: account.accessToken,
      })
      expect(result.refreshed).toBe(true)
      expect(result.accessToken === account.accessToken).toBe(false)
      expect(s.op.stats.refreshGrants - grants).toBe(1)
      expect((await s.op.userinfo(result.accessToken)).status).toBe(200)
      expect((await account.row()).access_token === result.accessToken).toBe(true)
    }, 60_000)

    test("another process replaced it: that token comes back with no request to the provider", async () => {
      const [a, b] = [wrap(coordination), wrap(coordination)]
      const account = await signedIn(`refused-replaced-${coordination}`)
      await revokeAccessToken(account.accessToken)
      const params = { userId: account.userId, provider: PROVIDER_ID, refusedAccessToken: account.accessToken }
      const replaced = await a.getAccessToken(params)
      expect(replaced.refreshed).toBe(true)
      const grants = s.op.stats.refreshGrants
      const late = await b.getAccessToken(params)
      expect(late.refreshed).toBe(false)
      expect(late.accessToken === replaced.accessToken).toBe(true)
      expect(s.op.stats.refreshGrants - grants).toBe(0)
    }, 60_000)

    test("the interval: a second refusal within it gets AccessTokenRefusedError (retryAfterMs), no grant, never the refused token; after it, a refresh", async () => {
      const adapter = wrap(coordination, { refusedTokenIntervalSeconds: 2 })
      const account = await signedIn(`refused-interval-${coordination}`)
      const first = await adapter.getAccessToken({
        userId: account.userId,
        provider: PROVIDER_ID,
        refusedAccessToken: account.accessToken,
      })
      refusedTokens.add(account.accessToken).add(first.accessToken)
      // The API refuses the new token too (a provider issuing tokens the API refuses).
      const params = { userId: account.userId, provider: PROVIDER_ID, refusedAccessToken: first.accessToken }
      const grants = s.op.stats.refreshGrants
      const error = await failure(adapter.getAccessToken(params))
      expect(error).toBeInstanceOf(AccessTokenRefusedError)
      expect(error).toMatchObject({ code: "ACCESS_TOKEN_REFUSED", reason: "interval", providerCalled: false })
      const retryAfterMs = (error as AccessTokenRefusedError).retryAfterMs
      expect(retryAfterMs).toBeGreaterThan(0)
      expect(retryAfterMs).toBeLessThanOrEqual(2_000)
      expect(s.op.stats.refreshGrants - grants).toBe(0)
      // An unreported call still gets the stored token: the interval limits refreshes, not reads.
      expect((await adapter.getAccessToken({ userId: account.userId, provider: PROVIDER_ID })).refreshed).toBe(false)

      await new Promise((resolve) => setTimeout(resolve, retryAfterMs + 50))
      const later = await adapter.getAccessToken(params)
      expect(later.refreshed).toBe(true)
      expect(later.accessToken === first.accessToken).toBe(false)
      expect(s.op.stats.refreshGrants - grants).toBe(1)
    }, 60_000)

    test("control: with refusedTokenIntervalSeconds 0 the second refusal refreshes at once", async () => {
      const adapter = wrap(coordination, { refusedTokenIntervalSeconds: 0 })
      const account = await signedIn(`refused-no-interval-${coordination}`)
      const first = await adapter.getAccessToken({
        userId: account.userId,
        provider: PROVIDER_ID,
        refusedAccessToken: account.accessToken,
      })
      refusedTokens.add(account.accessToken).add(first.accessToken)
      const grants = s.op.stats.refreshGrants
      const second = await adapter.getAccessToken({
        userId: account.userId,
        provider: PROVIDER_ID,
        refusedAccessToken: first.accessToken,
      })
      expect(second.refreshed).toBe(true)
      expect(s.op.stats.refreshGrants - grants).toBe(1)
    }, 60_000)

    test("2 processes x 10 callers report the same refused token: one grant, one new token for all", async () => {
      const account = await signedIn(`refused-storm-${coordination}`)
      await revokeAccessToken(account.accessToken)
      const base = {
        cell: "pg" as const,
        databaseUrl: db.url,
        provider: s.provider,
        userId: account.userId,
        providerAccountId: account.key.providerAccountId,
        mode: "library" as const,
        skewSeconds: 0,
        coordination,
      }
      // Control: the same storm without the report refreshes nothing and hands out the refused token.
      const grantsBefore = s.op.stats.refreshGrants
      const errorsBefore = s.op.stats.refreshErrors.length
      const unreported = await runStorm(base, { processes: 2, callersPerProcess: 10 })
      expect(unreported.outcomes.map((o) => o.tokenFingerprint)).toEqual(
        Array(20).fill(fingerprint(account.accessToken)),
      )
      expect(s.op.stats.refreshGrants - grantsBefore).toBe(0)

      const storm = await runStorm(
        { ...base, refusedAccessToken: account.accessToken },
        { processes: 2, callersPerProcess: 10 },
      )
      expect(storm.outcomes.filter((o) => !o.ok).map((o) => o.error)).toEqual([])
      expect(storm.outcomes).toHaveLength(20)
      expect(s.op.stats.refreshGrants - grantsBefore).toBe(1)
      // The winning process's flight says it refreshed; the other process's callers found the new token.
      expect(storm.outcomes.some((o) => o.refreshed)).toBe(true)
      const stored = String((await account.row()).access_token)
      expect([...new Set(storm.outcomes.map((o) => o.tokenFingerprint))]).toEqual([fingerprint(stored)])
      expect(stored === account.accessToken).toBe(false)
      expect((await s.op.userinfo(stored)).status).toBe(200)
      expect(s.op.stats.refreshErrors.length - errorsBefore).toBe(0)
    }, 120_000)
  })

  test("[rewriting proxy: the refresh answer carries the refused token again] AccessTokenRefusedError reissued, the rotated refresh token stored", async () => {
    const proxy = await startRewritingProxy(s.op.endpoints.token)
    try {
      const adapter = wrap("lock", { providers: [{ ...s.providerConfig, token: proxy.url }] })
      const account = await signedIn("refused-reissued")
      refusedTokens.add(account.accessToken)
      proxy.rewrite = (body, status) => (status === 200 ? { ...body, access_token: account.accessToken } : undefined)
      const grants = s.op.stats.refreshGrants
      const params = { userId: account.userId, provider: PROVIDER_ID, refusedAccessToken: account.accessToken }
      const error = await failure(adapter.getAccessToken(params))
      expect(error).toMatchObject({ code: "ACCESS_TOKEN_REFUSED", reason: "reissued", providerCalled: true })
      expect((error as AccessTokenRefusedError).retryAfterMs).toBeGreaterThan(0)
      expect(s.op.stats.refreshGrants - grants).toBe(1)
      // The provider rotated the refresh token: the new one is stored and alive, so nothing was lost.
      const row = await account.row()
      expect(row.refresh_token).toBe(s.op.lastIssued("refresh_token")?.value)
      // Within the interval a second report sends nothing.
      const again = await failure(adapter.getAccessToken(params))
      expect(again).toMatchObject({ code: "ACCESS_TOKEN_REFUSED", reason: "interval", providerCalled: false })
      expect(s.op.stats.refreshGrants - grants).toBe(1)
    } finally {
      await proxy.stop()
    }
  }, 60_000)

  test("with refresh.cache: a refused token the cache holds is not served from it; the row is compared", async () => {
    const adapter = wrap("lock", { cache: {} })
    try {
      const account = await signedIn("refused-cached")
      await revokeAccessToken(account.accessToken)
      const params = { userId: account.userId, provider: PROVIDER_ID }
      await adapter.getAccessToken(params)
      const hits = adapter.tokenCache!.stats().hits
      expect((await adapter.getAccessToken(params)).accessToken === account.accessToken).toBe(true)
      expect(adapter.tokenCache!.stats().hits).toBe(hits + 1) // the cache holds the refused token
      const result = await adapter.getAccessToken({ ...params, refusedAccessToken: account.accessToken })
      expect(result.refreshed).toBe(true)
      expect(result.accessToken === account.accessToken).toBe(false)
      expect((await s.op.userinfo(result.accessToken)).status).toBe(200)
    } finally {
      await adapter.tokenCache!.close()
    }
  }, 60_000)

  test("bad input: an empty refusedAccessToken, a negative interval; typed errors", async () => {
    const account = await signedIn("refused-bad-input")
    const error = await failure(
      s.adapter.getAccessToken({ userId: account.userId, provider: PROVIDER_ID, refusedAccessToken: "" }),
    )
    expect(error).toMatchObject({ code: "INVALID_ACCOUNT_INPUT", field: "refusedAccessToken" })
    expect(() => wrap("lock", { refusedTokenIntervalSeconds: -1 })).toThrow(
      expect.objectContaining({ code: "INVALID_OPTIONS", option: "refresh.refusedTokenIntervalSeconds" }),
    )
  }, 60_000)

  describe("fetchWithAccessToken (RFC 6750 §3.1)", () => {
    test("userinfo with an ended access token: 401, one refresh, one retry, 200", async () => {
      const adapter = wrap("lock")
      const account = await signedIn("refused-fetch-userinfo")
      await revokeAccessToken(account.accessToken)
      const params = { userId: account.userId, provider: PROVIDER_ID }
      // Control: plain fetch with the token getAccessToken hands out gets the 401.
      const { accessToken } = await adapter.getAccessToken(params)
      const plain = await fetch(s.op.endpoints.userinfo, { headers: { authorization: `Bearer ${accessToken}` } })
      expect(plain.status).toBe(401)
      await plain.body?.cancel()

      const grants = s.op.stats.refreshGrants
      const response = await fetchWithAccessToken(adapter, params, s.op.endpoints.userinfo)
      expect(response.status).toBe(200)
      expect(((await response.json()) as { sub?: string }).sub).toBe("refused-fetch-userinfo")
      expect(s.op.stats.refreshGrants - grants).toBe(1)
    }, 60_000)

    test("userinfo with an access token revoked at the RFC 7009 endpoint (the grant with it): RefreshTokenError", async () => {
      const adapter = wrap("lock")
      const account = await signedIn("refused-fetch-endpoint")
      refusedTokens.add(account.accessToken)
      expect((await s.op.revoke(account.accessToken, "access_token")).status).toBe(200)
      const error = await failure(
        fetchWithAccessToken(adapter, { userId: account.userId, provider: PROVIDER_ID }, s.op.endpoints.userinfo),
      )
      expect(error).toMatchObject({ code: "REFRESH_INVALID_GRANT" })
      expect(s.op.stats.refreshErrors.map((e) => e.error)).toContain("invalid_grant")
    }, 60_000)

    /** A real API on loopback: 401 invalid_token for the tokens in `refused`, else what `answer` says. */
    async function api(answer: (token: string) => { status: number; challenge?: string }) {
      const refused = new Set<string>()
      const seen: { token: string; body: string }[] = []
      const server = createServer((request, response) => {
        let body = ""
        request.on("data", (chunk: Buffer) => (body += chunk.toString()))
        request.on("end", () => {
          const token = String(request.headers.authorization ?? "").replace(/^Bearer /, "")
          seen.push({ token, body })
          const { status, challenge } = refused.has(token)
            ? { status: 401, challenge: 'Bearer realm="api", error="invalid_token"' }
            : answer(token)
          response.writeHead(status, challenge ? { "www-authenticate": challenge } : {}).end(`status ${status}`)
        })
      })
      const listening = await listenOnLoopback(server)
      return { ...listening, refused, seen, url: `http://127.0.0.1:${listening.port}/resource` }
    }

    test("a body sent as a stream is not retried: the 401 comes back; control: a string body is retried", async () => {
      const server = await api(() => ({ status: 200 }))
      try {
        const adapter = wrap("lock", { refusedTokenIntervalSeconds: 0 })
        const account = await signedIn("refused-fetch-stream")
        const params = { userId: account.userId, provider: PROVIDER_ID }
        server.refused.add(account.accessToken)
        refusedTokens.add(account.accessToken)
        const grants = s.op.stats.refreshGrants
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode("streamed"))
            controller.close()
          },
        })
        const streamed = await fetchWithAccessToken(adapter, params, server.url, {
          method: "POST",
          body: stream,
          duplex: "half",
        } as RequestInit)
        expect(streamed.status).toBe(401)
        expect(server.seen.map((r) => r.body)).toEqual(["streamed"])
        expect(s.op.stats.refreshGrants - grants).toBe(0)

        const retried = await fetchWithAccessToken(adapter, params, server.url, { method: "POST", body: "again" })
        expect(retried.status).toBe(200)
        expect(server.seen.map((r) => r.body)).toEqual(["streamed", "again", "again"])
        expect(server.seen[2]!.token === account.accessToken).toBe(false)
        expect(s.op.stats.refreshGrants - grants).toBe(1)
      } finally {
        await server.stop()
      }
    }, 60_000)

    test("a 401 without a challenge is retried once; a second 401 is returned as it is", async () => {
      const server = await api(() => ({ status: 401 }))
      try {
        const adapter = wrap("lock", { refusedTokenIntervalSeconds: 0 })
        const account = await signedIn("refused-fetch-bare-401")
        refusedTokens.add(account.accessToken)
        const grants = s.op.stats.refreshGrants
        const response = await fetchWithAccessToken(
          adapter,
          { userId: account.userId, provider: PROVIDER_ID },
          server.url,
        )
        expect(response.status).toBe(401)
        expect(server.seen).toHaveLength(2)
        expect(server.seen[1]!.token === server.seen[0]!.token).toBe(false)
        for (const { token } of server.seen) refusedTokens.add(token)
        expect(s.op.stats.refreshGrants - grants).toBe(1)
      } finally {
        await server.stop()
      }
    }, 60_000)

    test("insufficient_scope: InsufficientScopeError naming the API's scopes, no refresh, no retry", async () => {
      const server = await api(() => ({
        status: 403,
        challenge: 'Bearer realm="api", error="insufficient_scope", scope="calendar.read contacts"',
      }))
      try {
        const adapter = wrap("lock")
        const account = await signedIn("refused-fetch-scope")
        const grants = s.op.stats.refreshGrants
        const error = await failure(
          fetchWithAccessToken(adapter, { userId: account.userId, provider: PROVIDER_ID }, server.url),
        )
        expect(error).toBeInstanceOf(InsufficientScopeError)
        expect(error).toMatchObject({ source: "resource_server", missingScopes: ["calendar.read", "contacts"] })
        expect(server.seen).toHaveLength(1)
        expect(s.op.stats.refreshGrants - grants).toBe(0)
      } finally {
        await server.stop()
      }
    }, 60_000)

    test("other statuses come back as they are: a 500 is sent once, nothing refreshed", async () => {
      const server = await api(() => ({ status: 500 }))
      try {
        const adapter = wrap("lock")
        const account = await signedIn("refused-fetch-500")
        const grants = s.op.stats.refreshGrants
        const response = await fetchWithAccessToken(
          adapter,
          { userId: account.userId, provider: PROVIDER_ID },
          server.url,
        )
        expect(response.status).toBe(500)
        expect(await response.text()).toBe("status 500")
        expect(server.seen).toHaveLength(1)
        expect(s.op.stats.refreshGrants - grants).toBe(0)
      } finally {
        await server.stop()
      }
    }, 60_000)
  })

  test("no refused token in any event or error; control: the search finds a token that is there", () => {
    expect(refusedTokens.size).toBeGreaterThanOrEqual(8)
    expect(events.length).toBeGreaterThan(20)
    expect(seenErrors.length).toBeGreaterThanOrEqual(2)
    const text = serialized([...events, ...seenErrors])
    const leaked = [...refusedTokens].filter((token) => text.includes(token))
    expect(leaked.length).toBe(0)
    // Control: the same serialization of an error carrying a token does contain it.
    const [probe] = refusedTokens
    const carrier = Object.assign(new Error("probe"), { token: probe })
    expect(serialized([carrier]).includes(probe!)).toBe(true)
  })
})
