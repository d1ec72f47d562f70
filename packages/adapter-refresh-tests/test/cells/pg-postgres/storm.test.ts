/**
 * Exactly one refresh per expiry, across OS processes, against a real rotating provider (oidc-provider,
 * rotateRefreshToken: true: reusing a consumed refresh token fails with invalid_grant and revokes the grant).
 *
 * Storm (storm-suite.ts): 4 processes x 25 concurrent callers on one expired account, over 3 consecutive
 * expiries, on the pg cell; every other cell runs it from its own folder (test/cells/<cell>/storm.test.ts).
 * Control: the naive read -> refresh -> write run by the same harness must break the grant, or the storm
 * proves nothing.
 */
import { describe, expect, test } from "@jest/globals"
import type { TestDatabase } from "../../../src/harness/postgres.js"
import { runStorm } from "../../../src/refresh-bench/run-storm.js"
import type { RefreshScenario } from "../../../src/refresh-bench/scenario.js"
import { useRefreshScenario } from "../../refresh/scenario-hooks.js"
import { describeRefreshStorm, STORM_CALLERS, STORM_PROCESSES } from "../../suites/storm-suite.js"

const PROCESSES = STORM_PROCESSES
const CALLERS = STORM_CALLERS

describeRefreshStorm({ name: "pg", cell: "pg" })
// Lease mode: nothing held while the provider answers; the same guarantee, one grant per expiry.
describeRefreshStorm({ name: "pg, lease mode", cell: "pg", coordination: "lease" })

describe("control: the naive read -> refresh -> write (no lock, no single-flight)", () => {
  let db: TestDatabase
  let s: RefreshScenario

  useRefreshScenario(
    "refresh_control",
    { cell: "pg", login: "control-user", skewSeconds: 0, provider: { accessTokenTtl: 3 } },
    (started) => {
      ;({ db, s } = started)
    },
  )

  test("the same storm breaks the grant: refresh-token reuse, invalid_grant, grant revoked", async () => {
    const grantsBefore = s.op.stats.refreshGrants
    const storm = await runStorm(
      {
        cell: "pg",
        databaseUrl: db.url,
        provider: s.provider,
        userId: s.userId,
        providerAccountId: s.key.providerAccountId,
        mode: "naive",
        skewSeconds: 0,
      },
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
