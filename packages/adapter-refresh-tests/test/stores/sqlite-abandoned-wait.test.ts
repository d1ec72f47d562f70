/**
 * AccountLockOptions.signal on every SQLite store: a call whose caller gave up while it waited its turn
 * (another locked transaction of the same process held the file's write lock) sends no BEGIN and no read
 * once its turn comes, and never runs its work. Real database files.
 */
import { describe, expect, test } from "@jest/globals"
import { randomUUID } from "node:crypto"
import { testSqliteFile } from "../../src/harness/sqlite.js"
import { testOtherDatabase } from "../../src/fixtures/prisma-databases.js"
import type { IsolatedDatabase } from "../../src/kit/fixture.js"
import { useFixtureCell } from "./fixture-cell.js"
import { whileHolding } from "../suites/store-suite.js"

const prismaFile = (prefix: string) => testOtherDatabase("sqlite", prefix)

const cells: { name: string; module: string; database: (prefix: string) => Promise<IsolatedDatabase> }[] = [
  { name: "kysely on SQLite", module: "conformance-kysely-sqlite", database: testSqliteFile },
  { name: "drizzle on SQLite (better-sqlite3)", module: "conformance-drizzle-sqlite", database: testSqliteFile },
  { name: "drizzle on SQLite (libsql)", module: "conformance-drizzle-libsql", database: testSqliteFile },
  { name: "prisma on SQLite (better-sqlite3)", module: "conformance-prisma-sqlite", database: prismaFile },
  { name: "prisma on SQLite (libsql)", module: "conformance-prisma-libsql", database: prismaFile },
]

describe.each(cells)("an abandoned wait for the lock, $name", (cell) => {
  const cf = useFixtureCell(cell, "abandoned")

  test("runs no work and writes nothing once its turn comes", async () => {
    const user = await cf.fixture.adapter.createUser!({
      id: randomUUID(),
      email: `${randomUUID()}@example.test`,
      emailVerified: null,
    })
    const key = { provider: "abandoned", providerAccountId: randomUUID() }
    await cf.wrapped.linkAccount({ ...key, userId: user.id, type: "oidc", access_token: "at-1", refresh_token: "rt-1" })
    let workRan = false
    const settled = await whileHolding(cf.store, key, async () => {
      const gaveUp = new AbortController()
      const late = cf.store.withAccountLock(
        key,
        async (account) => {
          workRan = true
          const [row] = await account.readAll()
          await account.update({ tokens: { access_token: "at-late" } }, { userId: row!.userId })
        },
        { signal: gaveUp.signal },
      )
      // Its caller leaves while it still waits for the holder; it settles once the holder lets go.
      await new Promise((resolve) => setTimeout(resolve, 50))
      gaveUp.abort()
      return {
        outcome: late.then(
          () => "resolved",
          (error: unknown) => (error as Error).name,
        ),
      }
    })
    expect(await settled.outcome).toBe("AbandonedWait")
    expect(workRan).toBe(false)
    expect(await cf.fixture.accountRows(key)).toEqual([
      expect.objectContaining({ access_token: "at-1", refresh_token: "rt-1" }),
    ])
  }, 20_000)
})
