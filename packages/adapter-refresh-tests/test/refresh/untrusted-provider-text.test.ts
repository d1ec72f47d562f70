/**
 * Provider text is untrusted (issue 7, part 5, provider half), against the real rotating oidc-provider:
 * an OAuth `error` code outside RFC 6749's character set is not kept, `error_description` never reaches
 * a message, and a token endpoint found by discovery passes the same rule as a configured one (plain http
 * only on loopback). oidc-provider cannot be made to answer like that, so a real HTTP proxy rewrites its
 * real answers; the tests say so.
 */
import { afterAll, describe, expect, test } from "@jest/globals"
import { inspect } from "node:util"
import { ProviderUnavailableError, RefreshTokenError, withTokenSync } from "authjs-adapter-refresh"
import { startRewritingProxy, type RewritingProxy } from "../../src/harness/rewriting-proxy.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { rejection, useRefreshScenario } from "./scenario-hooks.js"

describe("untrusted provider text (pg, real oidc-provider with rotation)", () => {
  let s: RefreshScenario
  const proxies: RewritingProxy[] = []

  useRefreshScenario(
    "refresh_untrusted_text",
    { cell: "pg", login: "untrusted-text-user", skewSeconds: 0, provider: { accessTokenTtl: 2 } },
    (started) => {
      ;({ s } = started)
    },
  )
  afterAll(async () => {
    for (const proxy of proxies) await proxy.stop()
  })
  test("[rewriting proxy: the real invalid_grant answer with an odd error code and a description] the code is not kept, the description is in no message", async () => {
    const proxy = await startRewritingProxy(s.op.endpoints.token)
    proxies.push(proxy)
    const adapter = withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: {
        providers: [{ ...s.providerConfig, token: proxy.url }],
        skewSeconds: 0,
        minRefreshIntervalSeconds: 0,
        retries: 0,
      },
    })
    await s.waitForExpiry(0)
    const before = await s.row()
    const grantId = s.op.issuedOf("refresh_token").find((t) => t.value === before.refresh_token)?.grantId
    await s.op.revokeGrant(grantId!) // the provider now really answers 400 invalid_grant
    const DESCRIPTION = "DESCRIPTION-FROM-THE-PROVIDER <script>alert(1)</script>"
    proxy.rewrite = (body, status) =>
      status === 200 ? undefined : { error: 'invalid_grant"\n<b>', error_description: DESCRIPTION }
    const error = await rejection(adapter.getAccessToken({ userId: s.userId, provider: s.key.provider }))
    expect(error).toBeInstanceOf(ProviderUnavailableError)
    expect(error).not.toBeInstanceOf(RefreshTokenError) // an unverifiable code decides nothing
    const typed = error as ProviderUnavailableError
    expect({ kind: typed.kind, status: typed.status, oauthError: typed.oauthError }).toEqual({
      kind: "http_status",
      status: 400,
      oauthError: undefined,
    })
    const text = `${typed.message}\n${inspect(typed, { depth: 10, showHidden: true })}\n${JSON.stringify(typed)}`
    expect(text).not.toContain("DESCRIPTION-FROM-THE-PROVIDER")
    expect(text).not.toContain("<b>")

    // The same answer with a well-formed code is understood: the user must sign in again.
    proxy.rewrite = (body, status) =>
      status === 200 ? undefined : { error: "invalid_grant", error_description: DESCRIPTION }
    const refused = await rejection(adapter.getAccessToken({ userId: s.userId, provider: s.key.provider }))
    expect(refused).toBeInstanceOf(RefreshTokenError)
    expect((refused as Error).message).not.toContain("DESCRIPTION-FROM-THE-PROVIDER")
    expect((await s.app.signIn(s.browser, { login: s.login, forceLogin: true })).ok).toBe(true)
  }, 30_000)
  test("[rewriting proxy: the real discovery document with a plain-http, non-loopback token_endpoint] refused before any token request; no grant, nothing written", async () => {
    const proxy = await startRewritingProxy(s.op.issuer)
    proxies.push(proxy)
    const issuer = proxy.url.replace(/\/$/, "")
    proxy.rewrite = (body) =>
      "token_endpoint" in body ? { ...body, issuer, token_endpoint: "http://10.1.2.3/token" } : undefined
    const adapter = withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: {
        providers: [{ ...s.providerConfig, issuer }],
        skewSeconds: 0,
        minRefreshIntervalSeconds: 0,
        retries: 0,
      },
    })
    await s.waitForExpiry(0)
    const before = await s.row()
    const grants = s.op.stats.refreshGrants + s.op.stats.refreshErrors.length
    const error = await rejection(adapter.getAccessToken({ userId: s.userId, provider: s.key.provider }))
    expect(error).toBeInstanceOf(ProviderUnavailableError)
    expect((error as ProviderUnavailableError).kind).toBe("discovery")
    expect((error as Error).message).toMatch(/token_endpoint is not https/)
    expect(proxy.requests).toBe(1) // the discovery document only
    expect(s.op.stats.refreshGrants + s.op.stats.refreshErrors.length).toBe(grants)
    expect(await s.row()).toEqual(before)

    // The same document with its real (loopback) token endpoint is accepted.
    proxy.rewrite = (body) => ("token_endpoint" in body ? { ...body, issuer } : undefined)
    const result = await adapter.getAccessToken({ userId: s.userId, provider: s.key.provider })
    expect(result.refreshed).toBe(true)
    expect((await s.op.userinfo(result.accessToken)).status).toBe(200)
  }, 30_000)
})
