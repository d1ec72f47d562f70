/**
 * Jest global teardown of the adapter-refresh-tests project: stops the server of global-setup.ts.
 *
 * On 2 cores Jest runs the test files in this very process, so a pg Pool or Client that a test file left
 * open is still connected here. Stopping the server terminates it, and a client without an "error"
 * listener would then crash the process after all results are in. So: the leaks are listed loudly (the
 * database name starts with the prefix the suite gave testDatabase()), and the termination errors they
 * raise while the server goes away are reported instead of crashing the run.
 */
import { tsImport } from "tsx/esm/api"
import type { StartedPostgres } from "../src/harness/postgres.js"

type Harness = typeof import("../src/harness/postgres.js")

const SERVER_KEY = Symbol.for("authjs-adapter-refresh-tests.postgres")

/** Errors a connection raises when its server shuts down under it. */
function serverGone(error: unknown): boolean {
  const e = error as { code?: string; message?: string; context?: unknown } | null
  if (!e) return false
  if (e.code === "ERR_UNHANDLED_ERROR") return serverGone(e.context)
  return (
    ["57P01", "57P02", "57P03", "ECONNRESET", "EPIPE"].includes(e.code ?? "") ||
    /Connection terminated unexpectedly|terminating connection due to administrator command/.test(e.message ?? "")
  )
}

export default async function teardown(): Promise<void> {
  const store = globalThis as Record<symbol, unknown>
  const server = store[SERVER_KEY] as StartedPostgres | undefined
  if (!server) return
  delete store[SERVER_KEY]
  if (server.backend === "TEST_DATABASE_URL") return

  const harness = (await tsImport("../src/harness/postgres.js", import.meta.url)) as Harness
  const leaked = await harness.openConnections(server.url).catch(() => [])
  if (leaked.length > 0) {
    console.warn(
      `[postgres] WARNING: ${leaked.length} connection(s) still open at teardown: a test file did not close ` +
        `its pg Pool/Client/PrismaClient/Kysely. They are terminated now.\n` +
        leaked.map((c) => `  - database ${c.database} (${c.state || "?"}) last query: ${c.query}`).join("\n"),
    )
    let swallowed = 0
    process.on("uncaughtException", (error) => {
      if (serverGone(error)) {
        if (swallowed++ === 0) console.warn(`[postgres] a leaked connection was terminated: ${(error as Error).message.split("\n")[0]}`)
        return
      }
      // Anything else keeps Node's default behaviour: report and exit non-zero.
      console.error(error)
      process.exit(1)
    })
  }

  const t0 = performance.now()
  await server.stop()
  console.log(`[postgres] ${server.backend} server stopped in ${((performance.now() - t0) / 1000).toFixed(2)} s`)
}
