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

/**
 * A checked-out connection, listened to for `error` while held. node-postgres listens only to idle
 * connections: a held one the server ends (pg_terminate_backend, a restart, a dropped socket) emits `error`
 * with no listener, which crashes the process. Caught here, the query in progress still fails (and the
 * caller gets a typed error); the connection is then destroyed on release, never handed out again.
 */
async function checkOut(pool: PgPoolLike): Promise<{ client: PgPoolClientLike; release: (failure?: unknown) => void }> {
  const client = await pool.connect()
  let ended: Error | undefined
  const onError = (error: Error): void => {
    ended ??= error
  }
  client.on?.("error", onError)
  return {
    client,
    release(failure?: unknown) {
      client.off?.("error", onError)
      const destroy = ended ?? failure
      client.release(destroy === undefined ? undefined : asError(destroy))
    },
  }
}

/** One connection of a node-postgres Pool, held for one statement. @internal */
export async function holdPgConnection(pool: PgPoolLike): Promise<HeldConnection> {
  const { client, release } = await checkOut(pool)
  return { run: pgRunner(client), release: () => release() }
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
      const { client, release } = await checkOut(pool)
      return { run: pgRunner(client), release }
    },
  }
}

function asError(value: unknown): Error | true {
  return value instanceof Error ? value : true
}
