import { afterAll, beforeAll } from "@jest/globals"
import { testDatabase, type TestDatabase } from "../../src/harness/postgres.js"
import { startRefreshScenario, type RefreshScenario, type ScenarioOptions } from "../../src/refresh-bench/scenario.js"

/** A fresh database a scenario runs on. */
export interface ScenarioDatabase {
  url: string
  drop(): Promise<void>
}

export interface ScenarioHandle<D extends ScenarioDatabase = TestDatabase> {
  db: D
  s: RefreshScenario
}

/**
 * Registers the hooks every refresh suite needs: a fresh database and a started scenario before the
 * suite, both stopped after it. `onStarted` receives them (assign them to the suite's variables).
 */
export function useRefreshScenario<D extends ScenarioDatabase = TestDatabase>(
  databasePrefix: string,
  options: Omit<ScenarioOptions, "databaseUrl">,
  onStarted: (started: ScenarioHandle<D>) => void,
  // Default: a database on the PostgreSQL test server.
  database: (prefix: string) => Promise<D> = testDatabase as unknown as (prefix: string) => Promise<D>,
): void {
  let db: D | undefined
  let s: RefreshScenario | undefined
  beforeAll(async () => {
    db = await database(databasePrefix)
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
export const refreshRequests = (s: RefreshScenario): number =>
  s.op.stats.refreshGrants + s.op.stats.refreshErrors.length
