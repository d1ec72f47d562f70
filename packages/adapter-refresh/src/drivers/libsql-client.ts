/**
 * @libsql/client on a local file, as far as the Drizzle libsql driver (drizzle-libsql.ts) uses it: what a
 * client is, its statements as a runner, and the write transaction that never fails a prepared statement on
 * the file's lock (why: drizzle-libsql.ts's header). Internal: not part of the package's exports.
 */
import { busyTimeoutOf, SQLITE_READ_BUSY_TIMEOUT, sqliteBusyTimeout, sqliteNoOpWrite } from "../databases/sqlite.js"
import { schemaMismatch, type SqlRunner, type SqlTables } from "../statements.js"
import { SQLITE_DEFAULT_LOCK_WAIT_MS, untilNotBusy } from "./sqlite-wait.js"

/** What a libsql statement is given and returns, on the client or on one of its transactions. */
export interface LibsqlExecutor {
  execute(statement: { sql: string; args: unknown[] }): Promise<{ rows: readonly object[] }>
  /** Runs SQL text as a batch: each statement is finalized, even when it fails. */
  executeMultiple(sql: string): Promise<unknown>
}

/** An @libsql/client Client (`createClient({ url: "file:..." })`), as far as this driver uses it. @internal */
export interface LibsqlClientLike extends LibsqlExecutor {
  readonly protocol: string
  /** A transaction holds one of the client's connections until `close` (which rolls back if still open). */
  transaction(mode: "deferred"): Promise<LibsqlTransaction>
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

/** Rows copied to plain objects (libsql's rows also carry index keys). @internal */
export const runnerOn =
  (target: LibsqlExecutor): SqlRunner =>
  async (text, values) =>
    (await target.execute({ sql: text, args: [...values] })).rows.map((row) => ({ ...row }) as Record<string, unknown>)

/** A SELECT cannot write: it takes no write lock, and in WAL a held one never makes it busy. @internal */
export const READ_ONLY = /^\s*SELECT\b/i

/** A transaction of the client's, holding one of its connections until `close`. @internal */
export type LibsqlTransaction = LibsqlExecutor & { close(): void }

/**
 * A deferred transaction that holds the file's write lock, asked for from the event loop until `deadline`
 * (see drizzle-libsql.ts). Closed (rolled back) when the lock is not had. @internal
 */
export async function writeLocked(
  client: LibsqlClientLike,
  tables: SqlTables,
  deadline: number,
): Promise<LibsqlTransaction> {
  const opened = await client.transaction("deferred")
  try {
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
    return opened
  } catch (error) {
    opened.close()
    throw error
  }
}

/** COMMIT, asked again while readers keep the file busy (rollback journal). @internal */
export const commitOf = async (tx: LibsqlTransaction, deadline: number): Promise<void> =>
  void (await untilNotBusy(
    () => tx.executeMultiple("COMMIT"),
    Math.max(deadline, Date.now() + SQLITE_DEFAULT_LOCK_WAIT_MS),
  ))
