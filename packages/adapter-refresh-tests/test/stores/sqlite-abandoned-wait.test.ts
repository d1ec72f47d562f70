/**
 * AccountLockOptions.signal on every SQLite store: a call whose caller gave up while it waited its turn
 * (another locked transaction of the same process held the file's write lock) sends no BEGIN and no read
 * once its turn comes, and never runs its work; the holder's write is the only one. Real database files.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { randomUUID } from "node:crypto"
import { withTokenSync, type AccountStore } from "authjs-adapter-refresh"
import { testSqliteFile } from "../../src/harness/sqlite.js"
import { testOtherDatabase } from "../../src/fixtures/prisma-databases.js"
import type { ConformanceFixture, ConformanceFixtureModule, IsolatedDatabase } from "../../src/kit/fixture.js"

const prismaFile = (prefix: string) => testOtherDatabase("sqlite", prefix)

const cells: { name: string; module: string; database: (prefix: string) => Promise<IsolatedDatabase> }[] = [
  { name: "kysely on SQLite", module: "conformance-kysely-sqlite", database: testSqliteFile },
  { name: "drizzle on SQLite (better-sqlite3)", module: "conformance-drizzle-sqlite", database: testSqliteFile },
  { name: "drizzle on SQLite (libsql)", module: "conformance-drizzle-libsql", database: testSqliteFile },
  { name: "prisma on SQLite (better-sqlite3)", module: "conformance-prisma-sqlite", database: prismaFile },
  { name: "prisma on SQLite (libsql)", module: "conformance-prisma-libsql", database: prismaFile },
]

const deferred = () => {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

describe.each(cells)("an abandoned wait for the lock, $name", (cell) => {
  let database: IsolatedDatabase
  let fixture: ConformanceFixture
  let store: AccountStore
  let wrapped: ReturnType<typeof withTokenSync>

  beforeAll(async () => {
    const module = (await import(new URL(`../../src/fixtures/${cell.module}.ts`, import.meta.url).href)) as ConformanceFixtureModule
    database = await cell.database(`abandoned_${cell.module.replace(/-/g, "_")}`)
    await module.prepareDatabase(database.url)
    fixture = await module.createFixture(database.url)
    wrapped = withTokenSync(fixture.adapter, fixture.db)
    store = wrapped.accountStore
  })
  afterAll(async () => {
    await fixture?.close()
    await database?.drop()
  })

  test("runs no work and writes nothing once its turn comes; the holder's write stands", async () => {
    const user = await fixture.adapter.createUser!({ id: randomUUID(), email: `${randomUUID()}@example.test`, emailVerified: null })
    const key = { provider: "abandoned", providerAccountId: randomUUID() }
    await wrapped.linkAccount({ ...key, userId: user.id, type: "oidc", access_token: "at-1", refresh_token: "rt-1" })
    const inside = deferred()
    const release = deferred()
    const holder = store.withAccountLock(key, async (account) => {
      const [row] = await account.readAll()
      inside.resolve()
      await release.promise
      await account.update({ tokens: { access_token: "at-holder" } }, { userId: row!.userId })
    })
    await inside.promise
    const gaveUp = new AbortController()
    let workRan = false
    const late = store.withAccountLock(
      key,
      async (account) => {
        workRan = true
        const [row] = await account.readAll()
        await account.update({ tokens: { access_token: "at-late" } }, { userId: row!.userId })
      },
      { signal: gaveUp.signal },
    )
    const settled = late.then(() => "resolved", (error: unknown) => (error as Error).name)
    // Its caller leaves while it still waits for the holder.
    await new Promise((resolve) => setTimeout(resolve, 50))
    gaveUp.abort()
    release.resolve()
    await holder
    expect(await settled).toBe("AbandonedWait")
    expect(workRan).toBe(false)
    expect(await fixture.accountRows(key)).toEqual([expect.objectContaining({ access_token: "at-holder", refresh_token: "rt-1" })])
  }, 20_000)
})
