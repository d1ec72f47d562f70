/**
 * Drizzle on node-postgres (`drizzle-orm/node-postgres`): reads on Drizzle's session, transactions and held
 * connections from the Pool, as the pg store's (drivers/node-postgres.ts). Internal: not part of the
 * package's exports.
 */
import { postgres } from "../databases/postgres.js"
import type { SqlDriver } from "../sql-store.js"
import { isPgPool } from "../stores/pg.js"
import { drizzleSessionDriver, pgSessionQuery, sessionRunner, type DrizzleRunnable } from "./drizzle-session.js"
import { nodePostgresDriver } from "./node-postgres.js"

/** The driver of a node-postgres Drizzle database; `client` is its `$client`. @internal */
export function drizzleNodePostgresDriver(db: DrizzleRunnable, client: unknown): SqlDriver {
  const runnerOf = (target: DrizzleRunnable) => sessionRunner(target, pgSessionQuery)
  if (!isPgPool(client)) return drizzleSessionDriver(db, postgres, runnerOf)
  return { ...nodePostgresDriver(client, postgres), run: runnerOf(db) }
}
