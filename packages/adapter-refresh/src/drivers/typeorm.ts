/**
 * The SqlDriver of a TypeORM DataSource: the library's own SQL through a query runner of the DataSource
 * (`createQueryRunner()`: connect, query with parameters, release), its errors unwrapped from TypeORM's
 * `QueryFailedError` (which carries the statement's parameters, tokens included). The database is read from
 * the DataSource's driver type. MySQL/MariaDB: TypeORM's `accounts` table has no unique key on
 * (provider, providerAccountId), so the row lock cannot exclude two first inserts of one key; the key's named
 * lock of mysql-key-lock.ts is taken first and released after COMMIT or ROLLBACK on the same held connection.
 * Internal: not part of the package's exports.
 */
import { postgres } from "../databases/postgres.js"
import type { SqlDatabase } from "../databases/sql-database.js"
import { sqlite } from "../databases/sqlite.js"
import type { SqlDriver } from "../sql-store.js"
import type { HeldConnection, SqlRunner } from "../statements.js"
import type { TypeOrmDataSourceLike, TypeOrmQueryRunnerLike } from "../stores/typeorm.js"
import { ownConnectionSqliteDriver, type BetterSqliteLike } from "./drizzle-better-sqlite3.js"
import { keyLockedStatements, mysqlWithKeyLock } from "./mysql-key-lock.js"

/** The databases by TypeORM's driver type. @internal */
export const TYPEORM_DATABASES: Readonly<Record<string, SqlDatabase | undefined>> = {
  postgres,
  mysql: mysqlWithKeyLock,
  mariadb: mysqlWithKeyLock,
  "better-sqlite3": sqlite,
}

/** TypeORM wraps a driver's error in a QueryFailedError holding the query's parameters: only the driver's is kept. */
const unwrap = (error: unknown): unknown => (error as { driverError?: unknown } | null)?.driverError ?? error

/** What a query runner is given back with: destroyed (pg: `release(err)`; mysql2: `destroy()`) after a failure. */
function giveBack(runner: TypeOrmQueryRunnerLike, failure?: unknown): Promise<void> {
  const internal = runner as {
    releasePostgresConnection?: (error: unknown) => Promise<void>
    databaseConnection?: { destroy?: () => void }
  }
  if (failure !== undefined && internal.releasePostgresConnection) return internal.releasePostgresConnection(failure)
  if (failure !== undefined) internal.databaseConnection?.destroy?.()
  return runner.release()
}

async function hold(dataSource: TypeOrmDataSourceLike): Promise<HeldConnection & { runner: TypeOrmQueryRunnerLike }> {
  const runner = dataSource.createQueryRunner()
  try {
    await runner.connect()
  } catch (error) {
    await runner.release().catch(() => undefined)
    throw unwrap(error)
  }
  const query = async (text: string, values: readonly unknown[]) => {
    try {
      return await runner.query(text, [...values], true)
    } catch (error) {
      throw unwrap(error)
    }
  }
  return {
    runner,
    run: async (text, values) => ((await query(text, values)).records ?? []) as Record<string, unknown>[],
    // MariaDB's one-statement sign-in returns only how many rows it wrote (mysql2 counts matched rows).
    affected: async (text, values) => Number((await query(text, values)).affected ?? 0),
    release: () => void runner.release().catch(() => undefined),
  }
}

/** TypeORM's better-sqlite3 Database, when the DataSource has one. @internal */
export const betterSqliteOf = (dataSource: TypeOrmDataSourceLike): BetterSqliteLike | undefined =>
  (dataSource.driver as { databaseConnection?: BetterSqliteLike }).databaseConnection

/**
 * The driver of an initialised TypeORM DataSource. SQLite: TypeORM shares one connection and one query runner
 * for everything, so transactions go to a connection of the store's own (ownConnectionSqliteDriver), as for
 * Drizzle. @internal
 */
export function typeormDriver(
  dataSource: TypeOrmDataSourceLike,
  database: SqlDatabase,
  lockTimeoutMs: number | undefined,
): SqlDriver {
  const run: SqlRunner = async (text, values) => {
    const held = await hold(dataSource)
    try {
      return await held.run(text, values)
    } finally {
      held.release()
    }
  }
  if (database === sqlite) return ownConnectionSqliteDriver(betterSqliteOf(dataSource)!, run, lockTimeoutMs)
  return {
    database,
    run,
    hold: () => hold(dataSource),
    async acquire() {
      const held = await hold(dataSource)
      const locked = database === mysqlWithKeyLock ? keyLockedStatements(held.run) : undefined
      return {
        run: locked?.run ?? held.run,
        ...(locked && { commit: locked.commit, rollback: locked.rollback }),
        async release(failure) {
          // A named lock that could not be released must not go back to the pool with its connection.
          const stuck = locked?.held() ? new Error("the account key's named lock is still held") : undefined
          await giveBack(held.runner, failure ?? stuck).catch(() => undefined)
        },
      }
    },
  }
}
