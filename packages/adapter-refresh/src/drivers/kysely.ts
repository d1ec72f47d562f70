/**
 * The SqlDriver of a Kysely instance: the library's own SQL through `executeQuery` on a plugin-free view
 * (so the configured table names are used as they are), on connections Kysely lends for a callback
 * (`db.connection()`), held until the store releases them. An account transaction is the database's own
 * begin on such a connection (SQLite: BEGIN IMMEDIATE on Kysely's one connection, bounded by the
 * connection's busy timeout, set for the transaction and put back after). Internal: not part of the
 * package's exports.
 */
import type { SqlDatabase } from "../databases/sql-database.js"
import type { SqlDriver } from "../sql-store.js"
import type { HeldConnection, SqlRunner } from "../statements.js"
import { pooledTransactions } from "./sqlite-wait.js"
import type { KyselyCompiledQueryLike, KyselyExecutorLike, KyselyLike } from "../stores/kysely.js"

function compile(sql: string, parameters: readonly unknown[]): KyselyCompiledQueryLike {
  return {
    sql,
    parameters,
    query: { kind: "RawNode", sqlFragments: [sql], parameters: [] },
    queryId: { queryId: globalThis.crypto.randomUUID() },
  }
}

function runnerOf(executor: KyselyExecutorLike): SqlRunner {
  const plain = executor.withoutPlugins()
  return async (text, values) => (await plain.executeQuery<Record<string, unknown>>(compile(text, values))).rows
}

/** One of Kysely's connections, held until `release` (Kysely lends a connection only for a callback). */
function holdKyselyConnection(db: KyselyLike): Promise<HeldConnection> {
  return new Promise<HeldConnection>((resolve, reject) => {
    db.connection()
      .execute(
        (connection) =>
          new Promise<void>((release) => {
            const plain = connection.withoutPlugins()
            resolve({
              run: runnerOf(connection),
              // MariaDB's one-statement sign-in returns only how many rows it wrote.
              affected: async (text, values) =>
                Number(
                  (await plain.executeQuery<Record<string, unknown>>(compile(text, values))).numAffectedRows ?? 0n,
                ),
              release,
            })
          }),
      )
      .catch(reject)
  })
}

/** The driver of a Kysely instance on `database`. @internal */
export function kyselyDriver(db: KyselyLike, database: SqlDatabase): SqlDriver {
  const hold = () => holdKyselyConnection(db)
  return {
    database,
    run: runnerOf(db),
    hold,
    ...pooledTransactions(database, hold),
  }
}
