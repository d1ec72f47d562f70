/**
 * Drizzle on libsql (`drizzle-orm/libsql`, @libsql/client 0.18 on a local file): the app's client, whose
 * pool lends each transaction a connection of its own. Measured with two processes (WAL and rollback
 * journal): any prepared statement that meets another connection's write lock fails with SQLITE_BUSY and
 * stays un-reset on its connection, which the pool lends again: a BEGIN IMMEDIATE, and an autocommit write
 * too (the lease take's INSERT ... RETURNING through `execute`, or `batch(..., "write")`): that
 * connection's next COMMIT is refused ("SQL statements in progress"), so the store's next transaction on
 * it fails. With the app's busy timeout the statement waits instead, on the JavaScript thread (no timer
 * ran meanwhile). So no statement of the store's may fail on the lock through a prepared statement; each
 * transaction, and each lease statement in one of its own, is:
 * - BEGIN DEFERRED (`transaction("deferred")`), which takes no lock and cannot be busy;
 * - the write lock taken by a no-op write through `executeMultiple`, which finalizes its statement even
 *   when it fails, asked again from the event loop until the bound (busy timeout 0 meanwhile, put back
 *   after: the app's own would block this process's event loop);
 * - then the statements, which hold the lock and cannot be busy (`execute`: they return rows);
 * - COMMIT through `executeMultiple` too, asked again on SQLITE_BUSY.
 * One transaction or lease statement at a time per process (a pool whose connections transactions hold
 * refuses the app's next statement). No one-statement sign-in: through `execute` it would fail on the lock
 * like the take (not yet given the leases' transaction).
 * Internal: not part of the package's exports.
 */
import { UnsupportedDatabaseError } from "../errors.js"
import { sqlite } from "../databases/sqlite.js"
import { unheld } from "../sql-leases.js"
import type { SqlDriver } from "../sql-store.js"
import type { HeldConnection, SqlTables } from "../statements.js"
import {
  commitOf,
  READ_ONLY,
  runnerOn,
  writeLocked,
  type LibsqlClientLike,
  type LibsqlTransaction,
} from "./libsql-client.js"
import { serialTurns, SQLITE_DEFAULT_LOCK_WAIT_MS } from "./sqlite-wait.js"

/** The driver of a libsql Drizzle database on a local file; `lockTimeoutMs` bounds a lease's wait. @internal */
export function drizzleLibsqlDriver(
  client: LibsqlClientLike,
  tables: SqlTables,
  unsupported: (message: string) => UnsupportedDatabaseError,
  lockTimeoutMs?: number,
): SqlDriver {
  const run = runnerOn(client)
  const turn = serialTurns()
  // An in-memory database (one connection, which a held transaction would take from the app) is refused,
  // asked once on first use: the client does not say what it opened.
  let fileChecked: Promise<void> | undefined
  const checkFile = (): Promise<void> =>
    (fileChecked ??= run("PRAGMA database_list", []).then(
      (rows) => {
        const main = rows.find((row) => row.name === "main")
        if (main !== undefined && (main.file === "" || main.file === null))
          throw unsupported(
            "this drizzle-orm/libsql client is on an in-memory database, which has a " +
              "single connection; use a database file: createClient({ url: 'file:app.db' }).",
          )
      },
      (error: unknown) => {
        fileChecked = undefined
        throw error
      },
    ))
  return {
    database: sqlite,
    run,
    hold: unheld(run),
    signIn: null,
    // Between the store's transactions: each write in a write transaction of its own, committed before its
    // rows are returned; the lock's bound, counted from the statement, makes busy a value (sql-leases.ts). A
    // read (the take's look) takes no write lock and is sent as it is: it tells whose a busy take's lease is.
    async leases(): Promise<HeldConnection> {
      await checkFile()
      const release = await turn()
      return {
        async run(text, values) {
          if (READ_ONLY.test(text)) return run(text, values)
          const deadline = Date.now() + (lockTimeoutMs ?? SQLITE_DEFAULT_LOCK_WAIT_MS)
          const tx = await writeLocked(client, tables, deadline)
          try {
            const rows = await runnerOn(tx)(text, values)
            await commitOf(tx, deadline)
            return rows
          } finally {
            tx.close()
          }
        },
        release,
      }
    },
    async acquire(lock) {
      const deadline = Date.now() + (lock.timeoutMs ?? SQLITE_DEFAULT_LOCK_WAIT_MS)
      const endTurn = await turn()
      let tx: LibsqlTransaction | undefined
      return {
        run: (text, values) => runnerOn(tx!)(text, values),
        async begin() {
          await checkFile()
          tx = await writeLocked(client, tables, deadline)
        },
        commit: () => commitOf(tx!, deadline),
        // `close` rolls back what is still open.
        rollback: async () => undefined,
        release() {
          try {
            tx?.close()
          } finally {
            endTurn()
          }
        },
      }
    },
  }
}
