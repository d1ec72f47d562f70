import * as fs from "node:fs"
import { createRequire } from "node:module"
import { Worker } from "node:worker_threads"
import { afterAll, afterEach, beforeEach, describe, expect, test } from "@jest/globals"
import type Database from "better-sqlite3"
import { openSqlite, testSqliteFile, type TestSqliteFile } from "../../src/harness/sqlite.js"

const betterSqlite3Path = createRequire(import.meta.url).resolve("better-sqlite3")

let file: TestSqliteFile
const open: Database.Database[] = []

function connect(busyTimeoutMs?: number): Database.Database {
  const db = openSqlite(file.path, busyTimeoutMs === undefined ? {} : { busyTimeoutMs })
  open.push(db)
  return db
}

/** Runs fn, expecting a SqliteError; returns its code and how long the call took. */
function failure(fn: () => unknown): { code: string; ms: number } {
  const t0 = performance.now()
  try {
    fn()
  } catch (error) {
    return { code: String((error as { code?: unknown }).code), ms: performance.now() - t0 }
  }
  throw new Error("expected a SqliteError, the call succeeded")
}

beforeEach(async () => {
  file = await testSqliteFile("harness sqlite")
  const setup = connect()
  setup.exec("CREATE TABLE t (k TEXT PRIMARY KEY, x INTEGER NOT NULL)")
  setup.prepare("INSERT INTO t VALUES ('a', 0)").run()
})

afterEach(async () => {
  for (const db of open.splice(0)) if (db.open) db.close()
  await file.drop()
})

afterAll(() => {
  for (const db of open) if (db.open) db.close()
})

describe("SQLite test harness", () => {
  test("testSqliteFile() gives a fresh file path per call, opened in WAL mode; drop() removes it with its -wal and -shm files", async () => {
    const other = await testSqliteFile("harness sqlite")
    expect(other.path).not.toBe(file.path)
    expect(other.url).toBe(`file:${other.path}`)
    await other.drop()

    const db = connect()
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal")
    expect(db.pragma("busy_timeout", { simple: true })).toBe(5000)
    expect(fs.existsSync(file.path)).toBe(true)
    expect(fs.existsSync(`${file.path}-wal`)).toBe(true)
    expect(fs.existsSync(`${file.path}-shm`)).toBe(true)
    for (const d of open.splice(0)) d.close()
    await file.drop()
    await file.drop()
    expect(fs.existsSync(file.path)).toBe(false)
    expect(fs.existsSync(`${file.path}-wal`)).toBe(false)
    expect(fs.existsSync(`${file.path}-shm`)).toBe(false)
  })
  test("BEGIN IMMEDIATE in another thread waits for this connection's BEGIN IMMEDIATE until COMMIT, then sees the committed write", async () => {
    const holder = connect()
    holder.exec("BEGIN IMMEDIATE")
    // A real second connection on its own thread: better-sqlite3 is synchronous, so a waiter on this
    // thread could never see the holder commit.
    const worker = new Worker(
      `
      const { parentPort, workerData } = require("node:worker_threads")
      const Database = require(workerData.driver)
      const db = new Database(workerData.file, { timeout: 30000 })
      parentPort.postMessage({ state: "waiting" })
      db.exec("BEGIN IMMEDIATE")
      const acquiredAt = Date.now()
      const x = db.prepare("SELECT x FROM t WHERE k = 'a'").get().x
      db.exec("COMMIT")
      db.close()
      parentPort.postMessage({ state: "acquired", acquiredAt, x })
      `,
      { eval: true, workerData: { driver: betterSqlite3Path, file: file.path } },
    )
    const messages: { state: string; acquiredAt?: number; x?: number }[] = []
    const acquired = new Promise<{ acquiredAt: number; x: number }>((resolve, reject) => {
      worker.on("message", (m: { state: string; acquiredAt?: number; x?: number }) => {
        messages.push(m)
        if (m.state === "acquired") resolve({ acquiredAt: m.acquiredAt ?? 0, x: m.x ?? -1 })
      })
      worker.on("error", reject)
      worker.on("exit", (code) => reject(new Error(`worker exited (${code}) before acquiring the lock`)))
    })
    try {
      const until = Date.now() + 20_000
      while (!messages.some((m) => m.state === "waiting") && Date.now() < until)
        await new Promise((r) => setTimeout(r, 20))
      expect(messages.map((m) => m.state)).toEqual(["waiting"])
      // Give the waiter ample time to (wrongly) get through.
      await new Promise((r) => setTimeout(r, 750))
      expect(messages.map((m) => m.state)).toEqual(["waiting"])

      holder.prepare("UPDATE t SET x = 1 WHERE k = 'a'").run()
      const committedAt = Date.now()
      holder.exec("COMMIT")
      const result = await acquired
      expect(result.acquiredAt).toBeGreaterThanOrEqual(committedAt)
      expect(result.x).toBe(1)
    } finally {
      await worker.terminate()
    }
  }, 60_000)
  test("the busy timeout bounds the wait: a second BEGIN IMMEDIATE fails with SQLITE_BUSY after about busy_timeout", () => {
    const holder = connect()
    const waiter = connect(400)
    holder.exec("BEGIN IMMEDIATE")
    const { code, ms } = failure(() => waiter.exec("BEGIN IMMEDIATE"))
    expect(code).toBe("SQLITE_BUSY")
    expect(ms).toBeGreaterThanOrEqual(350)
    expect(ms).toBeLessThan(20_000)
    holder.exec("COMMIT")
    waiter.exec("BEGIN IMMEDIATE") // free again
    waiter.exec("COMMIT")
  })
  describe("which first statement of a deferred BEGIN takes the write lock up front (for clients that only issue BEGIN)", () => {
    const probe = (first: string) => {
      const holder = connect()
      const other = connect(200)
      holder.exec("BEGIN")
      holder.prepare(first).run()
      const attempt = (() => {
        try {
          other.exec("BEGIN IMMEDIATE")
          other.exec("COMMIT")
          return "other writer got the lock"
        } catch (error) {
          return String((error as { code?: unknown }).code)
        }
      })()
      holder.exec("COMMIT")
      return attempt
    }

    test("a no-op write `UPDATE t SET x = x WHERE 0` does: another writer's BEGIN IMMEDIATE gets SQLITE_BUSY", () => {
      expect(probe("UPDATE t SET x = x WHERE 0")).toBe("SQLITE_BUSY")
    })

    test("a no-op write on a key with no row (`UPDATE ... WHERE k = 'missing'`) does too", () => {
      expect(probe("UPDATE t SET x = x WHERE k = 'missing'")).toBe("SQLITE_BUSY")
    })

    test("a read does not: another writer still gets the lock (WAL readers do not block the writer)", () => {
      expect(probe("SELECT x FROM t WHERE k = 'a'")).toBe("other writer got the lock")
    })
    test("a deferred transaction that read first and then writes while another holds the lock fails with SQLITE_BUSY at once, without waiting out its busy timeout", () => {
      const reader = connect(3000)
      const writer = connect()
      reader.exec("BEGIN")
      reader.prepare("SELECT x FROM t WHERE k = 'a'").get()
      writer.exec("BEGIN IMMEDIATE")
      const { code, ms } = failure(() => reader.prepare("UPDATE t SET x = 2 WHERE k = 'a'").run())
      expect(code).toMatch(/^SQLITE_BUSY/)
      expect(ms).toBeLessThan(2500)
      writer.exec("COMMIT")
      reader.exec("ROLLBACK")
    })
  })
})
