/**
 * The lease-mode refresh storm (storm-suite.ts) on the pg cell through a real PgBouncer in transaction
 * pooling mode (src/harness/pgbouncer.ts): every lease step is one autocommit statement and READ and WRITE
 * short transactions, so nothing needs a server session of its own; one refresh grant per expiry, no
 * invalid_grant, across 4 processes. Control: the same storm whose lease take always answers "taken"
 * (no exclusion) breaks the grant, or the storm proves nothing.
 */
import { describe, expect, test } from "@jest/globals"
import { startPgBouncer } from "../../../src/harness/pgbouncer.js"
import { testDatabase } from "../../../src/harness/postgres.js"
import { runStorm } from "../../../src/refresh-bench/run-storm.js"
import type { RefreshScenario } from "../../../src/refresh-bench/scenario.js"
import { refreshRequests, useRefreshScenario, type ScenarioDatabase } from "../../refresh/scenario-hooks.js"
import { describeRefreshStorm, LEASE_EXPIRIES, STORM_CALLERS, STORM_PROCESSES } from "../../suites/storm-suite.js"

/** A fresh database on the test server, reached only through its own PgBouncer in transaction mode. */
async function behindPgBouncer(prefix: string): Promise<ScenarioDatabase> {
  const database = await testDatabase(prefix)
  const bouncer = await startPgBouncer({ upstreamUrl: database.url, poolMode: "transaction" }).catch(
    async (error: unknown) => {
      await database.drop()
      throw error
    },
  )
  return {
    url: bouncer.url,
    async drop() {
      await bouncer.stop()
      await database.drop()
    },
  }
}

describeRefreshStorm({
  name: "pg through PgBouncer (transaction mode), lease mode",
  cell: "pg",
  database: behindPgBouncer,
  coordination: "lease",
  expiries: LEASE_EXPIRIES,
})

describe("control: lease mode through PgBouncer with a lease take that always answers taken", () => {
  let db: ScenarioDatabase
  let s: RefreshScenario

  useRefreshScenario(
    "refresh_control_pgbouncer",
    { cell: "pg", login: "control-pgbouncer", skewSeconds: 0, provider: { accessTokenTtl: 3 } },
    (started) => {
      ;({ db, s } = started)
    },
    behindPgBouncer,
  )

  test("the same storm breaks the grant: more than one refresh request, invalid_grant, grant revoked", async () => {
    const before = refreshRequests(s)
    await runStorm(
      {
        cell: "pg",
        databaseUrl: db.url,
        provider: s.provider,
        userId: s.userId,
        providerAccountId: s.key.providerAccountId,
        mode: "library",
        skewSeconds: 0,
        coordination: "lease",
        leaseControl: "always-taken",
      },
      { processes: STORM_PROCESSES, callersPerProcess: STORM_CALLERS, beforeGo: () => s.waitForExpiry(0) },
    )
    expect(refreshRequests(s) - before).toBeGreaterThan(1)
    expect(s.op.stats.refreshErrors.map((e) => e.error)).toContain("invalid_grant")
    expect(s.op.stats.grantsRevoked).toBeGreaterThanOrEqual(1)
  }, 120_000)
})
