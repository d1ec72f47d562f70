/**
 * Drizzle on mysql2 (`drizzle-orm/mysql2`, on a pool): reads on Drizzle's session; a transaction, the
 * sign-in and each lease operation on a connection of the pool (`getConnection`). Internal: not part of the
 * package's exports.
 */
import { mysql } from "../databases/mysql.js"
import type { SqlDriver } from "../sql-store.js"
import type { HeldConnection } from "../statements.js"
import { sessionRunner, type DrizzleRunnable } from "./drizzle-session.js"

/** The part of a mysql2 pool this driver uses (mysql2/promise, or a callback pool's `.promise()`). */
interface Mysql2PoolLike {
  getConnection(): Promise<{ query(text: string, values: unknown[]): Promise<[unknown, unknown]>; release(): void }>
}

/** mysql2 answers [rows, fields] to a query and [ResultSetHeader, undefined] to a write. */
const rowsOf = (result: unknown): Record<string, unknown>[] =>
  Array.isArray(result) && Array.isArray(result[0]) ? (result[0] as Record<string, unknown>[]) : []

/** The driver of a mysql2 Drizzle database; `client` is its `$client`, a pool. @internal */
export function drizzleMysql2Driver(db: DrizzleRunnable, client: unknown): SqlDriver {
  const callbackPool = client as { promise?: () => Mysql2PoolLike }
  const pool = typeof callbackPool.promise === "function" ? callbackPool.promise() : (client as Mysql2PoolLike)
  const hold = async (): Promise<HeldConnection> => {
    const connection = await pool.getConnection()
    const query = async (text: string, values: readonly unknown[]) => (await connection.query(text, [...values]))[0]
    return {
      run: async (text, values) => rowsOf([await query(text, values)]),
      // A write's ResultSetHeader: affectedRows counts the rows matched (mysql2 sets FOUND_ROWS by default).
      affected: async (text, values) =>
        Number(((await query(text, values)) as { affectedRows?: unknown }).affectedRows ?? 0),
      release: () => connection.release(),
    }
  }
  return {
    database: mysql,
    run: sessionRunner(db, (session, query) => session.prepareQuery(query, undefined).execute(), rowsOf),
    hold,
    acquire: hold,
  }
}
