/**
 * A real Redis server for the Redis cells, and isolated key spaces on it.
 *
 * `testRedisDatabase(prefix)` uses, in this order:
 *   1. AUTHJS_REFRESH_TEST_REDIS_URL, when set: an existing server (never stopped by us);
 *   2. Debian's `redis-server` (installed with scripts/ensure-redis-server.sh when missing, as root with apt-get),
 *      started once per process on a throwaway folder and a free loopback port, no persistence.
 * Started from the test files (not the Jest global setup): a server starts in milliseconds, and each Jest worker
 * that runs a Redis file owns one. A detached watchdog (pg-watchdog.mjs, as for MariaDB) kills it and removes
 * its folder when that process dies, even by SIGKILL; a normal exit kills it at once.
 *
 * A "database" is a key prefix: its URL is the server's with `?keyPrefix=<prefix>` (read by the fixtures with
 * {@link parseRedisTestUrl}); `drop()` deletes its keys.
 */
import { spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Redis } from "ioredis"
import { freePort, pidAlive, seconds, startWatchdog, tail } from "./postgres.js"

/** An existing server to use instead of starting one, e.g. redis://127.0.0.1:6379/0. */
export const TEST_REDIS_URL_ENV = "AUTHJS_REFRESH_TEST_REDIS_URL"
const PREFIX = "[redis]"
const ENSURE_SCRIPT = fileURLToPath(new URL("../../../../scripts/ensure-redis-server.sh", import.meta.url))

export interface TestRedisDatabase {
  /** The server's URL with this database's key prefix as `?keyPrefix=`. */
  url: string
  /** Deletes every key under the prefix. Idempotent. */
  drop(): Promise<void>
}

/** A test database URL split into the server's URL and the key prefix every key of the test lives under. */
export function parseRedisTestUrl(url: string): { serverUrl: string; keyPrefix: string } {
  const parsed = new URL(url)
  const keyPrefix = parsed.searchParams.get("keyPrefix") ?? ""
  parsed.search = ""
  return { serverUrl: parsed.toString(), keyPrefix }
}

let server: Promise<string> | undefined

function findRedisServer(): string | undefined {
  return ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find((file) => fs.existsSync(file))
}

async function ping(url: string, timeoutMs: number, gaveUp: () => boolean): Promise<string> {
  const until = Date.now() + timeoutMs
  for (;;) {
    if (gaveUp()) throw new Error("redis-server exited")
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    client.on("error", () => undefined)
    try {
      await client.connect()
      const info = await client.info("server")
      return /redis_version:(\S+)/.exec(info)?.[1] ?? "?"
    } catch (error) {
      if (Date.now() > until) throw error
      await new Promise((resolve) => setTimeout(resolve, 25))
    } finally {
      client.disconnect()
    }
  }
}

async function startServer(): Promise<string> {
  const t0 = performance.now()
  const external = process.env[TEST_REDIS_URL_ENV]?.trim()
  if (external) {
    const version = await ping(external, 10_000, () => false)
    console.log(`${PREFIX} backend: ${TEST_REDIS_URL_ENV} (Redis ${version}); not started or stopped by the tests`)
    return external
  }
  let binary = findRedisServer()
  if (!binary && process.getuid?.() === 0 && fs.existsSync(ENSURE_SCRIPT)) {
    console.log(`${PREFIX} redis-server not found: installing Debian's redis-server (up to 10 min)`)
    spawnSync("bash", [ENSURE_SCRIPT], { stdio: ["ignore", "inherit", "inherit"], timeout: 600_000 })
    binary = findRedisServer()
  }
  if (!binary)
    throw new Error(
      `redis-server not found: install Debian's redis-server (scripts/ensure-redis-server.sh) ` +
        `or set ${TEST_REDIS_URL_ENV} to an existing server's URL.`,
    )
  const baseDir = await fsp.mkdtemp(path.join(os.tmpdir(), "authjs-refresh-redis-"))
  const pidFile = path.join(baseDir, "redis.pid")
  const logFile = path.join(baseDir, "redis.log")
  const watchdog = startWatchdog({ baseDir, serverPidFile: pidFile, processMarker: baseDir })
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort()
      // A throwaway server: no RDB snapshots, no AOF; loopback only. Its command line keeps naming our folder
      // (no process title), so the watchdog's check that the pid is still ours holds.
      const child = spawn(
        binary,
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--dir",
          baseDir,
          "--pidfile",
          pidFile,
          "--logfile",
          logFile,
          "--save",
          "",
          "--appendonly",
          "no",
          "--set-proc-title",
          "no",
          "--daemonize",
          "no",
        ],
        // Its own process group, so a Ctrl-C aimed at Jest does not kill it before the tests end.
        { cwd: baseDir, stdio: "ignore", detached: true },
      )
      child.unref()
      let exited = false
      child.on("exit", () => (exited = true))
      child.on("error", () => (exited = true))
      const url = `redis://127.0.0.1:${port}/0`
      try {
        const version = await ping(url, 20_000, () => exited)
        const pid = child.pid ?? 0
        process.once("exit", () => {
          if (pidAlive(pid)) process.kill(pid, "SIGKILL")
          fs.rmSync(baseDir, { recursive: true, force: true })
          watchdog.dismiss()
        })
        console.log(
          `${PREFIX} backend: redis-server (${binary}, ${version}, pid ${pid}, ${url}) ready in ${seconds(t0)}`,
        )
        return url
      } catch (error) {
        if (!exited && child.pid) process.kill(child.pid, "SIGKILL")
        const text = tail(logFile)
        if (attempt < 3 && /Address already in use/i.test(text)) continue
        throw new Error(`redis-server did not start: ${(error as Error).message}\n${text}`, { cause: error })
      }
    }
  } catch (error) {
    await watchdog.runCleanupNow()
    throw error
  }
}

/** A fresh key space (a unique key prefix) on the test Redis server, started on first use in this process. */
export async function testRedisDatabase(prefix: string): Promise<TestRedisDatabase> {
  const serverUrl = await (server ??= startServer().catch((error: unknown) => {
    server = undefined
    throw error
  }))
  const stem = prefix.replace(/[^a-z0-9_]+/gi, "_").slice(0, 32) || "test"
  const keyPrefix = `${stem}_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`
  const url = new URL(serverUrl)
  url.searchParams.set("keyPrefix", keyPrefix)
  let dropped: Promise<void> | undefined
  return {
    url: url.toString(),
    drop: () =>
      (dropped ??= (async () => {
        const client = new Redis(serverUrl, { maxRetriesPerRequest: 1 })
        client.on("error", () => undefined)
        try {
          let cursor = "0"
          do {
            const [next, keys] = await client.scan(cursor, "MATCH", `${keyPrefix}*`, "COUNT", 1000)
            cursor = next
            if (keys.length > 0) await client.unlink(...keys)
          } while (cursor !== "0")
        } finally {
          client.disconnect()
        }
      })()),
  }
}
