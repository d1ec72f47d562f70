/**
 * Jest global teardown of the adapter-refresh-tests project: stops the servers of global-setup.ts
 * (PostgreSQL and MariaDB, side by side).
 *
 * On 2 cores Jest runs the test files in this very process, so a pg Pool or Client that a test file left
 * open is still connected here. Stopping the server terminates it, and a client without an "error"
 * listener would then crash the process after all results are in. So: the leaks are listed loudly (the
 * database name starts with the prefix the suite gave testDatabase()), and the termination errors they
 * raise while the server goes away are reported instead of crashing the run.
 */
import { tsImport } from "tsx/esm/api"
import type { StartedMysql } from "../src/harness/mariadb.js"
import type { StartedPostgres } from "../src/harness/postgres.js"

type Harness = typeof import("../src/harness/postgres.js")
type MysqlHarness = typeof import("../src/harness/mariadb.js")

const SERVER_KEY = Symbol.for("authjs-adapter-refresh-tests.postgres")
const MYSQL_SERVER_KEY = Symbol.for("authjs-adapter-refresh-tests.mariadb")

/** Errors a connection raises when its server shuts down under it. */
function serverGone(error: unknown): boolean {
  const e = error as { code?: string; message?: string; context?: unknown } | null
  if (!e) return false
  if (e.code === "ERR_UNHANDLED_ERROR") return serverGone(e.context)
  return (
    ["57P01", "57P02", "57P03", "ECONNRESET", "EPIPE", "PROTOCOL_CONNECTION_LOST"].includes(e.code ?? "") ||
    /Connection terminated unexpectedly|terminating connection due to administrator command/.test(e.message ?? "")
  )
}

let guardInstalled = false

/** Leaked connections are terminated when their server stops: report that instead of crashing the run. */
function tolerateTerminatedConnections(): void {
  if (guardInstalled) return
  guardInstalled = true
  let swallowed = 0
  process.on("uncaughtException", (error) => {
    if (serverGone(error)) {
      if (swallowed++ === 0)
        console.warn(`[teardown] a leaked connection was terminated: ${(error as Error).message.split("\n")[0]}`)
      return
    }
    // Anything else keeps Node's default behaviour: report and exit non-zero.
    console.error(error)
    process.exit(1)
  })
}

async function stopPostgres(server: StartedPostgres): Promise<void> {
  if (server.backend === "TEST_DATABASE_URL") return
  const harness = (await tsImport("../src/harness/postgres.js", import.meta.url)) as Harness
  const leaked = await harness.openConnections(server.url).catch(() => [])
  if (leaked.length > 0) {
    console.warn(
      `[postgres] WARNING: ${leaked.length} connection(s) still open at teardown: a test file did not close ` +
        `its pg Pool/Client/PrismaClient/Kysely. They are terminated now.\n` +
        leaked.map((c) => `  - database ${c.database} (${c.state || "?"}) last query: ${c.query}`).join("\n"),
    )
    tolerateTerminatedConnections()
  }

  const t0 = performance.now()
  await server.stop()
  console.log(`[postgres] ${server.backend} server stopped in ${((performance.now() - t0) / 1000).toFixed(2)} s`)
}

async function stopMysql(server: StartedMysql): Promise<void> {
  if (server.backend === "AUTHJS_REFRESH_TEST_MYSQL_URL") return
  const harness = (await tsImport("../src/harness/mariadb.js", import.meta.url)) as MysqlHarness
  const leaked = await harness.openMysqlConnections(server.url).catch(() => [])
  if (leaked.length > 0) {
    console.warn(
      `[mariadb] WARNING: ${leaked.length} connection(s) still open at teardown: a test file did not close ` +
        `its mysql2 pool/connection, PrismaClient, Kysely or Drizzle client. They are terminated now.\n` +
        leaked.map((c) => `  - database ${c.database || "(none)"} (${c.command}) ${c.info}`).join("\n"),
    )
    tolerateTerminatedConnections()
  }
  const t0 = performance.now()
  await server.stop()
  console.log(`[mariadb] ${server.backend} server stopped in ${((performance.now() - t0) / 1000).toFixed(2)} s`)
}

export default async function teardown(): Promise<void> {
  const store = globalThis as Record<symbol, unknown>
  const pgServer = store[SERVER_KEY] as StartedPostgres | undefined
  const mysqlServer = store[MYSQL_SERVER_KEY] as StartedMysql | undefined
  delete store[SERVER_KEY]
  delete store[MYSQL_SERVER_KEY]
  const results = await Promise.allSettled([pgServer && stopPostgres(pgServer), mysqlServer && stopMysql(mysqlServer)])
  const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected")
  if (failure) throw failure.reason
}
