import { afterAll, afterEach, beforeAll } from "@jest/globals"
import { applySchema, type DatabaseFixture, type PgCell } from "../../src/fixtures/databases.js"
import { testDatabase, type TestDatabase } from "../../src/harness/postgres.js"

export interface E2eDatabase<Db> {
  database: TestDatabase
  fixture: DatabaseFixture<Db>
}

/**
 * Registers the hooks every end-to-end suite needs: a fresh database with the cell's schema and its
 * fixture before the suite (`onReady` receives them: assign them to the suite's variables), both closed
 * after it, and everything handed to the returned `start` (provider, app) stopped after each test.
 */
export function useE2eDatabase<Db, Fixture extends { close(): Promise<void> } = DatabaseFixture<Db>>(
  databaseName: string,
  cell: PgCell,
  createFixture: (url: string) => Promise<Fixture>,
  onReady: (ready: { database: TestDatabase; fixture: Fixture }) => void,
  // Default: a database on the PostgreSQL test server with the cell's schema.
  other?: {
    create(prefix: string): Promise<{ url: string; name: string; drop(): Promise<void> }>
    applySchema(url: string): Promise<void>
  },
): <T extends { stop(): Promise<void> }>(thing: Promise<T>) => Promise<T> {
  let ready: { database: TestDatabase; fixture: Fixture } | undefined
  let database: { url: string; name: string; drop(): Promise<void> } | undefined
  const running: Array<{ stop(): Promise<void> }> = []
  beforeAll(async () => {
    if (other) {
      database = await other.create(databaseName)
      await other.applySchema(database.url)
    } else {
      database = await testDatabase(databaseName)
      await applySchema(cell, database.url)
    }
    // The suites read only url and name of a non-PostgreSQL database (the outage scenario is PostgreSQL's).
    ready = { database: database as TestDatabase, fixture: await createFixture(database.url) }
    onReady(ready)
  }, 30_000)
  afterEach(async () => {
    while (running.length) await running.pop()?.stop()
  })
  afterAll(async () => {
    await ready?.fixture.close()
    await database?.drop()
  })
  return async (thing) => {
    const started = await thing
    running.push(started)
    return started
  }
}
