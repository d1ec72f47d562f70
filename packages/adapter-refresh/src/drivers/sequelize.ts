/**
 * The SqlDriver of a Sequelize 6 instance: the library's SQL on the raw connections of Sequelize's own
 * connection manager (node-postgres, mariadb, mysql2 or sqlite3, by dialect), so Sequelize neither
 * rewrites the statements nor wraps the driver's errors. PostgreSQL, MariaDB, MySQL: a pooled connection per
 * transaction, destroyed when BEGIN or ROLLBACK failed. MariaDB/MySQL add a named lock on the key
 * (`GET_LOCK`, released after COMMIT): the adapter's models have no unique key on (provider,
 * providerAccountId), so the row lock alone cannot keep two first inserts of a key apart. SQLite: a
 * connection of the store's own on the file, one transaction at a time per process, its lock asked for
 * again from the event loop. Internal: not part of the package's exports.
 */
import { mysql } from "../databases/mysql.js"
import { postgres } from "../databases/postgres.js"
import type { SqlDatabase } from "../databases/sql-database.js"
import { SQLITE_BEGIN_LOCKED, sqlite } from "../databases/sqlite.js"
import type { SqlDriver, SqlTransactionConnection } from "../sql-store.js"
import type { HeldConnection, SqlRunner } from "../statements.js"
import { serialTurns, SQLITE_DEFAULT_LOCK_WAIT_MS, untilNotBusy } from "./sqlite-wait.js"

/** The part of a Sequelize connection manager this driver uses; connections are the dialect's own. */
export interface SequelizeConnectionManagerLike {
  getConnection(options?: { type?: "read" | "write"; uuid?: string }): Promise<object>
  releaseConnection(connection: object): unknown
  destroyConnection?(connection: object): Promise<unknown>
}

type Raw = (connection: object, text: string, values: unknown[]) => Promise<unknown>
type Callback = (error: Error | null, result: unknown) => void
const callback = (run: (done: Callback) => void) =>
  new Promise<unknown>((resolve, reject) => run((error, result) => (error ? reject(error) : resolve(result))))

/** How each dialect's raw connection runs one statement. */
const RAW: Record<string, { database: SqlDatabase; raw: Raw }> = {
  postgres: { database: postgres, raw: async (c, text, values) => (c as PgLike).query(text, values) },
  mariadb: { database: mysql, raw: (c, text, values) => (c as MariadbLike).query(text, values) },
  mysql: {
    database: mysql,
    raw: (c, text, values) => callback((done) => (c as CallbackLike).query(text, values, done)),
  },
  sqlite: {
    database: sqlite,
    raw: (c, text, values) => callback((done) => (c as CallbackLike).all(text, values, done)),
  },
}
interface PgLike {
  query(text: string, values: unknown[]): Promise<{ rows: unknown }>
}
interface MariadbLike {
  query(text: string, values: unknown[]): Promise<unknown>
}
interface CallbackLike {
  query(text: string, values: unknown[], done: Callback): void
  all(text: string, values: unknown[], done: Callback): void
}

/** The dialects the driver speaks, by `sequelize.getDialect()`. @internal */
export const SEQUELIZE_DIALECTS = Object.keys(RAW)

/** Rows of an answer: node-postgres' `rows`, the others' array; a write's header has none. */
const rowsOf = (result: unknown): Record<string, unknown>[] => {
  const rows = (result as { rows?: unknown } | null)?.rows ?? result
  return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : []
}

/** The key's named lock on MariaDB/MySQL (names are at most 64 characters: a hash of the key). */
const NAME = "CONCAT('authjs_refresh:', SHA1(CONCAT(?, CHAR(0), ?)))"
const TAKE_NAMED = `SELECT GET_LOCK(${NAME}, ?) AS got`
const lockWaitTimeout = () =>
  Object.assign(new Error("Lock wait timeout exceeded (the key's named lock)"), {
    errno: 1205,
    code: "ER_LOCK_WAIT_TIMEOUT",
  })

/** `mysql` with the named lock first: it also covers a key that has no row to lock yet. */
const mysqlNamed: SqlDatabase = {
  ...mysql,
  lockStatements(key, target, lockTimeoutMs) {
    const { take, restore } = mysql.lockStatements(key, target, lockTimeoutMs)
    const wait = lockTimeoutMs === undefined ? 50 : lockTimeoutMs / 1000
    return { take: [{ text: TAKE_NAMED, values: [key.provider, key.providerAccountId, wait] }, ...take], restore }
  },
}

/** The driver of a Sequelize instance of `dialect` (one of {@link SEQUELIZE_DIALECTS}). @internal */
export function sequelizeDriver(manager: SequelizeConnectionManagerLike, dialect: string): SqlDriver {
  const { database, raw } = RAW[dialect]!
  const runOn =
    (connection: object): SqlRunner =>
    async (text, values) =>
      rowsOf(await raw(connection, text, [...values]))
  const hold = async (): Promise<HeldConnection> => {
    const connection = await manager.getConnection({ type: "write" })
    return {
      run: runOn(connection),
      // A write's header: affectedRows (rows changed: Sequelize turns FOUND_ROWS off).
      affected: async (text, values) =>
        Number(((await raw(connection, text, [...values])) as { affectedRows?: unknown }).affectedRows ?? 0),
      release: () => void manager.releaseConnection(connection),
    }
  }
  const run: SqlRunner = async (text, values) => {
    const held = await hold()
    try {
      return await held.run(text, values)
    } finally {
      held.release()
    }
  }
  if (database === sqlite) return sqliteDriver(manager, runOn)
  if (database === postgres) return { database, run, hold, acquire: () => pooled(manager, runOn) }
  return { database: mysqlNamed, run, hold, acquire: () => pooled(manager, runOn, true) }
}

/** A pooled connection for one transaction; with `named`, the key's named lock released after it ends. */
async function pooled(
  manager: SequelizeConnectionManagerLike,
  runOn: (connection: object) => SqlRunner,
  named = false,
): Promise<SqlTransactionConnection> {
  const connection = await manager.getConnection({ type: "write" })
  const plain = runOn(connection)
  let locked: readonly unknown[] | undefined
  const run: SqlRunner = async (text, values) => {
    const rows = await plain(text, values)
    if (text !== TAKE_NAMED) return rows
    if (Number(rows[0]?.got) !== 1) throw lockWaitTimeout()
    locked = values.slice(0, 2)
    return rows
  }
  const end = (statement: string) => async () => {
    await plain(statement, [])
    if (named && locked) await plain(`DO RELEASE_LOCK(${NAME})`, locked)
    locked = undefined
  }
  return {
    run,
    commit: end("COMMIT"),
    rollback: end("ROLLBACK"),
    async release(failure) {
      if (failure === undefined && !locked) return void manager.releaseConnection(connection)
      await (manager.destroyConnection?.(connection) ?? manager.releaseConnection(connection))
    },
  }
}

/**
 * SQLite: Sequelize shares one connection for everything outside its transactions, so the store opens its
 * own on the file (a `uuid` connection, as Sequelize's transactions do) for its transactions, the sign-in and
 * the leases, one at a time per process. Busy timeout 0 there: the file's lock is asked for again from the
 * event loop, and the sign-in never waits.
 */
function sqliteDriver(manager: SequelizeConnectionManagerLike, runOn: (connection: object) => SqlRunner): SqlDriver {
  const turn = serialTurns()
  const uuid = `authjs-refresh-${globalThis.crypto.randomUUID()}`
  let own: SqlRunner | undefined
  let busy = 0
  const opened = async () => {
    if (own) return own
    const run = runOn(await manager.getConnection({ uuid }))
    await run("PRAGMA busy_timeout = 0", [])
    return (own = run)
  }
  /** The store's connection between two of its own turns; `deadline` bounds the wait for the file. */
  const turnOn = async (deadline: number) => {
    busy++
    const ended = await turn()
    const release = () => void (busy--, ended())
    try {
      const run = await opened()
      return { run, retried: ((text, values) => untilNotBusy(() => run(text, values), deadline)) as SqlRunner, release }
    } catch (error) {
      release()
      throw error
    }
  }
  const shared: SqlRunner = async (text, values) => runOn(await manager.getConnection({}))(text, values)
  const unheld = (run: SqlRunner) => async (): Promise<HeldConnection> => ({ run, release: () => undefined })
  return {
    database: sqlite,
    run: shared,
    hold: unheld(shared),
    // Sent in the same synchronous step that checks no turn is on the connection: never inside a transaction.
    signIn: unheld(async (text, values) => (busy > 0 || !own ? [] : own(text, values))),
    async leases() {
      const { retried, release } = await turnOn(Date.now() + SQLITE_DEFAULT_LOCK_WAIT_MS)
      return { run: retried, release }
    },
    async acquire(lock) {
      const deadline = Date.now() + (lock.timeoutMs ?? SQLITE_DEFAULT_LOCK_WAIT_MS)
      const { run, retried, release } = await turnOn(deadline)
      return {
        run,
        begin: async () => void (await retried(SQLITE_BEGIN_LOCKED, [])),
        // A COMMIT can find readers on the file (rollback journal): asked again like the lock.
        commit: async () => void (await untilNotBusy(() => run("COMMIT", []), Math.max(deadline, Date.now() + 5000))),
        rollback: async () => void (await run("ROLLBACK", []).catch(() => undefined)),
        release,
      }
    },
  }
}
