/**
 * AccountStore for a Prisma Client on PostgreSQL, MySQL/MariaDB or SQLite, matching the schemas documented for
 * `@auth/prisma-adapter`: models `Account` (with `@@id([provider, providerAccountId])`, compound key
 * name `provider_providerAccountId`) and `User`, reached through the client's `account` and `user`
 * delegates like the adapter does. Going through the delegates, rather than SQL, keeps `@map` /
 * `@@map` column and table names and `@updatedAt` working. The one exception is the one-statement sign-in
 * (`updateOwnTokens`: PostgreSQL, MariaDB, SQLite on better-sqlite3), which is raw SQL on names read from the
 * client's schema text, and is left out whenever they cannot be read with certainty.
 *
 * This module does not import `@prisma/client`: the client is typed structurally and the model
 * delegates are looked up by name at run time.
 */
import { AbandonedWait } from "../bounded-wait.js"
import {
  type AccountKey,
  type AccountLockOptions,
  type AccountPatch,
  type AccountReadOptions,
  type AccountRow,
  type AccountRowScope,
  type AccountScanPage,
  type AccountStore,
  type LockedAccount,
  type StoredAccountRow,
  type UserId,
} from "../store.js"
import { AccountSchemaError, InvalidOptionsError, TOKEN_COLUMN_HINT, UnsupportedDatabaseError } from "../errors.js"
import { mysql, mysqlLockWaitBound } from "../databases/mysql.js"
import { postgres } from "../databases/postgres.js"
import type { LockTarget, SqlDatabase, SqlStatement } from "../databases/sql-database.js"
import { busyTimeoutOf, sqlite, sqliteBusyTimeout, SQLITE_READ_BUSY_TIMEOUT } from "../databases/sqlite.js"
import {
  retryFirstInsertRace,
  sqlTables,
  sqlUpdateOwnTokens,
  type OwnTokensRunner,
  type SqlRunner,
  type SqlTables,
} from "../statements.js"
import { readPrismaModel } from "./prisma-schema.js"
import { DEFAULT_LEASE_TABLE, sqlLeases, unheld } from "../sql-leases.js"
import type { HeldConnection } from "../statements.js"
import {
  checkIdentifier,
  checkMilliseconds,
  checkPageLimit,
  checkTokenColumn,
  definedEntries,
  OneConnectionGate,
  ownerOf,
  scopedLockedAccount,
  toStoredAccountRow,
  typedLockTimeouts,
} from "../store-support.js"

// ---------------------------------------------------------------------------------------------------
// Structural types of the Prisma objects this store uses
// ---------------------------------------------------------------------------------------------------

/** Raw-query methods of a Prisma Client and of its interactive-transaction client. */
export interface PrismaRawClientLike {
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>
}

/** The options of an interactive `$transaction` this store sets. */
export interface PrismaTransactionOptionsLike {
  maxWait?: number
  timeout?: number
  /**
   * "ReadCommitted" is passed where the database has it (PostgreSQL, MySQL); Prisma's SQLite adapters
   * refuse every level but their own ("Serializable", which the SQLite client's types allow only).
   */
  isolationLevel?: "ReadCommitted" | "Serializable"
}

/**
 * The part of a Prisma Client this store uses; any generated `PrismaClient` (also one extended with
 * `$extends`) satisfies it. The `account` / `user` delegates are looked up by name at run time.
 */
export interface PrismaClientLike extends PrismaRawClientLike {
  $transaction<R>(fn: (tx: PrismaRawClientLike) => Promise<R>, options?: PrismaTransactionOptionsLike): PromiseLike<R>
}

/** The delegate methods used on the account model. */
interface AccountDelegateLike {
  findMany(args: {
    where: Record<string, unknown>
    select?: Record<string, true>
    orderBy?: Record<string, "asc" | "desc">[]
    take?: number
  }): PromiseLike<Record<string, unknown>[]>
  create(args: { data: Record<string, unknown> }): PromiseLike<unknown>
  updateMany(args: { where: Record<string, unknown>; data: Record<string, unknown> }): PromiseLike<unknown>
}

/** The delegate method used on the user model. */
interface UserDelegateLike {
  findFirst(args: { where: Record<string, unknown>; select: Record<string, true> }): PromiseLike<unknown>
}

/** The databases this store can lock accounts on. */
export type PrismaDatabase = "postgres" | "mysql" | "sqlite"

/** Options of {@link prismaAccountStore}: where the account and user models are, and the time bounds. */
export interface PrismaAccountStoreOptions {
  /**
   * The database the client talks to. Default: read from the client (the provider of the schema it was
   * generated from, which Prisma checks against the driver adapter's). Set it when that cannot be read
   * (a client wrapped in something else); `"mysql"` covers MariaDB.
   */
  database?: PrismaDatabase
  /**
   * Name of the client property of the account model's delegate: the model name with a lower-case first
   * letter (model `Account` -> `"account"`, as `@auth/prisma-adapter` uses). Default `"account"`.
   */
  accountModel?: string
  /** Name of the client property of the user model's delegate. Default `"user"`. */
  userModel?: string
  /**
   * Timeout of the interactive transaction, in milliseconds: it covers waiting for the account's lock
   * and everything run under it (a token refresh includes an HTTP request to the provider). When
   * exceeded, Prisma rolls the transaction back and the call fails. Default 10 000.
   */
  transactionTimeoutMs?: number
  /** How long to wait for a connection to start the transaction, in milliseconds. Default 5 000. */
  maxWaitMs?: number
  /**
   * The lease table of lease mode (`refresh.coordination: "lease"`): the `@@map` name of the schema's lease
   * model. Default `"authjs_refresh_lease"`; the README's "Lease mode: the migration" has the model. Unused in
   * lock mode. Not on `@prisma/adapter-libsql` (a statement failing on the file's lock stays in progress).
   */
  leaseTable?: string
  /**
   * Upper bound, in milliseconds, on how long to wait for the account's lock: a waiter then fails fast
   * instead of at the transaction timeout. PostgreSQL: `SET LOCAL lock_timeout` (SQLSTATE 55P03, and it
   * bounds every other lock in the transaction too); MySQL/MariaDB: the session's `innodb_lock_wait_timeout`
   * while the lock is taken, rounded up to whole seconds (error 1205); SQLite: the connection's busy timeout
   * while the lock is taken (SQLITE_BUSY). Default: no bound beyond `transactionTimeoutMs` (PostgreSQL),
   * the server's `innodb_lock_wait_timeout` (MySQL), the driver's busy timeout (SQLite).
   */
  lockTimeoutMs?: number
}

// ---------------------------------------------------------------------------------------------------
// Detection
// ---------------------------------------------------------------------------------------------------

/** Whether `value` is a Prisma Client (it has `$transaction`, `$executeRawUnsafe` and `$queryRawUnsafe`). */
export function isPrismaClient(value: unknown): value is PrismaClientLike {
  if (typeof value !== "object" || value === null) return false
  const record = value as Record<string, unknown>
  return ["$transaction", "$executeRawUnsafe", "$queryRawUnsafe"].every((name) => typeof record[name] === "function")
}

/**
 * The database a Prisma Client talks to, read structurally (no Prisma import): every Prisma Client since
 * 2.x keeps the provider of the schema it was generated from as `_activeProvider` ("postgresql",
 * "cockroachdb", "mysql", "sqlite", "sqlserver", "mongodb"), also through `$extends`, and Prisma 7 refuses
 * a driver adapter whose `provider` differs from it. Prisma 7's `_engineConfig.adapter.provider`
 * ("postgres", "mysql", "sqlite") is the second source. `undefined` when neither can be read.
 */
export function prismaProviderOf(prisma: object): string | undefined {
  const record = prisma as { _activeProvider?: unknown; _engineConfig?: { adapter?: { provider?: unknown } } }
  const provider = record._activeProvider ?? record._engineConfig?.adapter?.provider
  return typeof provider === "string" ? provider : undefined
}

const DATABASE_OF_PROVIDER: Record<string, PrismaDatabase> = {
  postgresql: "postgres",
  postgres: "postgres",
  mysql: "mysql",
  sqlite: "sqlite",
}
const DATABASES: readonly PrismaDatabase[] = ["postgres", "mysql", "sqlite"]

function prismaDatabase(prisma: object, option: PrismaDatabase | undefined): PrismaDatabase {
  if (option !== undefined) {
    if (!DATABASES.includes(option)) {
      throw new InvalidOptionsError(
        "database",
        `prismaAccountStore(prisma, { database }): database must ` +
          `be one of ${DATABASES.map((d) => `"${d}"`).join(", ")}.`,
      )
    }
    return option
  }
  const provider = prismaProviderOf(prisma)
  const database = provider === undefined ? undefined : DATABASE_OF_PROVIDER[provider]
  if (database !== undefined) return database
  throw new UnsupportedDatabaseError(
    provider === undefined
      ? `prismaAccountStore(prisma): cannot tell which database this Prisma Client talks ` +
          `to (it has no _activeProvider); pass { database: "postgres" | "mysql" | "sqlite" ` +
          `}, e.g. withTokenSync(adapter, prismaAccountStore(prisma, { database: "mysql" })).`
      : `prismaAccountStore(prisma): the Prisma Client's provider is "${provider}"; this ` +
          `store locks accounts on PostgreSQL, MySQL/MariaDB and SQLite only. Pass { database ` +
          `} only if the client really talks to one of them, or pass your own AccountStore.`,
  )
}

// ---------------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------------

function tokenData(tokens: Record<string, unknown> | undefined): Record<string, unknown> {
  return Object.fromEntries(definedEntries(tokens).map(([field, value]) => [checkTokenColumn(field), value]))
}

function delegate<D>(client: unknown, property: string, methods: readonly string[], option: string): D {
  const candidate = (client as Record<string, unknown>)[property]
  const ok =
    typeof candidate === "object" &&
    candidate !== null &&
    methods.every((method) => typeof (candidate as Record<string, unknown>)[method] === "function")
  if (!ok) {
    // Typed like a missing table: the store looked for a model that is not there.
    throw new AccountSchemaError({
      store: "prisma",
      kind: "model",
      table: property,
      option:
        `prismaAccountStore(prisma, { ${option} }): the Prisma client has no model delegate "${property}"; ` +
        `set ${option} to the delegate's property name (the model name with a lower-case first letter)`,
      atConstruction: true,
    })
  }
  return candidate as D
}

const IDENTIFIER_AT_END = /(?:^|\.)([A-Za-z_][A-Za-z0-9_]*)$/
const UNKNOWN_ARGUMENT = /Unknown argument `([A-Za-z_][A-Za-z0-9_]*)`/

/**
 * Turns Prisma's "table does not exist" (P2021), "column does not exist" (P2022) and "unknown argument"
 * (a field the model lacks, e.g. from tokenFields) into an `AccountSchemaError` naming the model, the
 * column and the option that sets it; any other error is returned as it is. A column name is only taken
 * from the error when it is one the store sent (`sent`) or a plain identifier from Prisma's metadata.
 */
function schemaMismatch(error: unknown, model: string, option: string, sent: readonly string[] = []): unknown {
  if (typeof error !== "object" || error === null) return error
  const { code, meta, name, message } = error as {
    code?: unknown
    meta?: { driverAdapterError?: { cause?: { column?: unknown } }; column?: unknown }
    name?: unknown
    message?: unknown
  }
  const store = "prisma"
  if (code === "P2021")
    return new AccountSchemaError({ store, kind: "model", table: model, option, driverErrorCode: code })
  if (code === "P2022") {
    const raw = meta?.column ?? meta?.driverAdapterError?.cause?.column
    const column = (typeof raw === "string" ? IDENTIFIER_AT_END.exec(raw)?.[1] : undefined) ?? "(unknown)"
    return new AccountSchemaError({
      store,
      kind: "model",
      table: model,
      column,
      option,
      driverErrorCode: code,
      hint: TOKEN_COLUMN_HINT,
    })
  }
  if (name === "PrismaClientValidationError" && typeof message === "string") {
    const column = UNKNOWN_ARGUMENT.exec(message)?.[1]
    if (column !== undefined && sent.includes(column))
      return new AccountSchemaError({ store, kind: "model", table: model, column, option, hint: TOKEN_COLUMN_HINT })
  }
  return error
}

/** Runs a delegate call, with schema errors made explicit. */
async function onModel<T>(
  call: () => PromiseLike<T>,
  model: string,
  option: string,
  sent?: readonly string[],
): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw schemaMismatch(error, model, option, sent)
  }
}

const ACCOUNT_METHODS = ["findMany", "create", "updateMany"] as const
const USER_METHODS = ["findFirst"] as const

const positiveInteger = (value: number | undefined, fallback: number | undefined, option: string): number | undefined =>
  checkMilliseconds(value, fallback, "prismaAccountStore", option)

/**
 * How the account's lock is taken in the interactive transaction: the first statements of the
 * transaction, before `work` runs, per database (databases/*: which lock, its wait bound, its errors).
 * Prisma hides table names behind the delegates (`@@map`), so where the database's lock is a statement
 * on the accounts table, the same lock is taken through the account delegate instead.
 */
interface PrismaAccountLock {
  readonly database: SqlDatabase
  /** Prisma's SQLite adapters refuse any isolation level but their own (SERIALIZABLE). */
  readonly readCommitted: boolean
  take(
    tx: PrismaRawClientLike,
    accounts: AccountDelegateLike,
    key: AccountKey,
    lockTimeoutMs: number | undefined,
  ): Promise<void>
}

const runAll = async (tx: PrismaRawClientLike, statements: readonly SqlStatement[]): Promise<void> => {
  for (const statement of statements) await tx.$executeRawUnsafe(statement.text, ...statement.values)
}

/** The advisory lock names no table. */
const NO_TABLE: LockTarget = { accounts: "", provider: "", providerAccountId: "" }

const PRISMA_ACCOUNT_LOCKS: Record<PrismaDatabase, PrismaAccountLock> = {
  // The transaction-scoped advisory lock on the hashed key that every PostgreSQL store takes, its wait
  // bound in the same statement (databases/postgres.ts).
  postgres: {
    database: postgres,
    readCommitted: true,
    // $executeRaw, not $queryRaw: pg_advisory_xact_lock returns void, which Prisma cannot deserialize.
    take: (tx, _accounts, key, lockTimeoutMs) => runAll(tx, postgres.lockStatements(key, NO_TABLE, lockTimeoutMs).take),
  },
  // InnoDB's exclusive row lock on the key's row (databases/mysql.ts), taken by an UPDATE of the key
  // through the delegate rather than `SELECT ... FOR UPDATE`: it sets `provider` to itself, and Prisma
  // adds `@updatedAt`, so taking the lock moves `updatedAt`. A key with no row yet is left to the primary
  // key and retryFirstInsertRace.
  mysql: {
    database: mysql,
    readCommitted: true,
    async take(tx, accounts, key, lockTimeoutMs) {
      const bound = mysqlLockWaitBound(lockTimeoutMs)
      await runAll(tx, bound.take)
      try {
        await accounts.updateMany({
          where: { provider: key.provider, providerAccountId: key.providerAccountId },
          data: { provider: key.provider },
        })
      } finally {
        // The bound is for the account's lock only; the session's own value back before anything else runs.
        await runAll(tx, bound.restore)
      }
    },
  },
  // The database file's write lock (databases/sqlite.ts). Prisma begins with a plain, deferred BEGIN, so
  // the first statement is a write that matches no row: it takes the write lock at once, waiting up to
  // the busy timeout, and changes nothing (see databases/sqlite.ts).
  sqlite: {
    database: sqlite,
    readCommitted: false,
    async take(tx, accounts, key, lockTimeoutMs) {
      let previous: number | undefined
      if (lockTimeoutMs !== undefined) {
        const [current] = await tx.$queryRawUnsafe<Record<string, unknown>[]>(SQLITE_READ_BUSY_TIMEOUT)
        previous = busyTimeoutOf(current)
        await tx.$executeRawUnsafe(sqliteBusyTimeout(lockTimeoutMs))
      }
      try {
        await accounts.updateMany({
          where: { provider: key.provider, NOT: { provider: key.provider } },
          data: { provider: key.provider },
        })
      } finally {
        // One connection per client (the adapter's): put its own busy timeout back for everything else.
        if (previous !== undefined) await tx.$executeRawUnsafe(sqliteBusyTimeout(previous))
      }
    },
  },
}

// ---------------------------------------------------------------------------------------------------
// The one-statement sign-in (PostgreSQL, MariaDB, SQLite on better-sqlite3)
// ---------------------------------------------------------------------------------------------------

/**
 * What a generated Prisma 7 client keeps at run time (also through `$extends`) that the one-statement
 * sign-in reads: the schema text it was generated from, its runtime data model (model and field names,
 * `dbName` = `@@map`, but no field-level `@map`), and the driver adapter it was given.
 */
interface PrismaClientInternals {
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
  for (const field of ["provider", "providerAccountId", "userId"])
    if (!columns.has(field)) return { ok: false, reason: `the model has no field ${field}` }
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
function prismaUpdateOwnTokens(
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

/**
 * One gate per client: stores made on the same client (or on its `$extends` copies, which share its engine config)
 * share it.
 */
const GATES = new WeakMap<object, OneConnectionGate>()

function oneConnectionGateOf(prisma: PrismaClientLike): OneConnectionGate {
  const engineConfig = (prisma as PrismaClientInternals)._engineConfig
  const owner: object = typeof engineConfig === "object" && engineConfig !== null ? engineConfig : prisma
  let gate = GATES.get(owner)
  if (!gate) GATES.set(owner, (gate = new OneConnectionGate()))
  return gate
}

/**
 * An AccountStore over a Prisma Client and the `@auth/prisma-adapter` schema of its database.
 *
 * `withAccountLock` runs `work` in an interactive `$transaction` (READ COMMITTED on PostgreSQL and MySQL:
 * each statement after the lock sees what the previous holder committed) whose first statements take
 * the account's lock (PRISMA_ACCOUNT_LOCKS). Prisma commits when `work` resolves and rolls back when it
 * throws; the same error is rethrown.
 *
 * @param prisma The same client given to `PrismaAdapter(prisma)`.
 * @returns The store to pass as `withTokenSync(adapter, store)` or `reencryptAccounts(store, ...)`.
 * @throws {@link UnsupportedDatabaseError} when the client's database is not PostgreSQL, MySQL/MariaDB or SQLite.
 * @throws {@link InvalidOptionsError} for an option that cannot work (a lock bound that is not a positive integer).
 * @throws {@link AccountSchemaError} from the first operation, when the account model lacks a column it writes.
 * @example
 * ```ts
 * const adapter = withTokenSync(PrismaAdapter(prisma), prismaAccountStore(prisma, { transactionTimeoutMs: 20_000 }))
 * ```
 */
export function prismaAccountStore(prisma: PrismaClientLike, options: PrismaAccountStoreOptions = {}): AccountStore {
  const name = "prisma"
  if (!isPrismaClient(prisma)) throw new TypeError("prismaAccountStore: expected a Prisma Client.")
  const accountModel = checkIdentifier(options.accountModel ?? "account", "accountModel")
  const userModel = checkIdentifier(options.userModel ?? "user", "userModel")
  const accountOption = "prismaAccountStore(prisma, { accountModel })"
  const userOption = "prismaAccountStore(prisma, { userModel })"
  // Fail at construction, not at the first sign-in, when the delegates are not there.
  delegate<AccountDelegateLike>(prisma, accountModel, ACCOUNT_METHODS, "accountModel")
  delegate<UserDelegateLike>(prisma, userModel, USER_METHODS, "userModel")
  const lock = PRISMA_ACCOUNT_LOCKS[prismaDatabase(prisma, options.database)]
  const transactionOptions: PrismaTransactionOptionsLike = {
    ...(lock.readCommitted ? { isolationLevel: "ReadCommitted" as const } : {}),
    timeout: positiveInteger(options.transactionTimeoutMs, 10_000, "transactionTimeoutMs"),
    maxWait: positiveInteger(options.maxWaitMs, 5_000, "maxWaitMs"),
  }
  const lockTimeoutMs = positiveInteger(options.lockTimeoutMs, undefined, "lockTimeoutMs")
  const oneStatement = prismaUpdateOwnTokens(prisma, accountModel, accountOption)
  // SQLite: Prisma's adapter runs every query on one connection, which a locked transaction holds to its
  // end, and runs a statement sent meanwhile inside that transaction. The gate keeps this client's
  // sign-in statements and locked transactions apart (OneConnectionGate), for every store on the client.
  const gate = lock.database === sqlite ? oneConnectionGateOf(prisma) : undefined
  const updateOwnTokens: AccountStore["updateOwnTokens"] =
    oneStatement && gate
      ? (key, userId, tokens, begin) => gate.statement(() => oneStatement(key, userId, tokens, begin), [])
      : oneStatement
  const inTransaction = <T>(run: () => Promise<T>): Promise<T> => (gate ? gate.transaction(run) : run())

  // SQLite: Prisma's one connection runs a statement sent during a transaction inside it, so each lease
  // operation is a short transaction of its own, kept apart from the one-statement sign-ins by the gate.
  const leaseConnection = (): Promise<HeldConnection> =>
    new Promise((resolve, reject) => {
      inTransaction(() =>
        Promise.resolve(
          prisma.$transaction(async (tx) => {
            const run: SqlRunner = async (text, values) => tx.$queryRawUnsafe(text, ...values)
            await new Promise<void>((release) => resolve({ run, release }))
          }, transactionOptions),
        ),
      ).catch(reject)
    })
  const onLibsql = (prisma as PrismaClientInternals)._engineConfig?.adapter?.adapterName === "@prisma/adapter-libsql"

  const store: AccountStore = {
    name,
    linkAccountResult: "inserted-row",
    ...(updateOwnTokens ? { updateOwnTokens } : {}),
    ...(!onLibsql && {
      leases: sqlLeases({
        database: lock.database,
        table: options.leaseTable ?? DEFAULT_LEASE_TABLE,
        store: name,
        option: "prismaAccountStore(prisma, { leaseTable })",
        // The key's rows as the locked read gives them (the model's field names), read after the take.
        accounts: {
          async readAll(key: AccountKey) {
            const accounts = delegate<AccountDelegateLike>(prisma, accountModel, ACCOUNT_METHODS, "accountModel")
            const where = { provider: key.provider, providerAccountId: key.providerAccountId }
            const rows = await onModel(() => accounts.findMany({ where }), accountModel, accountOption)
            return rows.map(toStoredAccountRow)
          },
        },
        hold: gate ? leaseConnection : unheld(async (text, values) => prisma.$queryRawUnsafe(text, ...values)),
      }),
    }),

    async withAccountLock<T>(
      key: AccountKey,
      work: (account: LockedAccount) => Promise<T>,
      lockOptions?: AccountLockOptions,
    ): Promise<T> {
      const lockTimeout = positiveInteger(lockOptions?.lockTimeoutMs, lockTimeoutMs, "lockTimeoutMs")
      const callTimeout = positiveInteger(lockOptions?.transactionTimeoutMs, undefined, "transactionTimeoutMs")
      // Per-call bounds override the store's defaults (AccountLockOptions). The caller's transaction
      // timeout must cover the lock wait plus the work under it (a refresh request), or Prisma cuts the
      // transaction off mid-refresh. Waiting for a pooled connection is a wait like the lock's (under
      // contention every waiter holds a connection), so it may last as long as the lock wait.
      const callOptions: PrismaTransactionOptionsLike = {
        ...transactionOptions,
        ...(lockOptions?.lockTimeoutMs !== undefined
          ? { maxWait: Math.max(transactionOptions.maxWait ?? 0, lockOptions.lockTimeoutMs) }
          : {}),
        ...(callTimeout !== undefined ? { timeout: callTimeout } : {}),
      }
      // A concurrent first insert of the key (MySQL: no row to lock yet) is answered by running it once more.
      return retryFirstInsertRace(lock.database, () =>
        inTransaction(() =>
          Promise.resolve(
            prisma.$transaction(async (tx) => {
              // The caller gave up waiting while Prisma found a connection: no lock statement, no read.
              if (lockOptions?.signal?.aborted) throw new AbandonedWait()
              const accounts = delegate<AccountDelegateLike>(tx, accountModel, ACCOUNT_METHODS, "accountModel")
              await onModel(() => lock.take(tx, accounts, key, lockTimeout), accountModel, accountOption)

              const users = delegate<UserDelegateLike>(tx, userModel, USER_METHODS, "userModel")
              const where = { provider: key.provider, providerAccountId: key.providerAccountId }
              const onAccounts = <R>(call: () => PromiseLike<R>, sent?: readonly string[]) =>
                onModel(call, accountModel, accountOption, sent)
              // Prisma checks argument types: an `Int` / `BigInt` user id must be passed as a number / bigint.
              // Callers' ids arrive as they typed them; a row's `userId` reaches the core as a string, so the
              // id as Prisma read it is kept and handed back whenever the core passes that string.
              const idsAsRead = new Map<string, unknown>()
              const asRead = (userId: UserId): unknown =>
                typeof userId === "string" && idsAsRead.has(userId) ? idsAsRead.get(userId) : userId
              const scoped = scopedLockedAccount(
                {
                  async readAll() {
                    // @@id([provider, providerAccountId]) allows one row; a schema without it may hold more.
                    const rows = await onAccounts(() => accounts.findMany({ where }))
                    for (const row of rows) idsAsRead.set(String(row.userId), row.userId)
                    return rows.map(toStoredAccountRow)
                  },
                  userExists: async (userId: UserId) =>
                    (await onModel(
                      () => users.findFirst({ where: { id: asRead(userId) }, select: { id: true } }),
                      userModel,
                      userOption,
                    )) != null,
                  async insert(row: AccountRow) {
                    const data = { ...tokenData(row.tokens), ...where, userId: row.userId, type: row.type }
                    // `create` returns the created record, which is what @auth/prisma-adapter's linkAccount returns.
                    return (await onAccounts(() => accounts.create({ data }), Object.keys(data))) as Record<
                      string,
                      unknown
                    >
                  },
                  async update(patch: AccountPatch, scope: AccountRowScope) {
                    const owner = asRead(ownerOf(scope))
                    const data = tokenData(patch.tokens)
                    if (patch.userId !== undefined) data.userId = asRead(patch.userId)
                    if (Object.keys(data).length === 0) return
                    // Scoped to the owner: another user's row of the same key is never touched.
                    await onAccounts(
                      () => accounts.updateMany({ where: { ...where, userId: owner }, data }),
                      Object.keys(data),
                    )
                  },
                },
                "prismaAccountStore",
              )
              try {
                return await work(scoped.account)
              } finally {
                scoped.close()
              }
            }, callOptions),
          ),
        ),
      )
    },

    async findAccounts(
      userId: string,
      provider: string,
      readOptions?: AccountReadOptions,
    ): Promise<StoredAccountRow[]> {
      // Prisma's wait for a connection is its own; a caller that already left gets nothing sent.
      if (readOptions?.signal?.aborted) throw new AbandonedWait()
      const accounts = delegate<AccountDelegateLike>(prisma, accountModel, ACCOUNT_METHODS, "accountModel")
      // @@id([provider, providerAccountId]) makes keys unique here; no de-duplication needed.
      const rows = await onModel(() => accounts.findMany({ where: { userId, provider } }), accountModel, accountOption)
      return rows.map(toStoredAccountRow)
    },

    async scanAccounts(page: AccountScanPage): Promise<StoredAccountRow[]> {
      const accounts = delegate<AccountDelegateLike>(prisma, accountModel, ACCOUNT_METHODS, "accountModel")
      const after = page.after
      const where = after
        ? {
            OR: [
              { provider: { gt: after.provider } },
              { provider: after.provider, providerAccountId: { gt: after.providerAccountId } },
            ],
          }
        : {}
      const rows = await onModel(
        () =>
          accounts.findMany({
            where,
            orderBy: [{ provider: "asc" }, { providerAccountId: "asc" }],
            take: checkPageLimit(page.limit),
          }),
        accountModel,
        accountOption,
      )
      return rows.map(toStoredAccountRow)
    },
  }
  return typedLockTimeouts(store, lock.database)
}
