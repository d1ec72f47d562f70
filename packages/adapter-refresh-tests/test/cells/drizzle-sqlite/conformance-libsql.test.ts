/**
 * Drizzle on SQLite through drizzle-orm/libsql (@libsql/client, a local file), @auth/drizzle-adapter's
 * default tables: the conformance kit (its storms: storm-libsql.test.ts), many first links from two processes
 * at once, and leases while another connection holds the file's write lock.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals"
import { spawn } from "node:child_process"
import { createRequire } from "node:module"
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
    expectsLeases: true,
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

/**
 * The file's write lock held by a better-sqlite3 connection in another OS process (libsql and better-sqlite3
 * are two SQLite libraries: in one process their POSIX locks would not exclude each other), until `commit`.
 */
async function writeLockInAnotherProcess(path: string): Promise<{ commit(): Promise<void> }> {
  const betterSqlite = createRequire(import.meta.url).resolve("better-sqlite3")
  const script =
    `const db = new (require(${JSON.stringify(betterSqlite)}))(${JSON.stringify(path)}, { timeout: 0 });` +
    `db.exec("BEGIN IMMEDIATE"); console.log("locked");` +
    `process.stdin.once("data", () => { db.exec("COMMIT"); db.close(); process.exit(0) })`
  const child = spawn(process.execPath, ["-e", script], { stdio: ["pipe", "pipe", "inherit"] })
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve))
  const bounded = async <T>(what: string, promise: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined
    try {
      return await Promise.race([
        promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`lock holder: no ${what} in 10 s`)), 10_000)
        }),
      ])
    } finally {
      clearTimeout(timer)
    }
  }
  await bounded(
    "lock",
    new Promise<void>((resolve, reject) => {
      child.stdout!.once("data", () => resolve())
      void exited.then((code) => reject(new Error(`lock holder exited with ${code}`)))
    }),
  )
  return {
    commit: async () => {
      child.stdin!.write("commit\n")
      expect(await bounded("exit", exited)).toBe(0)
    },
  }
}

describe("drizzle on SQLite (libsql): leases while another process holds the file's write lock", () => {
  let file: TestSqliteFile
  beforeAll(async () => {
    file = await testSqliteFile("drizzle_libsql_busy_leases")
    const { prepareDatabase } = (await import(fixtureModule.href)) as {
      prepareDatabase: (url: string) => Promise<void>
    }
    await prepareDatabase(file.url)
  })
  afterAll(() => file?.drop())
  it("busy is a value or a typed lock timeout after the bound, a take waits for the lock from the event loop, and the store's next transactions commit", async () => {
    const { createClient } = await import("@libsql/client")
    const { drizzle } = await import("drizzle-orm/libsql")
    const { drizzleAccountStore } = await import("authjs-adapter-refresh/stores/drizzle")
    const { AccountStoreError } = await import("authjs-adapter-refresh")
    const client = createClient({ url: file.url })
    try {
      const store = drizzleAccountStore(drizzle(client), { lockTimeoutMs: 300 })
      const leases = store.leases!
      const key = { provider: "libsql-busy", providerAccountId: "1" }
      const free = await leases.take(key, "holder-a", 60_000)
      if (!free.taken) throw new Error("the first take of a free key must take it")

      let other = await writeLockInAnotherProcess(file.path)
      try {
        const startedAt = performance.now()
        const busy = await leases.take({ ...key, providerAccountId: "2" }, "holder-b", 60_000)
        expect(busy).toMatchObject({ taken: false, remainingMs: null })
        // Waited for its bound from the event loop, not failed at once.
        expect(performance.now() - startedAt).toBeGreaterThanOrEqual(250)
        const release = await leases.release(key, free.lease).catch((error: unknown) => error)
        expect(release).toBeInstanceOf(AccountStoreError)
        expect(release).toMatchObject({ lockTimeout: true })
        await expect(leases.renew(key, free.lease, 60_000)).rejects.toMatchObject({ lockTimeout: true })
      } finally {
        await other.commit()
      }

      // The lock goes while a take waits for it: the take gets it.
      other = await writeLockInAnotherProcess(file.path)
      const waiting = leases.take({ ...key, providerAccountId: "3" }, "holder-c", 60_000)
      await new Promise((resolve) => setTimeout(resolve, 100))
      await other.commit()
      expect(await waiting).toMatchObject({ taken: true, lease: { fence: "1" } })

      // A busy statement left un-reset on a pooled connection would make SQLite refuse these COMMITs.
      for (let i = 0; i < 3; i++) await expect(store.withAccountLock(key, async () => i)).resolves.toBe(i)
      // Nothing changed by the busy release and renew: holder-a's lease is still live, and released now.
      expect(await leases.renew(key, free.lease, 60_000)).toEqual({ remainingMs: expect.any(Number) })
      await leases.release(key, free.lease)
      expect(await leases.take(key, "holder-d", 60_000)).toMatchObject({ taken: true, lease: { fence: "2" } })
    } finally {
      client.close()
    }
  }, 30_000)
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
