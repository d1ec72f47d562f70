import { afterAll, beforeAll } from "@jest/globals"
import { testDatabase, type TestDatabase } from "../../src/harness/postgres.js"
import { startRefreshScenario, type RefreshScenario, type ScenarioOptions } from "../../src/refresh-bench/scenario.js"

export interface ScenarioHandle {
  db: TestDatabase
  s: RefreshScenario
}

/**
 * Registers the hooks every refresh suite needs: a fresh database and a started scenario before the
 * suite, both stopped after it. `onStarted` receives them (assign them to the suite's variables).
 */
export function useRefreshScenario(
  databasePrefix: string,
  options: Omit<ScenarioOptions, "databaseUrl">,
  onStarted: (started: ScenarioHandle) => void,
): void {
  let db: TestDatabase | undefined
  let s: RefreshScenario | undefined
  beforeAll(async () => {
    db = await testDatabase(databasePrefix)
    s = await startRefreshScenario({ ...options, databaseUrl: db.url })
    onStarted({ db, s })
  }, 60_000)
  afterAll(async () => {
    await s?.stop()
    await db?.drop()
  })
}

/** The error a promise rejects with; fails the test when it resolves instead. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error("expected the call to reject")
}

/** Every token request that reached the provider's refresh_token grant (successful or refused). */
export const refreshRequests = (s: RefreshScenario): number => s.op.stats.refreshGrants + s.op.stats.refreshErrors.length
