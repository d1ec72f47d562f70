/**
 * next-auth 4 provider objects name their authorization server by `wellKnown` (the discovery document's
 * full URL) and carry no issuer: GoogleProvider, AzureADProvider, the generic OAuth config. A refresh with
 * such an object, against the real rotating oidc-provider: discovery from that URL, one refresh grant,
 * the rotated tokens stored and working. The Azure AD form (a query on the URL) is fetched as given.
 */
import { describe, expect, test } from "@jest/globals"
import { withTokenSync } from "authjs-adapter-refresh"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { PROVIDER_ID } from "../../src/refresh-bench/scenario.js"
import { useRefreshScenario } from "./scenario-hooks.js"

describe("refresh with a next-auth 4 provider object that carries only wellKnown (real oidc-provider)", () => {
  let s: RefreshScenario

  useRefreshScenario("refresh_well_known", { flavour: "prisma", login: "well-known-user", skewSeconds: 0, provider: { accessTokenTtl: 2 } }, (started) => {
    ;({ s } = started)
  })

  const v4Style = (wellKnown: string) => ({ id: PROVIDER_ID, name: "Local", type: "oauth", wellKnown, clientId: s.op.clientId, clientSecret: s.op.clientSecret })

  test.each([
    ["the standard URL", (issuer: string) => `${issuer}/.well-known/openid-configuration`],
    ["the Azure AD form, with a query", (issuer: string) => `${issuer}/.well-known/openid-configuration?appid=some-client`],
  ])("%s: discovered, refreshed once, rotated tokens stored and accepted by the provider", async (_name, wellKnownOf) => {
    const adapter = withTokenSync(s.fixture.adapter, s.fixture.db as object, { refresh: { providers: [v4Style(wellKnownOf(s.op.issuer))], skewSeconds: 0 } })
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
  })

  test("a wellKnown URL that serves no discovery document (404) fails the refresh cleanly; no grant is sent, nothing written", async () => {
    const adapter = withTokenSync(s.fixture.adapter, s.fixture.db as object, {
      refresh: { providers: [v4Style(`${s.op.issuer}/other-tenant/.well-known/openid-configuration`)], skewSeconds: 0, retries: 0 },
    })
    await s.waitForExpiry(0)
    const before = await s.row()
    const grants = s.op.stats.refreshGrants
    await expect(adapter.getAccessToken({ userId: s.userId, provider: PROVIDER_ID })).rejects.toMatchObject({ code: "PROVIDER_UNAVAILABLE" })
    expect(s.op.stats.refreshGrants).toBe(grants)
    expect(await s.row()).toEqual(before)
  })
})
