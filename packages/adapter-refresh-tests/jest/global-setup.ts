/**
 * Jest global setup of the adapter-refresh-tests project: one real PostgreSQL server for all test files.
 * Test workers inherit process.env: AUTHJS_REFRESH_TEST_PG_URL (admin URL; use testDatabase() from
 * src/harness/postgres.ts for an isolated database) and AUTHJS_REFRESH_TEST_PG_BACKEND.
 *
 * Jest loads this file through Node's own ESM loader, not its module runtime, so a relative import of
 * a .ts file would not resolve: tsx's scoped tsImport loads the harness instead.
 */
import { tsImport } from "tsx/esm/api"

type Harness = typeof import("../src/harness/postgres.js")

const SERVER_KEY = Symbol.for("authjs-adapter-refresh-tests.postgres")

export default async function setup(): Promise<void> {
  const harness = (await tsImport("../src/harness/postgres.js", import.meta.url)) as Harness
  const server = await harness.startPostgres()
  process.env[harness.TEST_PG_URL_ENV] = server.url
  process.env[harness.TEST_PG_BACKEND_ENV] = server.backend
  ;(globalThis as Record<symbol, unknown>)[SERVER_KEY] = server
}
