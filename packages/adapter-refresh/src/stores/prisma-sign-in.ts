/**
 * The one-statement sign-in of the Prisma store (PostgreSQL on @prisma/adapter-pg, MariaDB on
 * @prisma/adapter-mariadb, SQLite on @prisma/adapter-better-sqlite3): the shared SQL statement
 * (`sqlUpdateOwnTokens`, databases/*) on the table prisma-account-table.ts derived, sent through Prisma's raw
 * queries. Internal: not part of the package's exports.
 */
import { mysql } from "../databases/mysql.js"
import { postgres } from "../databases/postgres.js"
import type { SqlDatabase } from "../databases/sql-database.js"
import { sqlite } from "../databases/sqlite.js"
import { sqlTables, sqlUpdateOwnTokens, type OwnTokensRunner, type SqlRunner, type SqlTables } from "../statements.js"
import type { AccountStore } from "../store.js"
import { prismaAccountTable, type PrismaAccountTable } from "./prisma-account-table.js"
import type { PrismaClientLike } from "./prisma.js"

/** What the raw one-statement sign-in differs in by database. */
interface PrismaRawSignIn {
  database: SqlDatabase
  /** Every column of the table, as the database has it (for the check before first use). */
  columnsQuery(schema: string | undefined, table: string): [text: string, values: unknown[]]
  /** An `@updatedAt` value for now, in UTC as Prisma writes it (a Date: the driver adapter formats it). */
  timestamp(now: Date): string | Date
  /** MariaDB's UPDATE returns no rows: the statement resolves to the rows it matched ($executeRawUnsafe's count). */
  countOnly: boolean
}

const PRISMA_RAW_SIGN_IN: Record<PrismaAccountTable["database"], PrismaRawSignIn> = {
  postgres: {
    database: postgres,
    columnsQuery: (schema, table) => [
      `SELECT column_name::text AS "column" FROM information_schema.columns ` +
        `WHERE table_schema = $1 AND table_name = $2`,
      [schema, table],
    ],
    // An ISO instant: PostgreSQL reads it the same into timestamp and timestamptz.
    timestamp: (now) => now.toISOString(),
    countOnly: false,
  },
  mysql: {
    database: mysql,
    columnsQuery: (_schema, table) => [
      "SELECT column_name AS `column` FROM information_schema.columns " +
        "WHERE table_schema = DATABASE() AND table_name = ?",
      [table],
    ],
    // DATETIME takes no "T" or "Z".
    timestamp: (now) => now.toISOString().replace("T", " ").replace("Z", ""),
    countOnly: true,
  },
  sqlite: {
    database: sqlite,
    columnsQuery: (_schema, table) => [`SELECT name AS "column" FROM pragma_table_info(?)`, [table]],
    // The adapter writes a Date in its own timestampFormat (ISO text by default, or epoch milliseconds),
    // as it does for the model's writes.
    timestamp: (now) => now,
    countOnly: false,
  },
}

/**
 * `AccountStore.updateOwnTokens` for a Prisma Client on PostgreSQL, MariaDB or SQLite: `sqlUpdateOwnTokens` (the
 * UPDATE that takes the key's lock without waiting, `SqlDatabase.ownTokens` in databases/*) sent through
 * `$queryRawUnsafe` (MariaDB: `$executeRawUnsafe`), values as parameters, on
 * the table and columns `prismaAccountTable` derived; `@updatedAt` fields are set to now as Prisma does.
 * Before its first use by this store it checks, in one information_schema query, that the table has
 * exactly the model's columns; until that check passes (or when a token field is not in the model) it
 * writes nothing and the core takes the locked path. Prisma owns the pool: `begin()` is called right before
 * the statement is handed to Prisma, so the wait for a connection is Prisma's, as for the adapter's own
 * queries. Undefined when the table cannot be derived.
 */
export function prismaUpdateOwnTokens(
  prisma: PrismaClientLike,
  accountModel: string,
  accountOption: string,
): AccountStore["updateOwnTokens"] {
  const found = prismaAccountTable(prisma, accountModel)
  if (!found.ok) return undefined
  const { schema, table, columns, updatedAt } = found.table
  const raw = PRISMA_RAW_SIGN_IN[found.table.database]
  const qualified = schema === undefined ? table : `${schema}.${table}`
  const tables: SqlTables = sqlTables(raw.database, {
    accounts: qualified,
    // The statement names no users table.
    users: qualified,
    store: "prisma",
    origin: { accounts: { name: table, option: accountOption }, users: { name: table, option: accountOption } },
    accountColumns: Object.fromEntries(columns),
  })
  const update = sqlUpdateOwnTokens(tables)
  if (!update) return undefined
  const run: SqlRunner = async (text, values) => prisma.$queryRawUnsafe<Record<string, unknown>[]>(text, ...values)
  const affected = async (text: string, values: readonly unknown[]): Promise<number> =>
    prisma.$executeRawUnsafe(text, ...values)
  const runner: OwnTokensRunner = raw.countOnly ? { run, affected } : { run }
  let verified: boolean | undefined
  const verify = async (): Promise<boolean> => {
    if (verified !== undefined) return verified
    try {
      const present = new Set((await run(...raw.columnsQuery(schema, table))).map((row) => row.column))
      verified = present.size === columns.size && [...columns.values()].every((column) => present.has(column))
    } catch {
      // Not known yet (e.g. the database is down): this sign-in takes the locked path, the next one checks again.
      return false
    }
    return verified
  }
  return async (key, userId, tokens, begin) => {
    // Nothing to write (the @updatedAt fields alone are not a write), or a field the model lacks: the
    // locked path decides, and reports the field.
    const given = Object.entries(tokens).filter(([, value]) => value !== undefined)
    if (given.length === 0 || !given.every(([field]) => columns.has(field))) return []
    if (!(await verify())) return []
    // @updatedAt fields are written with the tokens.
    const now = raw.timestamp(new Date())
    begin()
    return update(runner, key, userId, {
      ...Object.fromEntries(given),
      ...Object.fromEntries(updatedAt.map((field) => [field, now])),
    })
  }
}
