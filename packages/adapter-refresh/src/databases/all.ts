/** Every database this library speaks, for questions asked of an error whose database is not known. @internal */
import { mysql } from "./mysql.js"
import { postgres } from "./postgres.js"
import type { SqlDatabase } from "./sql-database.js"
import { sqlite } from "./sqlite.js"

/** @internal */
export const DATABASES: readonly SqlDatabase[] = [postgres, mysql, sqlite]

/** Whether a driver error says a wait for a lock ran out, on any database (55P03, 1205, SQLITE_BUSY). @internal */
export function isLockWaitTimeout(error: unknown): boolean {
  return DATABASES.some((database) => database.classifyError(error).kind === "lock-timeout")
}
