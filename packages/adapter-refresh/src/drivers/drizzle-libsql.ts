/**
 * Drizzle on libsql (`drizzle-orm/libsql`, @libsql/client 0.18 on a local file): the app's client, whose
 * pool lends each transaction a connection of its own. Measured: a `client.transaction("write")` whose BEGIN
 * IMMEDIATE meets another connection's write lock fails with SQLITE_BUSY and leaves that BEGIN un-reset
 * ("in progress") on the connection, which the pool lends again; SQLite then refuses its COMMIT, and
 * `commit()` rolls back. So no statement of the store's may fail on the lock through a prepared statement:
 * - BEGIN DEFERRED (`transaction("deferred")`), which takes no lock and cannot be busy;
 * - the write lock taken by a no-op write through `executeMultiple`, which finalizes its statement even
 *   when it fails, asked again from the event loop until the bound (busy timeout 0 meanwhile, put back
 *   after: the app's own would block this process's event loop);
 * - COMMIT through `executeMultiple` too, asked again on SQLITE_BUSY.
 * One transaction at a time per process (a pool whose connections transactions hold refuses the app's next
 * statement). No sign-in and no leases: `executeMultiple` returns no rows or count. Internal: not part of
 * the package's exports.
 */
import { UnsupportedDatabaseError } from "../errors.js"
import {
  busyTimeoutOf,
  SQLITE_READ_BUSY_TIMEOUT,
  sqlite,
  sqliteBusyTimeout,
  sqliteNoOpWrite,
} from "../databases/sqlite.js"
import { unheld } from "../sql-leases.js"
import type { SqlDriver } from "../sql-store.js"
import { schemaMismatch, type SqlRunner, type SqlTables } from "../statements.js"
import { serialTurns, SQLITE_DEFAULT_LOCK_WAIT_MS, untilNotBusy } from "./sqlite-wait.js"

/** What a libsql statement is given and returns, on the client or on one of its transactions. */
interface LibsqlExecutor {
  execute(statement: { sql: string; args: unknown[] }): Promise<{ rows: readonly object[] }>
  /** Runs SQL text as a batch: each statement is finalized, even when it fails. */
  executeMultiple(sql: string): Promise<unknown>
}

/** An @libsql/client Client (`createClient({ url: "file:..." })`), as far as this driver uses it. @internal */
export interface LibsqlClientLike extends LibsqlExecutor {
  readonly protocol: string
  /** A transaction holds one of the client's connections until `close` (which rolls back if still open). */
  transaction(mode: "deferred"): Promise<LibsqlExecutor & { close(): void }>
}

/** Whether `value` is an @libsql/client Client. @internal */
export function isLibsqlClient(value: unknown): value is LibsqlClientLike {
  const client = value as Partial<Record<keyof LibsqlClientLike, unknown>> | null | undefined
  return (
    typeof client === "object" &&
    client !== null &&
    typeof client.protocol === "string" &&
    ["execute", "executeMultiple", "transaction"].every(
      (name) => typeof client[name as keyof LibsqlClientLike] === "function",
    )
  )
}

/** Rows copied to plain objects (libsql's rows also carry index keys). */
const runnerOn =
  (target: LibsqlExecutor): SqlRunner =>
  async (text, values) =>
    (await target.execute({ sql: text, args: [...values] })).rows.map((row) => ({ ...row }) as Record<string, unknown>)

/** The driver of a libsql Drizzle database on a local file. @internal */
export function drizzleLibsqlDriver(
  client: LibsqlClientLike,
  tables: SqlTables,
  unsupported: (message: string) => UnsupportedDatabaseError,
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
    leases: null,
    async acquire(lock) {
      const deadline = Date.now() + (lock.timeoutMs ?? SQLITE_DEFAULT_LOCK_WAIT_MS)
      const endTurn = await turn()
      let tx: (LibsqlExecutor & { close(): void }) | undefined
      return {
        run: (text, values) => runnerOn(tx!)(text, values),
        async begin() {
          await checkFile()
          const opened = (tx = await client.transaction("deferred"))
          const appTimeout = busyTimeoutOf((await runnerOn(opened)(SQLITE_READ_BUSY_TIMEOUT, []))[0])
          await opened.executeMultiple(sqliteBusyTimeout(0))
          try {
            const write = sqliteNoOpWrite(tables.accounts, tables.column("provider"))
            await untilNotBusy(() => opened.executeMultiple(write), deadline).catch((error: unknown) => {
              throw schemaMismatch(error, tables, "accounts")
            })
          } finally {
            if (appTimeout !== undefined) await opened.executeMultiple(sqliteBusyTimeout(appTimeout))
          }
        },
        commit: async () =>
          void (await untilNotBusy(
            () => tx!.executeMultiple("COMMIT"),
            Math.max(deadline, Date.now() + SQLITE_DEFAULT_LOCK_WAIT_MS),
          )),
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
