/**
 * Drizzle on postgres.js (`drizzle-orm/postgres-js`): reads on Drizzle's session; a transaction, the
 * sign-in and each lease operation on a connection reserved from the app's `sql` (postgres 3.4+, where a
 * reserved connection may run its own BEGIN). Internal: not part of the package's exports.
 */
import { postgres } from "../databases/postgres.js"
import type { SqlDriver } from "../sql-store.js"
import type { HeldConnection } from "../statements.js"
import { drizzleSessionDriver, pgSessionQuery, sessionRunner, type DrizzleRunnable } from "./drizzle-session.js"

/** The part of a postgres.js `sql` this driver uses for a held connection (postgres 3.4+). */
interface PostgresJsLike {
  reserve(): Promise<{
    unsafe(text: string, values: unknown[]): PromiseLike<readonly Record<string, unknown>[]>
    release(): void
  }>
}

/** The driver of a postgres.js Drizzle database; `client` is its `$client`. @internal */
export function drizzlePostgresJsDriver(db: DrizzleRunnable, client: unknown): SqlDriver {
  const runnerOf = (target: DrizzleRunnable) => sessionRunner(target, pgSessionQuery)
  const sql = client as Partial<PostgresJsLike> | undefined
  // Before 3.4 postgres.js reserves no connection: Drizzle's own transactions.
  if (typeof sql?.reserve !== "function") return drizzleSessionDriver(db, postgres, runnerOf)
  const reserve = sql.reserve.bind(sql)
  const hold = async (): Promise<HeldConnection> => {
    const connection = await reserve()
    return {
      run: async (text, values) => [...(await connection.unsafe(text, [...values]))],
      release: () => connection.release(),
    }
  }
  return { database: postgres, run: runnerOf(db), hold, acquire: hold }
}
