// Type-checked as a user's code against the installed tarballs (see README.md beside this file).
import type { Adapter } from "@auth/core/adapters"
import PostgresAdapter from "@auth/pg-adapter"
import pg from "pg"
import { type AccountStore, type TokenSyncAdapter, TokenSyncError, withTokenSync } from "authjs-adapter-refresh"
import { pgAccountStore } from "authjs-adapter-refresh/stores/pg"
import type { kyselyAccountStore } from "authjs-adapter-refresh/stores/kysely"
import type { prismaAccountStore } from "authjs-adapter-refresh/stores/prisma"
import {
  type ConformanceFixture,
  type ConformanceCell,
  type ConformanceTarget,
  runConformanceSuite,
  type TestRunner,
} from "authjs-adapter-refresh-tests"
import { type StartedPostgres, startPostgres } from "authjs-adapter-refresh-tests/postgres"

const pool = new pg.Pool({ connectionString: "postgres://localhost/app" })
const bare: Adapter = PostgresAdapter(pool)
const adapter: TokenSyncAdapter = withTokenSync(bare, pool)
const store: AccountStore = pgAccountStore(pool)
const fromStore: TokenSyncAdapter = withTokenSync(bare, store)
const accessToken: Promise<string> = adapter.getAccessToken({ userId: "1", provider: "p" }).then((t) => t.accessToken)
const isTyped = (error: unknown): string | undefined => (error instanceof TokenSyncError ? error.code : undefined)

declare const runner: TestRunner
const cell: ConformanceCell = {
  name: "pg",
  fixtureModule: new URL("./pg-fixture.js", import.meta.url),
  workerExecArgv: [],
}
runConformanceSuite(cell, runner)
// The former name still compiles (a deprecated alias).
const formerName: ConformanceTarget = cell
runConformanceSuite(formerName, runner)
const fixture = (): Promise<ConformanceFixture> =>
  Promise.resolve({
    adapter: bare,
    db: pool,
    accountRows: async () => [],
    orphanAccountsOf: async () => {},
    close: () => pool.end(),
  })
const server: Promise<StartedPostgres> = startPostgres()

export type Stores = [typeof kyselyAccountStore, typeof prismaAccountStore]
export { accessToken, fixture, fromStore, isTyped, server }
