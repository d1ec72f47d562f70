/**
 * AccountStore for a TypeORM DataSource and the entities of `@auth/typeorm-adapter` (its own, or custom ones
 * passed to the adapter), on PostgreSQL, MySQL/MariaDB or SQLite (TypeORM's `better-sqlite3` driver).
 *
 * `TypeORMAdapter(options)` builds a DataSource of its own that the application cannot reach, so the
 * application passes a DataSource of its own, initialised from the same options and entities:
 * `withTokenSync(TypeORMAdapter(options), dataSource)`. The table and column names are read from that
 * DataSource's entity metadata (naming strategies and custom entities included): the adapter's `accounts`
 * table has camelCase key columns (`userId`, `providerAccountId`), snake_case token columns and uuid ids,
 * which the store generates on insert as TypeORM does.
 *
 * No unique key on (provider, providerAccountId): PostgreSQL's advisory lock and SQLite's write lock lock a
 * key with no row all the same; on MySQL/MariaDB the driver adds a named lock (drivers/typeorm.ts). Rows a
 * bare adapter already duplicated are read and merged like any key with several rows.
 *
 * This module does not import `typeorm`: the DataSource is typed structurally.
 */
import { AsyncLocalStorage } from "node:async_hooks"
import type { SqlDatabase } from "../databases/sql-database.js"
import { sqlite } from "../databases/sqlite.js"
import { betterSqliteOf, TYPEORM_DATABASES, typeormDriver } from "../drivers/typeorm.js"
import { InvalidOptionsError, UnsupportedDatabaseError } from "../errors.js"
import { sqlAccountStore } from "../sql-store.js"
import { sqlTables } from "../statements.js"
import type { AccountStore, LockedAccount } from "../store.js"
import { checkLockTimeout } from "../store-support.js"

/** A TypeORM query runner, as far as this driver uses it. */
export interface TypeOrmQueryRunnerLike {
  connect(): Promise<unknown>
  query(
    query: string,
    parameters: unknown[] | undefined,
    useStructuredResult: true,
  ): Promise<{ records?: unknown[]; affected?: number | null }>
  release(): Promise<void>
}

/** A TypeORM DataSource, as far as this driver uses it. */
export interface TypeOrmDataSourceLike {
  readonly isInitialized: boolean
  readonly options: { readonly type: string }
  createQueryRunner(): TypeOrmQueryRunnerLike
  /** TypeORM's driver; on better-sqlite3 its `databaseConnection` is the one Database TypeORM opened. */
  readonly driver: object
}

/** A column of TypeORM's entity metadata, as far as this store reads it. */
export interface TypeOrmColumnLike {
  readonly propertyName: string
  readonly databaseName: string
  readonly generationStrategy?: "uuid" | "increment" | "rowid"
  readonly isNullable: boolean
  readonly relationMetadata?: { readonly propertyName: string } | undefined
}

/** TypeORM's metadata of one entity, as far as this store reads it. */
export interface TypeOrmEntityMetadataLike {
  readonly name: string
  readonly target: unknown
  readonly tablePath: string
  readonly columns: readonly TypeOrmColumnLike[]
  readonly primaryColumns: readonly TypeOrmColumnLike[]
}

/** The part of a TypeORM `DataSource` this store uses. Any initialised `new DataSource(...)` satisfies it. */
export interface TypeOrmDataSourceWithMetadata extends TypeOrmDataSourceLike {
  readonly entityMetadatas: readonly TypeOrmEntityMetadataLike[]
}

/** An entity as `TypeORMAdapter(options, { entities })` takes it: a class, or its name. */
export type TypeOrmEntityRef = string | { readonly name: string }

/** Options of {@link typeormAccountStore}. */
export interface TypeOrmAccountStoreOptions {
  /**
   * The entities given to `TypeORMAdapter(options, { entities })`, when they are not the adapter's own: the
   * store finds their tables and columns in the DataSource's metadata. Default: the adapter's
   * `AccountEntity` and `UserEntity`.
   */
  entities?: { AccountEntity?: TypeOrmEntityRef; UserEntity?: TypeOrmEntityRef }
  /**
   * Upper bound, in milliseconds, on how long `withAccountLock` waits for the account's lock.
   * PostgreSQL: `SET LOCAL lock_timeout`; MySQL/MariaDB: the named lock's and `innodb_lock_wait_timeout`'s
   * wait, in whole seconds rounded up; SQLite: the wait for the file's write lock. When exceeded nothing
   * is written. Default: the server's own bound (SQLite: 5 s).
   */
  lockTimeoutMs?: number
  /** The lease table of lease mode (`refresh.coordination: "lease"`). Default `"authjs_refresh_lease"`. */
  leaseTable?: string
}

/** Whether `value` is a TypeORM DataSource (`createQueryRunner`, `initialize`, `entityMetadatas`, `options.type`). */
export function isTypeOrmDataSource(value: unknown): value is TypeOrmDataSourceWithMetadata {
  if (typeof value !== "object" || value === null) return false
  const record = value as Record<string, unknown>
  return (
    typeof record.createQueryRunner === "function" &&
    typeof record.initialize === "function" &&
    Array.isArray(record.entityMetadatas) &&
    typeof (record.options as { type?: unknown } | undefined)?.type === "string"
  )
}

const FACTORY = "typeormAccountStore"

function entityMetadata(
  dataSource: TypeOrmDataSourceWithMetadata,
  ref: TypeOrmEntityRef,
  which: "AccountEntity" | "UserEntity",
): TypeOrmEntityMetadataLike {
  const name = typeof ref === "string" ? ref : ref.name
  const found = dataSource.entityMetadatas.find((metadata) => metadata.target === ref || metadata.name === name)
  if (found) return found
  throw new InvalidOptionsError(
    "entities",
    `${FACTORY}: the DataSource has no entity ${JSON.stringify(name)}. Initialise it with the entities given ` +
      `to TypeORMAdapter (default: \`entities\` of @auth/typeorm-adapter), or pass ` +
      `${FACTORY}(dataSource, { entities: { ${which} } }) with yours.`,
  )
}

/** The Auth.js field → column names of the accounts entity where they differ (naming strategies, custom names). */
function accountColumns(metadata: TypeOrmEntityMetadataLike): Record<string, string> {
  const columns: Record<string, string> = {}
  for (const column of metadata.columns)
    if (!column.relationMetadata && column.propertyName !== column.databaseName)
      columns[column.propertyName] = column.databaseName
  // An entity with only a `user` relation: its join column is the userId column.
  if (!metadata.columns.some((column) => column.propertyName === "userId" && !column.relationMetadata)) {
    const join = metadata.columns.find((column) => column.relationMetadata?.propertyName === "user")
    if (join) columns.userId = join.databaseName
  }
  return columns
}

/**
 * An AccountStore over an initialised TypeORM DataSource and the `@auth/typeorm-adapter` entities, on
 * PostgreSQL, MySQL/MariaDB or SQLite (`better-sqlite3`).
 *
 * @param dataSource An initialised DataSource built from the options and entities given to `TypeORMAdapter`.
 * @returns The store to pass as `withTokenSync(adapter, store)`.
 * @throws {@link UnsupportedDatabaseError} for a DataSource not initialised, or of a driver type this library
 *   does not speak.
 * @throws {@link InvalidOptionsError} for an entity the DataSource does not have, or a bad lock bound.
 */
export function typeormAccountStore(
  dataSource: TypeOrmDataSourceWithMetadata,
  options: TypeOrmAccountStoreOptions = {},
): AccountStore {
  if (!isTypeOrmDataSource(dataSource)) throw new TypeError(`${FACTORY}: expected a TypeORM DataSource.`)
  if (!dataSource.isInitialized)
    throw new UnsupportedDatabaseError(`${FACTORY}: the DataSource is not initialised; await dataSource.initialize().`)
  const type = dataSource.options.type
  const database: SqlDatabase | undefined = TYPEORM_DATABASES[type]
  if (!database)
    throw new UnsupportedDatabaseError(
      `${FACTORY}: TypeORM's "${type}" driver is not one this library speaks; ` +
        `"postgres", "mysql", "mariadb" and "better-sqlite3" are supported.`,
    )
  if (database === sqlite && betterSqliteOf(dataSource)?.memory !== false)
    throw new UnsupportedDatabaseError(
      `${FACTORY}: this better-sqlite3 database is in memory, which no second connection can open; ` +
        `use a database file (the store's transactions run on a connection of its own).`,
    )
  const accounts = entityMetadata(dataSource, options.entities?.AccountEntity ?? "AccountEntity", "AccountEntity")
  const users = entityMetadata(dataSource, options.entities?.UserEntity ?? "UserEntity", "UserEntity")
  const option = `${FACTORY}(dataSource, { entities })`
  const tables = sqlTables(database, {
    accounts: accounts.tablePath,
    users: users.tablePath,
    accountColumns: accountColumns(accounts),
    userIdColumn: users.primaryColumns[0]?.databaseName,
    store: "typeorm",
    tableLabels: { accounts: "account entity's table name", users: "user entity's table name" },
    origin: { accounts: { name: accounts.tablePath, option }, users: { name: users.tablePath, option } },
  })
  // TypeORM generates uuid ids in the client (MySQL, SQLite); on PostgreSQL too, so every database gets one.
  const primary = accounts.primaryColumns[0]
  const uuidId = primary?.generationStrategy === "uuid" ? primary.propertyName : undefined
  const lockTimeoutMs = checkLockTimeout(options.lockTimeoutMs, FACTORY)
  const ids = new AsyncLocalStorage<string>()
  const store = sqlAccountStore(typeormDriver(dataSource, database, lockTimeoutMs), {
    name: "typeorm",
    factory: FACTORY,
    tables,
    insert: { defaults: () => (uuidId ? { [uuidId]: ids.getStore() ?? globalThis.crypto.randomUUID() } : {}) },
    lockTimeoutMs,
    // TypeORM's save() resolves to the object it was given, with what it added (withId, below).
    linkAccountResult: "input",
    leaseTable: options.leaseTable,
    leaseOption: `${FACTORY}(dataSource, { leaseTable })`,
  })
  const withId = (account: LockedAccount): LockedAccount => ({
    ...account,
    async insert(row) {
      const id = globalThis.crypto.randomUUID()
      await ids.run(id, () => account.insert(row))
      // What TypeORM's save() adds to the object it was given: the generated id, and null for every
      // nullable column the object left out. Never a token value (the core assigns this onto the input).
      const added: Record<string, unknown> = uuidId ? { [uuidId]: id } : {}
      for (const column of accounts.columns)
        if (column.isNullable && !column.relationMetadata && !(column.propertyName in row.tokens))
          added[column.propertyName] = null
      return added
    },
  })
  return {
    ...store,
    withAccountLock: (key, work, lockOptions) =>
      store.withAccountLock(key, (account) => work(withId(account)), lockOptions),
  }
}
