/**
 * The SqlDriver of a Sequelize 6 instance: the library's SQL on the raw connections of Sequelize's own
 * connection manager (node-postgres, mariadb, mysql2 or sqlite3, by dialect), so Sequelize neither
 * rewrites the statements nor wraps the driver's errors. PostgreSQL, MariaDB, MySQL: a pooled connection per
 * transaction, destroyed when BEGIN or ROLLBACK failed. MariaDB/MySQL add the key's named lock
 * (mysql-key-lock.ts): the adapter's models have no unique key on the account's key. SQLite: a
 * connection of the store's own on the file, one transaction at a time per process, its lock asked for
 * again from the event loop. Internal: not part of the package's exports.
 */
import { mysql } from "../databases/mysql.js"
import { postgres } from "../databases/postgres.js"
import type { SqlDatabase } from "../databases/sql-database.js"
import { SQLITE_BEGIN_LOCKED, sqlite } from "../databases/sqlite.js"
import { unheld } from "../sql-leases.js"
import type { SqlDriver, SqlTransactionConnection } from "../sql-store.js"
import type { HeldConnection, SqlRunner } from "../statements.js"
import { keyLockedStatements, mysqlWithKeyLock } from "./mysql-key-lock.js"
import { serialTurns, SQLITE_DEFAULT_LOCK_WAIT_MS, untilNotBusy } from "./sqlite-wait.js"

/** The part of a Sequelize connection manager this driver uses; connections are the dialect's own. */
export interface SequelizeConnectionManagerLike {
  getConnection(options?: { type?: "read" | "write"; uuid?: string }): Promise<object>
  releaseConnection(connection: object): unknown
  destroyConnection?(connection: object): Promise<unknown>
}

type Callback = (error: Error | null, result: unknown) => void
/** A dialect's raw connection: node-postgres' and mariadb's answer a promise, mysql2's and sqlite3's call back. */
interface RawConnection {
  query(text: string, values: unknown[], done?: Callback): Promise<unknown> | void
  all(text: string, values: unknown[], done: Callback): void
}
const called = (send: (done: Callback) => void) =>
  new Promise<unknown>((resolve, reject) => send((error, result) => (error ? reject(error) : resolve(result))))
type Raw = (connection: RawConnection, text: string, values: unknown[]) => Promise<unknown>
const promised: Raw = async (connection, text, values) => connection.query(text, values)

/** The database of each dialect, and how its raw connection runs one statement. */
const RAW: Record<string, { database: SqlDatabase; raw: Raw }> = {
  postgres: { database: postgres, raw: promised },
  mariadb: { database: mysql, raw: promised },
  mysql: { database: mysql, raw: (c, text, values) => called((done) => void c.query(text, values, done)) },
  sqlite: { database: sqlite, raw: (c, text, values) => called((done) => c.all(text, values, done)) },
}

/** The dialects the driver speaks, by `sequelize.getDialect()`. @internal */
export const SEQUELIZE_DIALECTS = Object.keys(RAW)

/** Rows of an answer: node-postgres' `rows`, the others' array; a write's header has none. */
const rowsOf = (result: unknown): Record<string, unknown>[] => {
  const rows = (result as { rows?: unknown } | null)?.rows ?? result
  return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : []
}

/** The driver of a Sequelize instance of `dialect` (one of {@link SEQUELIZE_DIALECTS}). @internal */
export function sequelizeDriver(manager: SequelizeConnectionManagerLike, dialect: string): SqlDriver {
  const { database, raw } = RAW[dialect]!
  const runOn =
    (connection: object): SqlRunner =>
    async (text, values) =>
      rowsOf(await raw(connection as RawConnection, text, [...values]))
  const hold = async (): Promise<HeldConnection> => {
    const connection = await manager.getConnection({ type: "write" })
    return {
      run: runOn(connection),
      // A write's header: affectedRows (rows changed: Sequelize turns FOUND_ROWS off).
      affected: async (text, values) =>
        Number(((await raw(connection as RawConnection, text, [...values])) as { affectedRows?: number }).affectedRows),
      release: () => void manager.releaseConnection(connection),
    }
  }
  // One statement on a connection of the pool, given back whatever its outcome.
  const run: SqlRunner = (text, values) => hold().then((held) => held.run(text, values).finally(held.release))
  if (database === sqlite) return sqliteDriver(manager, runOn)
  if (database === postgres) return { database, run, hold, acquire: () => pooled(manager, runOn) }
  return { database: mysqlWithKeyLock, run, hold, acquire: () => pooled(manager, runOn, true) }
}

/** A pooled connection for one transaction; `keyLock` for MariaDB/MySQL (drivers/mysql-key-lock.ts). */
async function pooled(
  manager: SequelizeConnectionManagerLike,
  runOn: (connection: object) => SqlRunner,
  keyLock = false,
): Promise<SqlTransactionConnection> {
  const connection = await manager.getConnection({ type: "write" })
  const locked = keyLock ? keyLockedStatements(runOn(connection)) : undefined
  return {
    run: locked?.run ?? runOn(connection),
    ...(locked && { commit: locked.commit, rollback: locked.rollback }),
    async release(failure) {
      if (failure === undefined && !locked?.held()) return void manager.releaseConnection(connection)
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
    const run = await opened().catch((error: unknown) => {
      release()
      throw error
    })
    return { run, retried: ((text, values) => untilNotBusy(() => run(text, values), deadline)) as SqlRunner, release }
  }
  const shared: SqlRunner = async (text, values) => runOn(await manager.getConnection({}))(text, values)
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
