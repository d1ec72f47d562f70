/**
 * The SqlDriver of a MikroORM 5 SQL EntityManager: the library's own SQL on connections of the knex pool
 * MikroORM keeps (`em.getConnection().getKnex()`), held until the store releases them. A statement goes
 * through the knex dialect's own `_query` (its placeholders as they are, no query builder, no identity
 * map) and never through knex's `query`, which would copy the parameters (tokens) into its error messages.
 * SQLite: knex's one connection, held by one transaction at a time, BEGIN IMMEDIATE bounded by the
 * connection's busy timeout, set for the transaction and put back after (as the Kysely driver does).
 * Internal: not part of the package's exports.
 */
import { mysql } from "../databases/mysql.js"
import { postgres } from "../databases/postgres.js"
import type { SqlDatabase } from "../databases/sql-database.js"
import { sqlite } from "../databases/sqlite.js"
import type { SqlDriver } from "../sql-store.js"
import type { HeldConnection } from "../statements.js"
import { pooledTransactions } from "./sqlite-wait.js"

/** The knex client under a MikroORM SQL connection, as far as this driver uses it. @internal */
export interface MikroOrmKnexClientLike {
  acquireConnection(): Promise<unknown>
  releaseConnection(connection: unknown): unknown
  _query(connection: unknown, query: { sql: string; bindings: readonly unknown[] }): Promise<{ response?: unknown }>
}

type Rows = Record<string, unknown>[]
/** A dialect's raw answer as rows and a count of written rows. */
type Answer = { rows: Rows; affected: number }

const asRows = (value: unknown): Rows => (Array.isArray(value) ? (value as Rows) : [])
const countOf = (value: unknown, field: string): number =>
  Number((value as Record<string, unknown> | undefined)?.[field] ?? 0)

// What each knex dialect's `_query` leaves in `response`: pg a Result; mysql2 and the mariadb connector
// [rows or an OK packet, fields]; better-sqlite3 the rows of a reading statement, else a run's info.
const ANSWERS = new Map<SqlDatabase, (response: unknown) => Answer>([
  [postgres, (r) => ({ rows: asRows((r as { rows?: unknown }).rows), affected: countOf(r, "rowCount") })],
  [mysql, (r) => ({ rows: asRows(asRows(r)[0]), affected: countOf(asRows(r)[0], "affectedRows") })],
  [sqlite, (r) => ({ rows: asRows(r), affected: countOf(r, "changes") })],
])

/** The driver of MikroORM's knex client on `database`. @internal */
export function mikroOrmDriver(client: () => MikroOrmKnexClientLike, database: SqlDatabase): SqlDriver {
  const answerOf = ANSWERS.get(database)!
  const send = async (connection: unknown, sql: string, bindings: readonly unknown[]) =>
    answerOf((await client()._query(connection, { sql, bindings })).response)

  async function hold(): Promise<HeldConnection> {
    const knex = client()
    const connection = await knex.acquireConnection()
    let released = false
    return {
      run: async (text, values) => (await send(connection, text, values)).rows,
      // MariaDB's one-statement sign-in returns only how many rows it wrote.
      affected: async (text, values) => (await send(connection, text, values)).affected,
      release() {
        if (released) return
        released = true
        knex.releaseConnection(connection)
      },
    }
  }

  return {
    database,
    async run(text, values) {
      const held = await hold()
      try {
        return await held.run(text, values)
      } finally {
        held.release()
      }
    },
    hold,
    ...pooledTransactions(database, hold),
  }
}
