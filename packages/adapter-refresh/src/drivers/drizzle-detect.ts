/**
 * Which Drizzle database and driver a db is, read from the `Symbol.for("drizzle:entityKind")` names Drizzle
 * stamps on its classes, and what the store refuses at construction (another driver, a transaction, a single
 * connection where a pool is needed, in-memory better-sqlite3, remote libsql), saying what to pass instead.
 * Internal: not part of the package's exports.
 */
import { mysql } from "../databases/mysql.js"
import { postgres } from "../databases/postgres.js"
import type { SqlDatabase } from "../databases/sql-database.js"
import { sqlite } from "../databases/sqlite.js"
import { UnsupportedDatabaseError } from "../errors.js"
import type { DrizzleDatabaseLike } from "../stores/drizzle.js"
import { isPgClient } from "../stores/pg.js"
import type { BetterSqliteLike } from "./drizzle-better-sqlite3.js"
import { isLibsqlClient, type LibsqlClientLike } from "./libsql-client.js"

const ENTITY_KIND = Symbol.for("drizzle:entityKind")

/**
 * The entity kinds of `value`'s class and its ancestors, most derived first (what drizzle's `is()` walks).
 * @internal
 */
export function entityKinds(value: object): string[] {
  const kinds: string[] = []
  let cls: unknown = Object.getPrototypeOf(value)?.constructor
  while (typeof cls === "function") {
    const kind = Object.prototype.hasOwnProperty.call(cls, ENTITY_KIND)
      ? (cls as unknown as Record<symbol, unknown>)[ENTITY_KIND]
      : undefined
    if (typeof kind === "string") kinds.push(kind)
    cls = Object.getPrototypeOf(cls)
  }
  return kinds
}

/** Drizzle's base database class of each dialect, by entity kind. */
const DIALECT_BASES: Readonly<Record<string, SqlDatabase>> = {
  PgDatabase: postgres,
  MySqlDatabase: mysql,
  BaseSQLiteDatabase: sqlite,
}

/** The Drizzle drivers the store runs on. @internal */
export type DrizzleDriver = "node-postgres" | "postgres.js" | "mysql2" | "better-sqlite3" | "libsql"

/** The drivers this store runs on, by the entity kind of their database class. */
const SUPPORTED_DRIVERS: Readonly<Record<string, DrizzleDriver>> = {
  NodePgDatabase: "node-postgres",
  PostgresJsDatabase: "postgres.js",
  MySql2Database: "mysql2",
  BetterSQLite3Database: "better-sqlite3",
  LibSQLDatabase: "libsql",
}

const SUPPORTED_LIST =
  "drizzle-orm/node-postgres (on a pg Pool), drizzle-orm/postgres-js, drizzle-orm/mysql2 (on a pool), " +
  "drizzle-orm/better-sqlite3 (on a database file) or drizzle-orm/libsql (on a local file)"

/** The database of a db whose entity kinds are `kinds`: its dialect's. @internal */
export function databaseOfKinds(kinds: readonly string[]): SqlDatabase | undefined {
  for (const kind of kinds) if (kind in DIALECT_BASES) return DIALECT_BASES[kind]
  return undefined
}

/** An UnsupportedDatabaseError of the Drizzle store. @internal */
export function unsupported(message: string): UnsupportedDatabaseError {
  return new UnsupportedDatabaseError(`drizzleAccountStore: ${message}`)
}

/** The driver of `db`, or an UnsupportedDatabaseError saying what to pass instead. @internal */
export function driverOf(db: DrizzleDatabaseLike, kinds: readonly string[]): DrizzleDriver {
  if (kinds.some((kind) => kind.endsWith("Transaction"))) {
    throw unsupported("got a Drizzle transaction; pass the database itself (the store opens its own transactions).")
  }
  const driver = kinds.map((kind) => SUPPORTED_DRIVERS[kind]).find((entry) => entry !== undefined)
  if (!driver) {
    throw unsupported(
      `this Drizzle driver (${kinds[0] ?? "unknown"}) is not supported; ` +
        `use ${SUPPORTED_LIST}, or pass an object implementing AccountStore.`,
    )
  }
  const client = db.$client
  if (driver === "node-postgres" && isPgClient(client)) {
    throw unsupported(
      "this Drizzle database runs on a single node-postgres Client, " +
        "so concurrent transactions would share one connection; " +
        "build it on a Pool: drizzle(new Pool({ connectionString })) or drizzle(connectionString).",
    )
  }
  if (driver === "mysql2" && typeof (client as { getConnection?: unknown } | undefined)?.getConnection !== "function") {
    throw unsupported(
      "this Drizzle database runs on a single mysql2 connection, so concurrent transactions would share it; " +
        "build it on a pool: drizzle(mysql.createPool(url)) or drizzle(url).",
    )
  }
  if (driver === "libsql" && !isLibsqlClient(client)) {
    throw unsupported(
      "this drizzle-orm/libsql database has no @libsql/client Client as " +
        "$client; build it with drizzle(createClient({ url: 'file:app.db' })).",
    )
  }
  if (driver === "libsql" && (client as LibsqlClientLike).protocol !== "file") {
    // A remote database (Turso, sqld) runs its transactions over the network with other locking; only the
    // local file mode has been measured.
    throw unsupported(
      `this drizzle-orm/libsql client speaks ${JSON.stringify((client as LibsqlClientLike).protocol)}; ` +
        `only a local file (url "file:...") is supported, ` +
        "or pass an object implementing AccountStore.",
    )
  }
  if (driver === "better-sqlite3" && (client as BetterSqliteLike | undefined)?.memory !== false) {
    throw unsupported(
      "this better-sqlite3 database is in memory, which no second " +
        "connection can open, and the store needs one for its transactions; " +
        "use a database file: drizzle(new Database('app.db')).",
    )
  }
  return driver
}
