/**
 * The SqlDriver of a node-postgres `Pool` (the pg store's, and Drizzle's node-postgres one): a transaction
 * on a connection checked out of the pool, destroyed instead of returned when BEGIN or ROLLBACK failed (its
 * state is then unknown). Internal: not part of the package's exports.
 */
import type { SqlDatabase } from "../databases/sql-database.js"
import type { SqlDriver } from "../sql-store.js"
import type { HeldConnection, SqlRunner } from "../statements.js"
import type { PgPoolClientLike, PgPoolLike } from "../stores/pg.js"

/** Statements on a node-postgres Pool or checked-out connection. @internal */
export function pgRunner(target: Pick<PgPoolClientLike, "query">): SqlRunner {
  return async (text, values) => (await target.query(text, [...values])).rows
}

/** One connection of a node-postgres Pool, held for one statement. @internal */
export async function holdPgConnection(pool: PgPoolLike): Promise<HeldConnection> {
  const client = await pool.connect()
  return { run: pgRunner(client), release: () => client.release() }
}

/** The driver of a node-postgres Pool, on the database it speaks (PostgreSQL). @internal */
export function nodePostgresDriver(pool: PgPoolLike, database: SqlDatabase): SqlDriver {
  return {
    database,
    run: pgRunner(pool),
    hold: () => holdPgConnection(pool),
    // An idle connection takes a read at once, so it cannot be sent late: pool.query, the cheapest way.
    idle: () => (pool.idleCount ?? 0) > 0,
    async acquire() {
      const client = await pool.connect()
      return {
        run: pgRunner(client),
        release: (failure?: unknown) => client.release(failure === undefined ? undefined : asError(failure)),
      }
    },
  }
}

function asError(value: unknown): Error | true {
  return value instanceof Error ? value : true
}
