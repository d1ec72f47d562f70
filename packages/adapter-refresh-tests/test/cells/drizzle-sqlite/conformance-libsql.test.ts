/**
 * Drizzle on SQLite through drizzle-orm/libsql (@libsql/client, a local file), @auth/drizzle-adapter's
 * default tables: the conformance kit (its storm: storm-libsql.test.ts) and many first links from two processes
 * at once.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { testSqliteFile, type TestSqliteFile } from "../../../src/harness/sqlite.js"
import { peakOverlap, runConformanceSuite, runInWorkerProcesses, type WorkerOperation } from "../../../src/index.js"

const fixtureModule = new URL("../../../src/fixtures/conformance-drizzle-libsql.ts", import.meta.url)

runConformanceSuite(
  {
    name: "@auth/drizzle-adapter on SQLite (drizzle-orm/libsql, a local file)",
    fixtureModule,
    database: () => testSqliteFile("kit_drizzle_libsql"),
    expectedStoreName: "drizzle",
    expectsReauthListing: true,
    expectsLeases: false,
    expectsOneStatementSignIn: false,
  },
  { afterAll, beforeAll, describe, expect, it },
)

describe("drizzle on SQLite (libsql): write transactions of two processes on one file", () => {
  let file: TestSqliteFile
  beforeAll(async () => {
    file = await testSqliteFile("drizzle_libsql_links")
    const { prepareDatabase } = (await import(fixtureModule.href)) as {
      prepareDatabase: (url: string) => Promise<void>
    }
    await prepareDatabase(file.url)
  })
  afterAll(() => file?.drop())
  it("40 first links of distinct accounts, 20 from each of 2 processes at once, all succeed and every row is stored", async () => {
    const { createFixture } = (await import(
      fixtureModule.href
    )) as typeof import("../../../src/fixtures/conformance-drizzle-libsql.js")
    const fixture = await createFixture(file.url)
    try {
      const user = await fixture.adapter.createUser!({
        id: crypto.randomUUID(),
        email: `links-${Date.now()}@example.test`,
        emailVerified: null,
      })
      const operations: WorkerOperation[][] = [0, 1].map((p) =>
        Array.from({ length: 20 }, (_, i): WorkerOperation => ({
          kind: "link",
          account: {
            userId: user.id,
            type: "oidc",
            provider: "libsql-links",
            providerAccountId: `p${p}-${i}`,
            access_token: `at.p${p}-${i}`,
            token_type: "bearer",
          },
        })),
      )
      const result = await runInWorkerProcesses(
        { fixtureModule: fixtureModule.href, databaseUrl: file.url, mode: "wrapped" },
        operations,
      )
      const outcomes = result.flatMap((r) => r.outcomes)
      expect(outcomes).toHaveLength(40)
      expect(outcomes.filter((o) => !o.ok)).toEqual([])
      expect(peakOverlap(result).processes).toBe(2)
      for (const account of operations.flat().map((o) => o.account)) {
        const rows = await fixture.accountRows({
          provider: "libsql-links",
          providerAccountId: account.providerAccountId as string,
        })
        expect(rows.map((row) => [row.userId, row.access_token])).toEqual([[user.id, account.access_token]])
      }
    } finally {
      await fixture.close()
    }
  }, 120_000)
})

/** What the refusal tests use, imported when they run. */
const refusalModules = async () => ({
  createClient: (await import("@libsql/client")).createClient,
  drizzle: (await import("drizzle-orm/libsql")).drizzle,
  drizzleAccountStore: (await import("authjs-adapter-refresh/stores/drizzle")).drizzleAccountStore,
  UnsupportedDatabaseError: (await import("authjs-adapter-refresh")).UnsupportedDatabaseError,
})

describe("drizzle on SQLite (libsql): what the store refuses", () => {
  it("a remote libsql database (http, ws) is refused at construction: only the local file mode is supported", async () => {
    const { createClient, drizzle, drizzleAccountStore, UnsupportedDatabaseError } = await refusalModules()
    // Creating a remote client connects to nothing yet.
    const client = createClient({ url: "http://127.0.0.1:9" })
    try {
      expect(() => drizzleAccountStore(drizzle(client))).toThrow(UnsupportedDatabaseError)
      expect(() => drizzleAccountStore(drizzle(client))).toThrow(/speaks "http"; only a local file/)
    } finally {
      client.close()
    }
  })

  it("an in-memory libsql database is refused by the first withAccountLock, before any transaction", async () => {
    const { createClient, drizzle, drizzleAccountStore, UnsupportedDatabaseError } = await refusalModules()
    const client = createClient({ url: ":memory:" })
    try {
      const store = drizzleAccountStore(drizzle(client))
      let ran = false
      const attempt = store.withAccountLock({ provider: "p", providerAccountId: "1" }, async () => {
        ran = true
      })
      await expect(attempt).rejects.toThrow(UnsupportedDatabaseError)
      await expect(attempt).rejects.toThrow(/in-memory database/)
      expect(ran).toBe(false)
    } finally {
      client.close()
    }
  })
})
