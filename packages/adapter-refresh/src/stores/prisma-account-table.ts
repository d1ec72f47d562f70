/**
 * Where a Prisma Client's account model lives as raw SQL must name it: read from the schema text the
 * client embeds (prisma-schema.ts) and checked against its runtime data model and driver adapter, never
 * guessed. Used by the one-statement sign-in (prisma-sign-in.ts). Internal: not part of the package's
 * exports (the stores/prisma entry re-exports the function for tests through `internal`).
 */
import { readPrismaModel } from "./prisma-schema.js"

/**
 * What a generated Prisma 7 client keeps at run time (also through `$extends`) that the one-statement
 * sign-in reads: the schema text it was generated from, its runtime data model (model and field names,
 * `dbName` = `@@map`, but no field-level `@map`), and the driver adapter it was given. @internal
 */
export interface PrismaClientInternals {
  _engineConfig?: {
    inlineSchema?: unknown
    adapter?: { provider?: unknown; adapterName?: unknown; options?: { schema?: unknown } }
  }
  _runtimeDataModel?: {
    models?: Record<
      string,
      { dbName?: unknown; schema?: unknown; fields?: readonly { name?: unknown; kind?: unknown }[] }
    >
  }
}

/** The account model's table as raw SQL must name it. */
export interface PrismaAccountTable {
  /**
   * The database the statement is written for: PostgreSQL (@prisma/adapter-pg), MariaDB/MySQL
   * (@prisma/adapter-mariadb) or SQLite (@prisma/adapter-better-sqlite3).
   */
  database: "postgres" | "mysql" | "sqlite"
  /**
   * PostgreSQL: the schema qualifying the table, as information_schema spells it. MySQL, SQLite: none (the connection's
   * database).
   */
  schema: string | undefined
  table: string
  /** Scalar field -> column, every scalar field of the model. */
  columns: ReadonlyMap<string, string>
  /** The `@updatedAt` fields. */
  updatedAt: readonly string[]
}

const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/

/** The driver adapters the raw sign-in is written for, by `adapterName`, with the `provider` each reports. */
const RAW_SIGN_IN_ADAPTERS = new Map<unknown, { provider: string; database: PrismaAccountTable["database"] }>([
  ["@prisma/adapter-pg", { provider: "postgres", database: "postgres" }],
  ["@prisma/adapter-mariadb", { provider: "mysql", database: "mysql" }],
  ["@prisma/adapter-better-sqlite3", { provider: "sqlite", database: "sqlite" }],
])

/**
 * The account model's table and columns, derived from the schema text the client embeds and checked
 * against the client's runtime data model (same fields in the same order, relation fields where it has
 * them, `@@map` = its `dbName`, `@@schema` = its `schema`). Only for `@prisma/adapter-pg`, whose `schema`
 * option (default "public") qualifies every table Prisma names, `@prisma/adapter-mariadb` (the
 * connection's database, no qualifier) and `@prisma/adapter-better-sqlite3` (the file, no qualifier).
 * Not `@prisma/adapter-libsql`: a statement that fails on the file's lock through libsql's `execute` stays
 * in progress on its connection. Otherwise the reason it is not derived: the store then keeps the locked
 * path. Never guesses a name.
 */
export function prismaAccountTable(
  prisma: object,
  accountModel: string,
  required: readonly string[] = ["provider", "providerAccountId", "userId"],
): { ok: true; table: PrismaAccountTable } | { ok: false; reason: string } {
  const internals = prisma as PrismaClientInternals
  const adapter = internals._engineConfig?.adapter
  const known = RAW_SIGN_IN_ADAPTERS.get(adapter?.adapterName)
  if (!known || known.provider !== adapter?.provider)
    return {
      ok: false,
      reason: "not a client on @prisma/adapter-pg, @prisma/adapter-mariadb or @prisma/adapter-better-sqlite3",
    }
  const { database } = known
  const onPg = database === "postgres"
  const schemaText = internals._engineConfig?.inlineSchema
  if (typeof schemaText !== "string") return { ok: false, reason: "the client keeps no schema text" }
  const models = internals._runtimeDataModel?.models ?? {}
  const names = Object.keys(models).filter((name) => name.charAt(0).toLowerCase() + name.slice(1) === accountModel)
  if (names.length !== 1) return { ok: false, reason: `no single model for the delegate "${accountModel}"` }
  const runtime = models[names[0]!]!
  const reading = readPrismaModel(schemaText, names[0]!)
  if (!reading.ok) return reading
  const { model } = reading
  const runtimeFields = runtime.fields ?? []
  const sameFields =
    runtimeFields.length === model.fields.length &&
    model.fields.every(
      (field, i) =>
        runtimeFields[i]?.name === field.name && (runtimeFields[i]?.kind === "object") === (field.column === undefined),
    )
  if (!sameFields) return { ok: false, reason: "the schema text's fields differ from the client's data model" }
  if (runtime.dbName !== (model.mappedTable ?? null))
    return { ok: false, reason: "the schema text's @@map differs from the client's data model" }
  if ((runtime.schema ?? null) !== (model.schema ?? null))
    return { ok: false, reason: "the schema text's @@schema differs from the client's data model" }
  // MySQL and SQLite name no schema: the table is the connection's database's (Prisma's @@schema is PostgreSQL's).
  const schema = onPg ? (model.schema ?? adapter?.options?.schema ?? "public") : undefined
  if (!onPg && model.schema !== undefined) return { ok: false, reason: "@@schema on a database other than PostgreSQL" }
  if (schema !== undefined && (typeof schema !== "string" || !IDENTIFIER_PATTERN.test(schema)))
    return { ok: false, reason: "the adapter's schema is not a plain identifier" }
  const columns = new Map(
    model.fields.flatMap((field) => (field.column === undefined ? [] : [[field.name, field.column] as const])),
  )
  for (const field of required) if (!columns.has(field)) return { ok: false, reason: `the model has no field ${field}` }
  return {
    ok: true,
    table: {
      database,
      schema,
      table: model.table,
      columns,
      updatedAt: model.fields.filter((field) => field.updatedAt).map((field) => field.name),
    },
  }
}
