/**
 * A named lock on the account key for MariaDB/MySQL schemas WITHOUT a unique key on (provider,
 * providerAccountId) (`@auth/sequelize-adapter`'s models, TypeORM's and MikroORM's entities): the row lock of
 * databases/mysql.ts cannot lock a key that has no row yet, and without the unique key nothing stops two
 * first inserts. `GET_LOCK` on a hash of the key is taken before the row lock and released right after COMMIT
 * or ROLLBACK, on the same connection (a named lock belongs to the session, so it must be released by a
 * statement: a driver that sends COMMIT itself can). A connection whose release failed must be destroyed.
 * Internal: not part of the package's exports.
 */
import { mysql } from "../databases/mysql.js"
import type { SqlDatabase } from "../databases/sql-database.js"
import type { SqlTransactionConnection } from "../sql-store.js"
import type { SqlRunner } from "../statements.js"

/** The lock's name: at most 64 characters, so a hash of the key. */
const NAME = "CONCAT('authjs_refresh:', SHA1(CONCAT(?, CHAR(0), ?)))"
const TAKE = `SELECT GET_LOCK(${NAME}, ?) AS got`
/** innodb_lock_wait_timeout's default, for a transaction without a bound. */
const DEFAULT_WAIT_SECONDS = 50

/** `mysql`, with the key's named lock taken first (in `SqlDatabase.lockStatements`). @internal */
export const mysqlWithKeyLock: SqlDatabase = {
  ...mysql,
  lockStatements(key, target, lockTimeoutMs) {
    const { take, restore } = mysql.lockStatements(key, target, lockTimeoutMs)
    const wait = lockTimeoutMs === undefined ? DEFAULT_WAIT_SECONDS : lockTimeoutMs / 1000
    return { take: [{ text: TAKE, values: [key.provider, key.providerAccountId, wait] }, ...take], restore }
  },
}

/**
 * A transaction's statements on `plain` (one connection): a GET_LOCK that timed out fails as MySQL's lock
 * wait timeout (1205, what the store reads as busy), and COMMIT or ROLLBACK release the lock after them.
 * `held()` says whether the lock is still held (its release failed: destroy the connection). @internal
 */
export function keyLockedStatements(
  plain: SqlRunner,
): Required<Pick<SqlTransactionConnection, "run" | "commit" | "rollback">> & { held(): boolean } {
  let locked: readonly unknown[] | undefined
  const end = (statement: string) => async () => {
    await plain(statement, [])
    // A failed release does not fail what COMMIT or ROLLBACK did: held() stays true, and the caller destroys
    // the connection (which ends its session and the lock with it).
    if (locked)
      await plain(`DO RELEASE_LOCK(${NAME})`, locked).then(
        () => (locked = undefined),
        () => undefined,
      )
  }
  return {
    async run(text, values) {
      const rows = await plain(text, values)
      if (text !== TAKE) return rows
      if (Number(rows[0]?.got) !== 1) {
        throw Object.assign(new Error("Lock wait timeout exceeded (the account key's named lock)"), {
          errno: 1205,
          code: "ER_LOCK_WAIT_TIMEOUT",
        })
      }
      locked = values.slice(0, 2)
      return rows
    },
    commit: end("COMMIT"),
    rollback: end("ROLLBACK"),
    held: () => locked !== undefined,
  }
}
