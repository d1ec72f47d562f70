/**
 * Exactly one refresh per expiry, across OS processes, against a real rotating provider (oidc-provider,
 * rotateRefreshToken: true: reusing a consumed refresh token fails with invalid_grant and revokes the grant).
 *
 * Storm: 4 processes x 25 concurrent callers on one expired account, over 3 consecutive expiries.
 * Control: the naive read -> refresh -> write run by the same harness must break the grant, or the storm
 * proves nothing.
 */
import { describe, expect, test } from "@jest/globals"
import { createHash } from "node:crypto"
import type { TestDatabase } from "../../src/harness/postgres.js"
import { runStorm } from "../../src/refresh-bench/run-storm.js"
import type { RefreshScenario } from "../../src/refresh-bench/scenario.js"
import { useRefreshScenario } from "./scenario-hooks.js"
import type { Flavour } from "../../src/fixtures/databases.js"

const PROCESSES = 4
const CALLERS = 25
const EXPIRIES = 3
const fingerprint = (token: string): string => createHash("sha256").update(token).digest("hex").slice(0, 16)

const FLAVOURS: Flavour[] = ["pg", "kysely", "prisma"]

describe.each(FLAVOURS)("refresh storm on %s", (flavour) => {
  let db: TestDatabase
  let s: RefreshScenario

  useRefreshScenario(`refresh_storm_${flavour}`, { flavour, login: `storm-${flavour}`, skewSeconds: 0, provider: { accessTokenTtl: 3 } }, (started) => {
    ;({ db, s } = started)
  })

  test(`${PROCESSES} processes x ${CALLERS} callers, ${EXPIRIES} consecutive expiries: one refresh grant each, one token for all, grant alive`, async () => {
    for (let expiry = 1; expiry <= EXPIRIES; expiry++) {
      const grantsBefore = s.op.stats.refreshGrants
      const storm = await runStorm(
        { flavour, databaseUrl: db.url, provider: s.provider, userId: s.userId, providerAccountId: s.key.providerAccountId, mode: "library", skewSeconds: 0 },
        { processes: PROCESSES, callersPerProcess: CALLERS, beforeGo: () => s.waitForExpiry(0) },
      )
      const failures = storm.outcomes.filter((o) => !o.ok).map((o) => o.error)
      expect({ expiry, failures }).toEqual({ expiry, failures: [] })
      expect(storm.outcomes).toHaveLength(PROCESSES * CALLERS)
      expect({ expiry, refreshGrants: s.op.stats.refreshGrants - grantsBefore }).toEqual({ expiry, refreshGrants: 1 })
      const stored = await s.row()
      const tokens = new Set(storm.outcomes.map((o) => o.tokenFingerprint))
      expect([...tokens]).toEqual([fingerprint(String(stored.access_token))])
      // The stored tokens are the newest the provider issued, and they work.
      expect(stored.access_token).toBe(s.op.lastIssued("access_token")?.value)
      expect(stored.refresh_token).toBe(s.op.lastIssued("refresh_token")?.value)
      expect((await s.op.userinfo(String(stored.access_token))).status).toBe(200)
      expect(s.op.stats.refreshErrors).toEqual([])
      expect(s.op.stats.grantsRevoked).toBe(0)
    }
    // The grant is still alive: a later refresh with the stored refresh token succeeds.
    const stored = await s.row()
    const later = await s.op.refresh(String(stored.refresh_token))
    expect(later.status).toBe(200)
    expect(s.op.stats.grantsRevoked).toBe(0)
  }, 120_000)
})

describe("control: the naive read -> refresh -> write (no lock, no single-flight)", () => {
  let db: TestDatabase
  let s: RefreshScenario

  useRefreshScenario("refresh_control", { flavour: "pg", login: "control-user", skewSeconds: 0, provider: { accessTokenTtl: 3 } }, (started) => {
    ;({ db, s } = started)
  })

  test("the same storm breaks the grant: refresh-token reuse, invalid_grant, grant revoked", async () => {
    const grantsBefore = s.op.stats.refreshGrants
    const storm = await runStorm(
      { flavour: "pg", databaseUrl: db.url, provider: s.provider, userId: s.userId, providerAccountId: s.key.providerAccountId, mode: "naive", skewSeconds: 0 },
      { processes: PROCESSES, callersPerProcess: CALLERS, beforeGo: () => s.waitForExpiry(0) },
    )
    const refreshRequests = s.op.stats.refreshGrants - grantsBefore + s.op.stats.refreshErrors.length
    expect(refreshRequests).toBeGreaterThan(1)
    expect(s.op.stats.refreshErrors.map((e) => e.error)).toContain("invalid_grant")
    expect(s.op.stats.grantsRevoked).toBeGreaterThanOrEqual(1)
    expect(storm.outcomes.some((o) => !o.ok)).toBe(true)
    // The user is logged out of the integration: the stored refresh token no longer works.
    const stored = await s.row()
    expect((await s.op.refresh(String(stored.refresh_token))).body.error).toBe("invalid_grant")
  }, 120_000)
})
