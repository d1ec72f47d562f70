/**
 * Statements through a Drizzle database's own session (`session.prepareQuery`), what every Drizzle driver
 * runs its reads on, and the driver's own error under Drizzle's wrapper. Internal: not part of the package's
 * exports.
 */
import type { SqlDatabase } from "../databases/sql-database.js"
import { unheld } from "../sql-leases.js"
import type { SqlDriver } from "../sql-store.js"
import type { SqlRunner } from "../statements.js"
import { heldTransaction } from "./held-transaction.js"

/** A prepared query of a Drizzle session; which method runs it depends on the driver. @internal */
export interface DrizzlePreparedQueryLike {
  execute(): Promise<unknown>
  all(): unknown
}

/** A Drizzle database or transaction, as far as its session and `transaction` go. @internal */
export interface DrizzleRunnable {
  readonly session: {
    prepareQuery(query: { sql: string; params: unknown[] }, ...rest: unknown[]): DrizzlePreparedQueryLike
  }
  transaction<T>(work: (tx: DrizzleRunnable) => Promise<T>, config?: { isolationLevel?: "read committed" }): Promise<T>
}

/**
 * Drizzle wraps a driver's error in a DrizzleQueryError whose message carries the statement's parameters
 * (tokens among them) and whose `code` is gone. The store passes the driver's own error on, which is what
 * the databases classify and the core reduces to its class name and code. @internal
 */
export function driverError(error: unknown): unknown {
  if (
    error instanceof Error &&
    error.constructor.name === "DrizzleQueryError" &&
    "params" in error &&
    error.cause !== undefined
  ) {
    return error.cause
  }
  return error
}

/** A result's rows: an array of rows, or an object with `rows` (node-postgres's QueryResult). @internal */
export function rowsOf(result: unknown): Record<string, unknown>[] {
  if (Array.isArray(result)) return result as Record<string, unknown>[]
  const rows = (result as { rows?: unknown } | null)?.rows
  return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : []
}

/**
 * A runner on a Drizzle session: `execute` prepares the query the driver's way and runs it, `rows` reads
 * its result. @internal
 */
export function sessionRunner(
  target: DrizzleRunnable,
  execute: (session: DrizzleRunnable["session"], query: { sql: string; params: unknown[] }) => unknown,
  rows: (result: unknown) => Record<string, unknown>[] = rowsOf,
): SqlRunner {
  return async (text, values) => {
    try {
      return rows(await execute(target.session, { sql: text, params: [...values] }))
    } catch (error) {
      throw driverError(error)
    }
  }
}

/**
 * node-postgres and postgres.js: (query, fields, name, isResponseInArrayMode): no fields, so Drizzle maps
 * nothing. @internal
 */
export const pgSessionQuery = (session: DrizzleRunnable["session"], query: { sql: string; params: unknown[] }) =>
  session.prepareQuery(query, undefined, undefined, false).execute()

/**
 * The driver of a Drizzle database whose client lends no connection of its own to hold: transactions are
 * Drizzle's own (`db.transaction`, READ COMMITTED), everything else one statement on its session, and no
 * one-statement sign-in (its `begin` must come after a pool's wait, which this client does not show). @internal
 */
export function drizzleSessionDriver(
  db: DrizzleRunnable,
  database: SqlDatabase,
  runnerOf: (target: DrizzleRunnable) => SqlRunner,
): SqlDriver {
  const run = runnerOf(db)
  return {
    database,
    run,
    hold: unheld(run),
    signIn: null,
    acquire: () =>
      heldTransaction<DrizzleRunnable>(
        (callback) => db.transaction(callback, { isolationLevel: "read committed" }),
        runnerOf,
      ),
  }
}
