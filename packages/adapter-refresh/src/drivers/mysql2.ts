/**
 * A mysql2 pool on its own (what Better Auth's built-in Kysely adapter is given on MySQL/MariaDB): every
 * statement, transaction, sign-in and lease on a connection of the pool (`getConnection`), the reads on the
 * pool itself. Internal: not part of the package's exports.
 */
import { mysql } from "../databases/mysql.js"
import type { SqlDriver } from "../sql-store.js"
import type { HeldConnection } from "../statements.js"

/** The part of a mysql2 promise pool this driver uses. @internal */
export interface Mysql2PoolLike {
  query(text: string, values: unknown[]): Promise<[unknown, unknown]>
  getConnection(): Promise<{ query(text: string, values: unknown[]): Promise<[unknown, unknown]>; release(): void }>
}

/** Whether `value` looks like a mysql2 pool (mysql2/promise, or a callback pool with `.promise()`). @internal */
export function isMysql2Pool(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false
  const pool = value as { getConnection?: unknown; query?: unknown; execute?: unknown }
  return typeof pool.getConnection === "function" && typeof pool.query === "function"
}

/** mysql2 answers [rows, fields] to a query and [ResultSetHeader, undefined] to a write. */
const rowsOf = (result: unknown): Record<string, unknown>[] =>
  Array.isArray(result) ? (result as Record<string, unknown>[]) : []

/** The driver of a mysql2 pool. @internal */
export function mysql2PoolDriver(client: unknown): SqlDriver {
  const callbackPool = client as { promise?: () => Mysql2PoolLike }
  const pool = typeof callbackPool.promise === "function" ? callbackPool.promise() : (client as Mysql2PoolLike)
  const hold = async (): Promise<HeldConnection> => {
    const connection = await pool.getConnection()
    const query = async (text: string, values: readonly unknown[]) => (await connection.query(text, [...values]))[0]
    return {
      run: async (text, values) => rowsOf(await query(text, values)),
      // A write's ResultSetHeader: affectedRows counts the rows matched (mysql2 sets FOUND_ROWS by default).
      affected: async (text, values) =>
        Number(((await query(text, values)) as { affectedRows?: unknown }).affectedRows ?? 0),
      release: () => connection.release(),
    }
  }
  return {
    database: mysql,
    run: async (text, values) => rowsOf((await pool.query(text, [...values]))[0]),
    hold,
    acquire: hold,
  }
}
