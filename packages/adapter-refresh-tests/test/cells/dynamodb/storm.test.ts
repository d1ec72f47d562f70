/**
 * Lease-mode refresh storm on @auth/dynamodb-adapter's table (dynalite, started by the test; the worker
 * processes reach it through the table's URL): 4 processes x 25 callers, the real rotating oidc-provider,
 * exactly one refresh grant per expiry. Control: the same store whose refresh-lease take always answers
 * "taken" breaks the grant.
 */
import { describe, expect, test } from "@jest/globals"
import { testDynamoTable } from "../../../src/harness/dynalite.js"
import { runStorm } from "../../../src/refresh-bench/run-storm.js"
import type { RefreshScenario } from "../../../src/refresh-bench/scenario.js"
import { refreshRequests, useRefreshScenario, type ScenarioDatabase } from "../../refresh/scenario-hooks.js"
import { describeRefreshStorm, LEASE_EXPIRIES, STORM_CALLERS, STORM_PROCESSES } from "../../suites/storm-suite.js"

const fixtureModule = new URL("../../../src/fixtures/conformance-dynamodb.ts", import.meta.url)
const alwaysTaken = new URL("../../../src/fixtures/conformance-dynamodb-always-taken.ts", import.meta.url)

describeRefreshStorm({
  name: "@auth/dynamodb-adapter on dynalite, lease mode",
  fixtureModule,
  database: testDynamoTable,
  coordination: "lease",
  expiries: LEASE_EXPIRIES,
  // dynalite answers one request at a time in the test's process: on a loaded machine a storm can outlast a
  // 3 s token (then a second grant is right); 10 s keeps each storm within one lifetime.
  accessTokenTtl: 10,
})

describe("control: the DynamoDB store with a refresh-lease take that always answers taken", () => {
  let db: ScenarioDatabase
  let s: RefreshScenario

  useRefreshScenario(
    "refresh_control_dynamodb",
    {
      fixtureModule,
      login: "control-dynamodb",
      skewSeconds: 0,
      provider: { accessTokenTtl: 3 },
      refresh: { coordination: "lease" },
    },
    (started) => {
      ;({ db, s } = started)
    },
    testDynamoTable,
  )

  test("the same storm breaks the grant: more than one refresh request, invalid_grant, grant revoked", async () => {
    const before = refreshRequests(s)
    await runStorm(
      {
        fixtureModule: alwaysTaken.href,
        databaseUrl: db.url,
        provider: s.provider,
        userId: s.userId,
        providerAccountId: s.key.providerAccountId,
        mode: "library",
        skewSeconds: 0,
        coordination: "lease",
      },
      { processes: STORM_PROCESSES, callersPerProcess: STORM_CALLERS, beforeGo: () => s.waitForExpiry(0) },
    )
    expect(refreshRequests(s) - before).toBeGreaterThan(1)
    expect(s.op.stats.refreshErrors.map((e) => e.error)).toContain("invalid_grant")
    expect(s.op.stats.grantsRevoked).toBeGreaterThanOrEqual(1)
  }, 120_000)
})
