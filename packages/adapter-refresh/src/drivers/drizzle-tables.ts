/**
 * Drizzle's tables as the statements need them: the names and columns the database has (after
 * `pgTableCreator` prefixes, `pgSchema`s and the db's `casing` option), read from the table objects'
 * `Symbol.for("drizzle:...")` keys, and the client-side defaults (`$defaultFn`) an insert must fill.
 * Internal: not part of the package's exports.
 */
import { InvalidOptionsError } from "../errors.js"
import type { TableName } from "../statements.js"
import type { DrizzleTableLike } from "../stores/drizzle.js"

const TABLE_NAME = Symbol.for("drizzle:Name")
const TABLE_SCHEMA = Symbol.for("drizzle:Schema")
const TABLE_COLUMNS = Symbol.for("drizzle:Columns")
const IS_DRIZZLE_TABLE = Symbol.for("drizzle:IsDrizzleTable")

/** The Auth.js fields of an account row that are not tokens. @internal */
export const ACCOUNT_KEY_FIELDS = ["userId", "type", "provider", "providerAccountId"] as const

interface ColumnLike {
  name: string
  keyAsName?: boolean
  /** `$defaultFn(...)` / `$default(...)`: a value Drizzle computes in the client on insert. */
  defaultFn?: () => unknown
  mapToDriverValue?: (value: unknown) => unknown
}

/** A table as the statements need it. @internal */
export interface ResolvedTable {
  /** "table" or "schema.table", for messages only. */
  name: string
  /** The schema and the name apart, as Drizzle keeps them: a "." inside a name is part of it. */
  parts: TableName
  /** Field (the table's property) -> column name, for the columns the table declares; absent for a default table. */
  columns: Map<string, string> | undefined
  /** Columns Drizzle fills in the client on insert (`$defaultFn`), by field. */
  clientDefaults: Map<string, ColumnLike>
}

function isDrizzleTable(value: unknown): value is Record<symbol, unknown> {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[IS_DRIZZLE_TABLE] === true
}

/** The name the database uses for `column`: its own, or with the db's `casing` applied to a key-named column. */
function columnName(db: object, column: ColumnLike): string {
  const casing = (db as { dialect?: { casing?: { getColumnCasing?: (column: ColumnLike) => string } } }).dialect?.casing
  if (column.keyAsName === true && typeof casing?.getColumnCasing === "function") return casing.getColumnCasing(column)
  return column.name
}

/** A table option read from its Drizzle table, or the adapter's default table when not given. @internal */
export function resolveTable(
  db: object,
  table: DrizzleTableLike | undefined,
  fallback: string,
  option: string,
  required: readonly string[],
): ResolvedTable {
  if (table === undefined)
    return {
      name: fallback,
      parts: { schema: undefined, name: fallback },
      columns: undefined,
      clientDefaults: new Map(),
    }
  if (!isDrizzleTable(table)) {
    throw new InvalidOptionsError(
      option,
      `drizzleAccountStore: ${option} must be a Drizzle table (the one given to DrizzleAdapter).`,
    )
  }
  const name = table[TABLE_NAME]
  const schema = table[TABLE_SCHEMA]
  if (typeof name !== "string")
    throw new InvalidOptionsError(option, `drizzleAccountStore: ${option} has no table name.`)
  const schemaName = typeof schema === "string" && schema !== "" ? schema : undefined
  const qualified = schemaName === undefined ? name : `${schemaName}.${name}`
  const columns = new Map<string, string>()
  const clientDefaults = new Map<string, ColumnLike>()
  for (const [field, column] of Object.entries((table[TABLE_COLUMNS] ?? {}) as Record<string, ColumnLike>)) {
    columns.set(field, columnName(db, column))
    if (typeof column.defaultFn === "function") clientDefaults.set(field, column)
  }
  for (const field of required) {
    if (!columns.has(field)) {
      throw new InvalidOptionsError(
        option,
        `drizzleAccountStore: ${option} ${JSON.stringify(qualified)} has no "${field}" column, which Auth.js needs.`,
      )
    }
  }
  return { name: qualified, parts: { schema: schemaName, name }, columns, clientDefaults }
}

/**
 * The values Drizzle itself would put into the columns an insert leaves out and that have a client-side
 * default (`$defaultFn`, e.g. a custom table's `id` from `crypto.randomUUID()`): the database has no
 * default for them, so without these the insert fails where the bare adapter's succeeds. @internal
 */
export function clientDefaultsOf(table: ResolvedTable, written: ReadonlySet<string>): Record<string, unknown> {
  const values: Record<string, unknown> = {}
  for (const [field, definition] of table.clientDefaults) {
    if (written.has(field)) continue
    const value = definition.defaultFn!()
    // An SQL expression (sql`...`) is Drizzle's to render; plain values are all this store can send.
    if (typeof value === "object" && value !== null && typeof (value as { getSQL?: unknown }).getSQL === "function") {
      throw new InvalidOptionsError(
        "accountsTable",
        `drizzleAccountStore: the $defaultFn of accountsTable's ${JSON.stringify(field)} ` +
          `returns an SQL expression; give the column a database default instead.`,
      )
    }
    values[field] = typeof definition.mapToDriverValue === "function" ? definition.mapToDriverValue(value) : value
  }
  return values
}
