/** Vitest global setup: one real PostgreSQL server for the Vitest files, stopped by the returned teardown. */
import { startPostgres, TEST_PG_URL_ENV } from "../../src/postgres.js"

export default async function setup(): Promise<() => Promise<void>> {
  const server = await startPostgres()
  process.env[TEST_PG_URL_ENV] = server.url
  return () => server.stop()
}
