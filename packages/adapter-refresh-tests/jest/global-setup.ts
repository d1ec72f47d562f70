/**
 * Jest global setup of the adapter-refresh-tests project: one real PostgreSQL server and one real MariaDB
 * server for all test files, started side by side. Test workers inherit process.env:
 *   AUTHJS_REFRESH_TEST_PG_URL / _PG_BACKEND (testDatabase() in src/harness/postgres.ts),
 *   AUTHJS_REFRESH_TEST_MYSQL_URL / _MYSQL_BACKEND (testMysqlDatabase() in src/harness/mariadb.ts).
 * SQLite needs no server (testSqliteFile() in src/harness/sqlite.ts); its driver line is printed here too.
 *
 * Jest loads this file through Node's own ESM loader, not its module runtime, so a relative import of
 * a .ts file would not resolve: tsx's scoped tsImport loads the harness instead.
 */
import { tsImport } from "tsx/esm/api"

type PgHarness = typeof import("../src/harness/postgres.js")
type MysqlHarness = typeof import("../src/harness/mariadb.js")
type SqliteHarness = typeof import("../src/harness/sqlite.js")

const SERVER_KEY = Symbol.for("authjs-adapter-refresh-tests.postgres")
const MYSQL_SERVER_KEY = Symbol.for("authjs-adapter-refresh-tests.mariadb")

export default async function setup(): Promise<void> {
  const [pgHarness, mysqlHarness, sqliteHarness] = (await Promise.all([
    tsImport("../src/harness/postgres.js", import.meta.url),
    tsImport("../src/harness/mariadb.js", import.meta.url),
    tsImport("../src/harness/sqlite.js", import.meta.url),
  ])) as [PgHarness, MysqlHarness, SqliteHarness]
  const [pgResult, mysqlResult] = await Promise.allSettled([pgHarness.startPostgres(), mysqlHarness.startMariaDb()])
  const failure = [pgResult, mysqlResult].find((r): r is PromiseRejectedResult => r.status === "rejected")
  if (failure) {
    // One failed: stop the other before reporting, so nothing outlives the run.
    await Promise.allSettled(
      [pgResult, mysqlResult].map((r) => (r.status === "fulfilled" ? r.value.stop() : Promise.resolve())),
    )
    throw failure.reason
  }
  const pgServer = (pgResult as PromiseFulfilledResult<Awaited<ReturnType<PgHarness["startPostgres"]>>>).value
  const mysqlServer = (mysqlResult as PromiseFulfilledResult<Awaited<ReturnType<MysqlHarness["startMariaDb"]>>>).value
  process.env[pgHarness.TEST_PG_URL_ENV] = pgServer.url
  process.env[pgHarness.TEST_PG_BACKEND_ENV] = pgServer.backend
  process.env[mysqlHarness.TEST_MYSQL_URL_ENV] = mysqlServer.url
  process.env[mysqlHarness.TEST_MYSQL_BACKEND_ENV] = mysqlServer.backend
  ;(globalThis as Record<symbol, unknown>)[SERVER_KEY] = pgServer
  ;(globalThis as Record<symbol, unknown>)[MYSQL_SERVER_KEY] = mysqlServer
  console.log(sqliteHarness.sqliteBackendLine())
}
