/**
 * A real PgBouncer (Debian's `pgbouncer`, 1.18 on bookworm) in front of the test PostgreSQL server, for tests
 * about poolers: started on a free loopback port with its own throwaway config and auth file, in the pool
 * mode asked for (transaction mode by default, as Supabase's and most hosted poolers run), stopped after.
 *
 * When the binary is missing and we are root with apt-get, Debian's package is installed first (no service
 * is started: a policy-rc.d refuses it), as mariadb.ts does for mariadbd. PgBouncer refuses to run as root,
 * so as root it drops to `nobody`. The same detached watchdog as the other harnesses ends it and removes its
 * folder when the starting process dies.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { freePort, startWatchdog } from "./postgres.js"

export interface StartedPgBouncer {
  /** The upstream URL with PgBouncer's host and port in place of the server's. */
  url: string
  /** `pgbouncer --version`'s first line, e.g. "PgBouncer 1.18.0". */
  version: string
  /** Stops PgBouncer and removes its folder. Idempotent. */
  stop(): Promise<void>
}

export interface StartPgBouncerOptions {
  /** A connection URL of the server to pool (user and password are used for both sides). */
  upstreamUrl: string
  /** Default "transaction". */
  poolMode?: "session" | "transaction" | "statement"
  /** Receives progress lines; default: none. */
  log?: (line: string) => void
}

const PROGRAM_DIRS = ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]

function findPgBouncer(): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), ...PROGRAM_DIRS]
  for (const dir of dirs) {
    if (!dir) continue
    const candidate = path.join(dir, "pgbouncer")
    try {
      fs.accessSync(candidate, fs.constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

/** As root with apt-get: installs Debian's pgbouncer without letting its package start a service. */
function installPgBouncer(log: (line: string) => void): void {
  const apt = PROGRAM_DIRS.map((dir) => path.join(dir, "apt-get")).find((file) => fs.existsSync(file))
  if (process.getuid?.() !== 0 || !apt) return
  log("[pgbouncer] not found: installing Debian's pgbouncer (apt-get, up to 10 min)")
  const policy = "/usr/sbin/policy-rc.d"
  const addedPolicy = !fs.existsSync(policy)
  if (addedPolicy) fs.writeFileSync(policy, "#!/bin/sh\nexit 101\n", { mode: 0o755 })
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
    const install = () =>
      spawnSync(apt, ["install", "-y", "-q", "--no-install-recommends", "pgbouncer"], {
        stdio: ["ignore", "inherit", "inherit"],
        env,
        timeout: 600_000,
      })
    if (install().status !== 0) {
      spawnSync(apt, ["update", "-q"], { stdio: ["ignore", "inherit", "inherit"], env, timeout: 300_000 })
      install()
    }
  } finally {
    if (addedPolicy) fs.rmSync(policy, { force: true })
  }
}

/** Resolves once `port` accepts a TCP connection; rejects after `timeoutMs` or when `child` exits. */
async function waitForPort(port: number, child: ChildProcess, timeoutMs: number, output: () => string) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited (${child.exitCode}):\n${output()}`)
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port }, () => {
        socket.destroy()
        resolve(true)
      })
      socket.on("error", () => resolve(false))
    })
    if (open) return
    if (Date.now() > deadline) throw new Error(`pgbouncer did not listen within ${timeoutMs} ms:\n${output()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const quoted = (value: string): string => `"${value.replaceAll('"', '""')}"`

export async function startPgBouncer(options: StartPgBouncerOptions): Promise<StartedPgBouncer> {
  const log = options.log ?? (() => {})
  let program = findPgBouncer()
  if (!program) {
    installPgBouncer(log)
    program = findPgBouncer()
  }
  if (!program)
    throw new Error("pgbouncer not found: install Debian's pgbouncer (apt-get install -y pgbouncer) or run as root")
  const versionRun = spawnSync(program, ["--version"], { encoding: "utf8" })
  const version = (versionRun.stdout || versionRun.stderr || "").split("\n")[0]!.trim()

  const upstream = new URL(options.upstreamUrl)
  const user = decodeURIComponent(upstream.username)
  const password = decodeURIComponent(upstream.password)
  const port = await freePort()
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "authjs-pgbouncer-"))
  // Read by pgbouncer after it drops to nobody.
  await fsp.chmod(dir, 0o755)
  const config = path.join(dir, "pgbouncer.ini")
  const authFile = path.join(dir, "userlist.txt")
  const serverParams = [
    `host=${upstream.hostname}`,
    `port=${upstream.port || "5432"}`,
    `user=${user}`,
    ...(password ? [`password=${password}`] : []),
  ].join(" ")
  await fsp.writeFile(authFile, `${quoted(user)} ${quoted(password)}\n`, { mode: 0o644 })
  await fsp.writeFile(
    config,
    [
      "[databases]",
      `* = ${serverParams}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${authFile}`,
      `pool_mode = ${options.poolMode ?? "transaction"}`,
      "default_pool_size = 5",
      "max_client_conn = 100",
      "ignore_startup_parameters = extra_float_digits,options",
      "",
    ].join("\n"),
    { mode: 0o644 },
  )
  const asRoot = process.getuid?.() === 0
  const child = spawn(program, [...(asRoot ? ["-u", "nobody"] : []), config], {
    stdio: ["ignore", "pipe", "pipe"],
  })
  let output = ""
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000))
  child.stdout?.on("data", keep)
  child.stderr?.on("data", keep)
  const watchdog = startWatchdog({ baseDir: dir, processMarker: dir })
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
      child.kill("SIGINT")
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000)
      await exited
      clearTimeout(timer)
    }
    watchdog.dismiss()
    await fsp.rm(dir, { recursive: true, force: true })
  }
  try {
    await waitForPort(port, child, 10_000, () => output)
  } catch (error) {
    await stop()
    throw error
  }
  log(`[pgbouncer] ${version} on 127.0.0.1:${port}, ${options.poolMode ?? "transaction"} pooling`)
  const url = new URL(options.upstreamUrl)
  url.hostname = "127.0.0.1"
  url.port = String(port)
  let stopping: Promise<void> | undefined
  return { url: url.toString(), version, stop: () => (stopping ??= stop()) }
}
