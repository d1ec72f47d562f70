/**
 * Sign-ins (the real Auth.js flow through withTokenSync) interleaved with refreshes of the same account
 * from two independent engines (as in two processes), against a real rotating provider. Sign-in syncs and
 * refreshes take the same account lock, so a sign-in landing during a refresh is applied after it and an
 * older refresh result can never overwrite it. The stored tokens end as the newest the provider issued,
 * and they work.
 */
import { describe, expect, test } from "@jest/globals"
import { withTokenSync, type TokenSyncAdapter } from "authjs-adapter-refresh"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { stormOutlastedItsToken } from "../../src/refresh-bench/storm-grants.js"
import { useRefreshScenario } from "./scenario-hooks.js"
import type { PgCell } from "../../src/fixtures/databases.js"

const ROUNDS = 5
const CALLERS = 20
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.each<PgCell>(["kysely", "prisma"])("sign-ins interleaved with refreshes (%s)", (cell) => {
  let s: RefreshScenario
  let second: TokenSyncAdapter

  useRefreshScenario(
    `refresh_mixed_${cell}`,
    { cell, login: `mixed-${cell}`, skewSeconds: 0, provider: { accessTokenTtl: 2 } },
    (started) => {
      ;({ s } = started)
      second = withTokenSync(s.fixture.adapter, s.fixture.db as object, {
        refresh: { providers: [s.providerConfig], skewSeconds: 0, minRefreshIntervalSeconds: 0 },
      })
    },
  )

  /**
   * The stored access token works: userinfo accepts it, or it is past its own 2 s lifetime (a loaded CI machine
   * can take that long between the round and this check) while its grant is still alive. A revoked grant fails
   * both: its access token is refused before its expiry, and its refresh token stops introspecting as active.
   */
  const expectAccessTokenWorks = async (token: string) => {
    const checkedAt = Date.now()
    const status = (await s.op.userinfo(token)).status
    if (status === 200) return
    const expiresAt = s.op.issued.find((t) => t.value === token)?.expiresAt
    expect({ status, expiredBeforeCheck: expiresAt !== undefined && expiresAt * 1000 <= checkedAt }).toEqual({
      status: 401,
      expiredBeforeCheck: true,
    })
  }

  test(`${ROUNDS} rounds of one sign-in racing ${CALLERS} getAccessToken calls from two engines`, async () => {
    const issuedAt = (value: unknown) => s.op.issued.find((t) => t.value === value)?.issuedAt ?? -1
    let refreshesDuringRounds = 0
    for (let round = 1; round <= ROUNDS; round++) {
      await s.waitForExpiry(0)
      const grants = s.op.stats.refreshGrants
      const issuedBefore = s.op.issuedOf("access_token").length
      const [signIn, ...results] = await Promise.all([
        s.app.signIn(s.browser, { login: s.login, forceLogin: true }),
        ...Array.from({ length: CALLERS }, async (_, i) => {
          await sleep((i * 37) % 250) // spread the callers over the sign-in's duration
          return (i % 2 ? second : s.adapter).getAccessToken({ userId: s.userId, provider: s.key.provider })
        }),
      ])
      expect({ round, ok: signIn.ok }).toEqual({ round, ok: true })
      refreshesDuringRounds += s.op.stats.refreshGrants - grants
      // At most one refresh per expiry, even with two engines: a second refresh in one round only once the first
      // one's token had expired (a round that outlasted the 2 s token on a loaded machine; storm-grants.ts).
      const refreshed = s.op
        .issuedOf("access_token")
        .slice(issuedBefore)
        .filter((t) => t.gty?.includes("refresh"))
      const eachAnsweredAnExpiry = refreshed.length <= 1 || stormOutlastedItsToken(refreshed)
      expect({ round, refreshes: refreshed.length, eachAnsweredAnExpiry }).toEqual({
        round,
        refreshes: s.op.stats.refreshGrants - grants,
        eachAnsweredAnExpiry: true,
      })
      for (const result of results) expect(result.accessToken).toBeTruthy()

      const row = await s.row()
      const signInToken = s.op.issued.filter((t) => t.kind === "access_token" && t.gty === "authorization_code").at(-1)!
      // Never an older refresh result over the sign-in: what is stored was issued no earlier than the sign-in's token.
      expect(issuedAt(row.access_token)).toBeGreaterThanOrEqual(signInToken.issuedAt)
      await expectAccessTokenWorks(String(row.access_token))
      expect((await s.op.introspect(String(row.refresh_token), "refresh_token")).body.active).toBe(true)
    }
    // The races above did refresh sometimes (otherwise this test would prove little).
    expect(refreshesDuringRounds).toBeGreaterThan(0)

    // After the last expiry: one more refresh, and the stored tokens are the newest the provider issued.
    await s.waitForExpiry(0)
    const final = await second.getAccessToken({ userId: s.userId, provider: s.key.provider })
    expect(final.refreshed).toBe(true)
    const row = await s.row()
    expect(row.access_token).toBe(s.op.lastIssued("access_token")?.value)
    expect(row.refresh_token).toBe(s.op.lastIssued("refresh_token")?.value)
    await expectAccessTokenWorks(String(row.access_token))
    expect(s.op.stats.refreshErrors).toEqual([])
    expect(s.op.stats.grantsRevoked).toBe(0)
    expect((await s.op.refresh(String(row.refresh_token))).status).toBe(200)
  }, 90_000)
})
