/**
 * next-auth 4 provider objects name their authorization server by `wellKnown` (the discovery document's
 * full URL) and carry no issuer: GoogleProvider, AzureADProvider, the generic OAuth config. A refresh with
 * such an object, against the real rotating oidc-provider: discovery from that URL, one refresh grant,
 * the rotated tokens stored and working. The Azure AD form (a query on the URL) is fetched as given.
 * Documents that break the rules come from a real HTTP proxy in front of the provider's real discovery
 * document, rewriting it (the tests' names say so).
 */

/** Serves the provider's real discovery document under any path, passed through `rewrite`. */
async function startDiscoveryProxy(realDocumentUrl: string) {
  const proxy = { url: "", requests: 0, rewrite: (doc: Record<string, unknown>, _proxyUrl: string) => doc }
  const server: Server = createServer((req, res) => {
    proxy.requests++
    void (async () => {
      const doc = (await (await fetch(realDocumentUrl)).json()) as Record<string, unknown>
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(proxy.rewrite(doc, proxy.url)))
    })().catch(() => res.writeHead(502).end())
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const stop = () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve())))
  return { proxy, stop }
}
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { withTokenSync } from "authjs-adapter-refresh"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { PROVIDER_ID } from "../../src/refresh-bench/scenario.js"
import { useRefreshScenario } from "./scenario-hooks.js"

describe("refresh with a next-auth 4 provider object that carries only wellKnown (real oidc-provider)", () => {
  let s: RefreshScenario

  useRefreshScenario(
    "refresh_well_known",
    { cell: "prisma", login: "well-known-user", skewSeconds: 0, provider: { accessTokenTtl: 2 } },
    (started) => {
      ;({ s } = started)
    },
  )

  let discovery: Awaited<ReturnType<typeof startDiscoveryProxy>>
  beforeAll(async () => {
    discovery = await startDiscoveryProxy(`${s.op.issuer}/.well-known/openid-configuration`)
  })
  afterAll(async () => {
    await discovery?.stop()
  })

  const v4Style = (wellKnown: string) => ({
    id: PROVIDER_ID,
    name: "Local",
    type: "oauth",
    wellKnown,
    clientId: s.op.clientId,
    clientSecret: s.op.clientSecret,
  })

  test.each([
    ["the standard URL", (issuer: string) => `${issuer}/.well-known/openid-configuration`],
    [
      "the Azure AD form, with a query",
      (issuer: string) => `${issuer}/.well-known/openid-configuration?appid=some-client`,
    ],
  ])(
    "%s: discovered, refreshed once, rotated tokens stored and accepted by the provider",
    async (_name, wellKnownOf) => {
      const adapter = withTokenSync(s.fixture.adapter, s.fixture.db as object, {
        refresh: { providers: [v4Style(wellKnownOf(s.op.issuer))], skewSeconds: 0, minRefreshIntervalSeconds: 0 },
      })
      await s.waitForExpiry(0)
      const before = await s.row()
      const grants = s.op.stats.refreshGrants

      const result = await adapter.getAccessToken({ userId: s.userId, provider: PROVIDER_ID })

      expect(result.refreshed).toBe(true)
      expect(s.op.stats.refreshGrants - grants).toBe(1)
      const after = await s.row()
      expect(after.access_token).toBe(result.accessToken)
      expect(after.access_token).not.toBe(before.access_token)
      expect(after.refresh_token).not.toBe(before.refresh_token) // the provider rotates
      expect((await s.op.userinfo(result.accessToken)).status).toBe(200)
    },
  )
  test("a wellKnown URL that serves no discovery document (404) fails the refresh cleanly; no grant is sent, nothing written", async () => {
    const adapter = withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: {
        providers: [v4Style(`${s.op.issuer}/other-tenant/.well-known/openid-configuration`)],
        skewSeconds: 0,
        minRefreshIntervalSeconds: 0,
        retries: 0,
      },
    })
    await s.waitForExpiry(0)
    const before = await s.row()
    const grants = s.op.stats.refreshGrants
    await expect(adapter.getAccessToken({ userId: s.userId, provider: PROVIDER_ID })).rejects.toMatchObject({
      code: "PROVIDER_UNAVAILABLE",
    })
    expect(s.op.stats.refreshGrants).toBe(grants)
    expect(await s.row()).toEqual(before)
  })
  test("Azure AD multi-tenant: a {tenantid} issuer template (real HTTP proxy rewriting the document) refreshes; the unverifiable refreshed id_token is not stored", async () => {
    discovery.proxy.rewrite = (doc, proxyUrl) => ({ ...doc, issuer: `${proxyUrl}/{tenantid}/v2.0` })
    const wellKnown = `${discovery.proxy.url}/common/v2.0/.well-known/openid-configuration?appid=${s.op.clientId}`
    const adapter = withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: { providers: [v4Style(wellKnown)], skewSeconds: 0, minRefreshIntervalSeconds: 0 },
    })
    await s.waitForExpiry(0)
    const before = await s.row()
    expect(String(before.id_token)).toMatch(/^eyJ/)

    const result = await adapter.getAccessToken({ userId: s.userId, provider: PROVIDER_ID })

    expect(result.refreshed).toBe(true)
    // The provider's refresh response carries a new id_token whose iss is its real issuer, not the
    // template: checked as is, it would fail the refresh after the provider already rotated the token.
    const after = await s.row()
    expect(after.access_token).toBe(result.accessToken)
    expect(after.access_token).not.toBe(before.access_token)
    // It is left out; the stored one is kept.
    expect(after.id_token).toBe(before.id_token)
  })
  test("a standard wellKnown URL whose document names another issuer (real HTTP proxy serving the real document elsewhere) is refused: no grant, nothing written", async () => {
    discovery.proxy.rewrite = (doc) => doc // issuer stays the provider's, the URL says ${proxy}/tenant-x
    const adapter = withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: {
        providers: [v4Style(`${discovery.proxy.url}/tenant-x/.well-known/openid-configuration`)],
        skewSeconds: 0,
        minRefreshIntervalSeconds: 0,
        retries: 0,
      },
    })
    await s.waitForExpiry(0)
    const before = await s.row()
    const grants = s.op.stats.refreshGrants
    const error = await adapter.getAccessToken({ userId: s.userId, provider: PROVIDER_ID }).catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: "PROVIDER_UNAVAILABLE",
      kind: "discovery",
      message: expect.stringContaining("issuer does not match the expected issuer"),
    })
    expect(s.op.stats.refreshGrants).toBe(grants)
    expect(await s.row()).toEqual(before)
  })
  test("a document whose token_endpoint is plain http on a non-loopback host (real HTTP proxy rewriting it) is refused before any request", async () => {
    discovery.proxy.rewrite = (doc) => ({ ...doc, token_endpoint: "http://token.example.test/token" })
    const adapter = withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: {
        providers: [v4Style(`${discovery.proxy.url}/any/.well-known/openid-configuration?x=1`)],
        skewSeconds: 0,
        minRefreshIntervalSeconds: 0,
        retries: 0,
      },
    })
    await s.waitForExpiry(0)
    const before = await s.row()
    const error = await adapter.getAccessToken({ userId: s.userId, provider: PROVIDER_ID }).catch((e: unknown) => e)
    expect(error).toMatchObject({
      code: "PROVIDER_UNAVAILABLE",
      kind: "discovery",
      message: expect.stringContaining("token_endpoint is not https"),
    })
    expect(await s.row()).toEqual(before)
  })
  test("next-auth 5's MicrosoftEntraID default (issuer .../common/v2.0, a {tenantid} template in the document; real HTTP proxy rewriting it) refreshes", async () => {
    discovery.proxy.rewrite = (doc, proxyUrl) => ({ ...doc, issuer: `${proxyUrl}/{tenantid}/v2.0` })
    const entra = {
      id: PROVIDER_ID,
      type: "oidc",
      issuer: `${discovery.proxy.url}/common/v2.0/`,
      clientId: s.op.clientId,
      clientSecret: s.op.clientSecret,
    }
    const adapter = withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: { providers: [entra], skewSeconds: 0, minRefreshIntervalSeconds: 0 },
    })
    await s.waitForExpiry(0)
    const before = await s.row()
    const result = await adapter.getAccessToken({ userId: s.userId, provider: PROVIDER_ID })
    expect(result.refreshed).toBe(true)
    const after = await s.row()
    expect(after.access_token).toBe(result.accessToken)
    expect(after.id_token).toBe(before.id_token)

    // A template that is not the issuer's (another path) is still refused.
    discovery.proxy.rewrite = (doc, proxyUrl) => ({ ...doc, issuer: `${proxyUrl}/{tenantid}/v3.0` })
    const other = withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: { providers: [entra], skewSeconds: 0, minRefreshIntervalSeconds: 0, retries: 0 },
    })
    await s.waitForExpiry(0)
    const grants = s.op.stats.refreshGrants
    await expect(other.getAccessToken({ userId: s.userId, provider: PROVIDER_ID })).rejects.toMatchObject({
      code: "PROVIDER_UNAVAILABLE",
      kind: "discovery",
    })
    expect(s.op.stats.refreshGrants).toBe(grants)
  })
})
