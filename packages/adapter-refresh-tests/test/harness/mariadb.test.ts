import { execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import mysql from "mysql2/promise"
import {
  TEST_MYSQL_BACKEND_ENV,
  TEST_MYSQL_URL_ENV,
  testMysqlDatabase,
  type TestMysqlDatabase,
} from "../../src/harness/mariadb.js"

const dropLater: TestMysqlDatabase[] = []
const connections: mysql.Connection[] = []

async function connect(url: string): Promise<mysql.Connection> {
  const connection = await mysql.createConnection({ uri: url })
  connection.on("error", () => undefined) // a KILL from drop() ends it
  connections.push(connection)
  return connection
}

async function one<T>(connection: mysql.Connection, sql: string, values: unknown[] = []): Promise<T> {
  const [rows] = await connection.query<mysql.RowDataPacket[]>(sql, values)
  return rows[0] as T
}

afterAll(async () => {
  await Promise.all(connections.map((c) => c.end().catch(() => c.destroy())))
  await Promise.all(dropLater.map((db) => db.drop()))
})

describe("MariaDB test harness", () => {
  test("the global-setup server answers and is MariaDB 10.11", async () => {
    expect(process.env[TEST_MYSQL_BACKEND_ENV]).toMatch(
      /^(AUTHJS_REFRESH_TEST_MYSQL_URL|testcontainers|mariadb-binaries)$/,
    )
    const admin = await connect(process.env[TEST_MYSQL_URL_ENV] ?? "")
    const row = await one<{ v: string; c: string }>(admin, "SELECT VERSION() AS v, @@character_set_server AS c")
    expect(row.v).toMatch(/^10\.11\.\d+-MariaDB/)
  })

  describe("testMysqlDatabase()", () => {
    let a: TestMysqlDatabase
    let b: TestMysqlDatabase
    beforeAll(async () => {
      a = await testMysqlDatabase("harness isolation A")
      b = await testMysqlDatabase("harness isolation A")
      dropLater.push(a, b)
    })

    test("gives two distinct utf8mb4 databases", async () => {
      expect(a.name).not.toBe(b.name)
      expect(a.url).not.toBe(b.url)
      expect(a.name).toMatch(/^harness_isolation_a_[a-z0-9]+_[0-9a-f]{8}$/)
      const ca = await connect(a.url)
      const row = await one<{ db: string; cs: string }>(ca, "SELECT DATABASE() AS db, @@character_set_database AS cs")
      expect(row).toEqual({ db: a.name, cs: "utf8mb4" })
    })

    test("a table created in one is absent in the other", async () => {
      const ca = await connect(a.url)
      const cb = await connect(b.url)
      await ca.query("CREATE TABLE only_in_a (id INT PRIMARY KEY, s VARCHAR(20))")
      await ca.query("INSERT INTO only_in_a VALUES (1, ?)", ["emoji \u{1F510}"])
      expect(await one(ca, "SELECT id, s FROM only_in_a")).toEqual({ id: 1, s: "emoji \u{1F510}" })
      await expect(cb.query("SELECT * FROM only_in_a")).rejects.toMatchObject({ errno: 1146 })
    })

    test("drop() removes the database, even with a transaction open in it, and is idempotent", async () => {
      const c = await testMysqlDatabase("harness drop")
      const open = await connect(c.url)
      await open.query("CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB")
      await open.query("BEGIN")
      await open.query("INSERT INTO t VALUES (1)") // holds a metadata lock that would block DROP DATABASE
      await c.drop()
      await c.drop()
      const admin = await connect(process.env[TEST_MYSQL_URL_ENV] ?? "")
      const row = await one<{ n: number }>(
        admin,
        "SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
        [c.name],
      )
      expect(Number(row.n)).toBe(0)
    })
  })
  test("SELECT ... FOR UPDATE in READ COMMITTED blocks a second connection until COMMIT, and a waiter past innodb_lock_wait_timeout fails with 1205", async () => {
    const db = await testMysqlDatabase("harness row lock")
    dropLater.push(db)
    const holder = await connect(db.url)
    const waiter = await connect(db.url)
    const late = await connect(db.url)
    await holder.query(
      "CREATE TABLE accounts (provider VARCHAR(50), id VARCHAR(50), n INT, PRIMARY KEY (provider, id)) ENGINE=InnoDB",
    )
    await holder.query("INSERT INTO accounts VALUES ('p', 'a', 0)")
    for (const c of [holder, waiter, late]) await c.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
    await waiter.query("SET SESSION innodb_lock_wait_timeout = 30")
    await late.query("SET SESSION innodb_lock_wait_timeout = 1")

    await holder.query("BEGIN")
    await holder.query("SELECT n FROM accounts WHERE provider = 'p' AND id = 'a' FOR UPDATE")

    // The waiter's locking read must still be pending while the holder keeps the lock.
    await waiter.query("BEGIN")
    let waiterDone = false
    const waiting = waiter.query("SELECT n FROM accounts WHERE provider = 'p' AND id = 'a' FOR UPDATE").then((r) => {
      waiterDone = true
      return r
    })
    // Proof it is blocked on our row lock (not just slow): the server lists it as a lock waiter.
    const admin = await connect(process.env[TEST_MYSQL_URL_ENV] ?? "")
    const waiterId = waiter.threadId
    const until = Date.now() + 20_000
    let seenWaiting = false
    while (!seenWaiting && Date.now() < until) {
      const row = await one<{ n: number }>(
        admin,
        "SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX " +
          "WHERE trx_mysql_thread_id = ? AND trx_state = 'LOCK WAIT'",
        [waiterId],
      )
      seenWaiting = Number(row.n) === 1
      // Slower than InnoDB's 100 ms cache idle time, or INNODB_TRX is never refilled.
      if (!seenWaiting) await new Promise((r) => setTimeout(r, 150))
    }
    expect(seenWaiting).toBe(true)
    expect(waiterDone).toBe(false)

    // A third one with a 1 s bound gives up with ER_LOCK_WAIT_TIMEOUT, and its transaction stays usable.
    await late.query("BEGIN")
    const t0 = Date.now()
    await expect(
      late.query("SELECT n FROM accounts WHERE provider = 'p' AND id = 'a' FOR UPDATE"),
    ).rejects.toMatchObject({
      errno: 1205,
      code: "ER_LOCK_WAIT_TIMEOUT",
    })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900)
    await late.query("ROLLBACK")

    await holder.query("UPDATE accounts SET n = n + 1 WHERE provider = 'p' AND id = 'a'")
    await holder.query("COMMIT")
    const [rows] = (await waiting) as [mysql.RowDataPacket[], unknown]
    // READ COMMITTED: the waiter's locking read sees the holder's committed write.
    expect(rows[0]?.n).toBe(1)
    await waiter.query("COMMIT")
  }, 60_000)
  test("a server whose starting process dies by SIGKILL is killed and its folder or container removed by the watchdog", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env }
    delete env[TEST_MYSQL_URL_ENV] // the child must start its own server, with the run's backend choice
    delete env.NODE_OPTIONS
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href
    const child = spawn(
      process.execPath,
      ["--import", tsx, fileURLToPath(new URL("./mariadb-owner.ts", import.meta.url))],
      {
        env,
        stdio: ["ignore", "pipe", "pipe"],
      },
    )
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const started = await new Promise<{ url: string; backend: string; log: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no server within 90 s: ${stderr}`)), 90_000)
      child.stdout.on("data", () => {
        const line = stdout.split("\n").find((l) => l.startsWith("{"))
        if (line) {
          clearTimeout(timer)
          resolve(JSON.parse(line) as { url: string; backend: string; log: string })
        }
      })
      child.on("exit", (code) => {
        clearTimeout(timer)
        reject(new Error(`the child exited (${code}) before its server was ready: ${stderr}`))
      })
    })
    const probe = async () => {
      const c = await mysql.createConnection({ uri: started.url, connectTimeout: 2000 })
      c.on("error", () => undefined)
      await c.query("SELECT 1")
      await c.end()
    }
    await probe() // really up

    child.kill("SIGKILL")
    let down = false
    const until = Date.now() + 30_000
    while (!down && Date.now() < until) {
      down = await probe().then(
        () => false,
        () => true,
      )
      if (!down) await new Promise((r) => setTimeout(r, 200))
    }
    expect(down).toBe(true)
    if (started.backend === "mariadb-binaries") {
      const folder = /data (\S+)\/data,/.exec(started.log)?.[1]
      expect(folder).toMatch(/authjs-refresh-mariadb-/)
      const gone = Date.now() + 10_000
      while (fs.existsSync(folder ?? "") && Date.now() < gone) await new Promise((r) => setTimeout(r, 100))
      expect(fs.existsSync(folder ?? "")).toBe(false)
    } else {
      expect(started.backend).toBe("testcontainers")
      const id = /container ([0-9a-f]{12})/.exec(started.log)?.[1] ?? "missing"
      const remaining = async () =>
        new Promise<string>((resolve) =>
          execFile("docker", ["ps", "-aq", "--filter", `id=${id}`], (error, out) =>
            resolve(error ? `docker ps failed: ${error.message}` : String(out).trim()),
          ),
        )
      const gone = Date.now() + 15_000
      while ((await remaining()) !== "" && Date.now() < gone) await new Promise((r) => setTimeout(r, 200))
      expect(await remaining()).toBe("")
    }
  }, 150_000)
})
