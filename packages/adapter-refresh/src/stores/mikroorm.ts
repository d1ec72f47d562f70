/**
 * The AccountStore of a MikroORM 5 SQL ORM (`@auth/mikro-orm-adapter` 2.x): the tables, columns and id
 * kind read from the ORM's own entity metadata (the adapter's default entities, or the custom ones given
 * to it), the database from its platform, and the statements run by drivers/mikroorm.ts on its knex pool.
 * No MikroORM import: every type here is structural.
 */
import { mysql } from "../databases/mysql.js"
import { postgres } from "../databases/postgres.js"
import type { SqlDatabase } from "../databases/sql-database.js"
import { sqlite } from "../databases/sqlite.js"
import { mikroOrmDriver, type MikroOrmKnexClientLike } from "../drivers/mikroorm.js"
import { InvalidOptionsError, UnsupportedDatabaseError } from "../errors.js"
import { sqlAccountStore } from "../sql-store.js"
import { sqlTables, type TableName } from "../statements.js"
import type { AccountStore } from "../store.js"
import { checkLockTimeout } from "../store-support.js"

export type { MikroOrmKnexClientLike } from "../drivers/mikroorm.js"

/** One property of a MikroORM 5 entity's metadata, as far as this store reads it. */
export interface MikroOrmPropertyLike {
  readonly name: string
  /** The column(s) the property maps to. */
  readonly fieldNames?: readonly string[]
  /** False for a property that is not stored (the adapter's `userId`). */
  readonly persist?: boolean
  /** "scalar", "m:1", "1:m", ... (MikroORM 5's `ReferenceType`). */
  readonly reference?: string
  /** A relation's target entity name, or a scalar's type. */
  readonly type?: string
  readonly autoincrement?: boolean
}

/** A MikroORM 5 entity's metadata, as far as this store reads it. */
export interface MikroOrmEntityMetaLike {
  readonly className: string
  readonly tableName: string
  readonly schema?: string
  readonly primaryKeys: readonly string[]
  readonly properties: Readonly<Record<string, MikroOrmPropertyLike>>
}

/** A MikroORM 5 SQL EntityManager (`orm.em`, or a fork of it), as far as this store uses it. */
export interface MikroOrmEntityManagerLike {
  getMetadata(): { find(entityName: string): MikroOrmEntityMetaLike | undefined }
  getPlatform(): object
  /** An SQL driver's connection has `getKnex()` (read at run time: the core's types do not show it). */
  getConnection(): object
  fork(): unknown
  persistAndFlush(entity: unknown): Promise<void>
}

/** A MikroORM instance (`await MikroORM.init(config)`), as far as this store uses it. */
export interface MikroOrmLike {
  readonly em: MikroOrmEntityManagerLike
}

/** An entity as `MikroOrmAdapter`'s `entities` option names it: its class, or its name. */
export type MikroOrmEntityRef = string | { readonly name: string }

/** Options of {@link mikroOrmAccountStore}. */
export interface MikroOrmAccountStoreOptions {
  /**
   * The Account and User entities, when they are not named "Account" and "User" (the adapter's own, or
   * custom ones under those names): the classes given to `MikroOrmAdapter(config, { entities })`.
   */
  entities?: { Account?: MikroOrmEntityRef; User?: MikroOrmEntityRef }
  /**
   * The `id` of an account row the store inserts. Default: a `crypto.randomUUID()` (what the adapter's
   * Account entity sets), none where the primary key is auto-incremented; a function supplies its own.
   */
  generateId?: boolean | (() => string | number)
  /** Bound on waiting for an account's lock, in ms (lock mode). Default: the database's (see README). */
  lockTimeoutMs?: number
  /** The lease table (lease mode). Default `authjs_refresh_lease`. */
  leaseTable?: string
}

const FACTORY = "mikroOrmAccountStore"

/** Whether `value` is a MikroORM 5 SQL EntityManager. */
export function isMikroOrmEntityManager(value: unknown): value is MikroOrmEntityManagerLike {
  if (typeof value !== "object" || value === null) return false
  const record = value as Record<string, unknown>
  return ["getMetadata", "getPlatform", "getConnection", "fork", "persistAndFlush"].every(
    (name) => typeof record[name] === "function",
  )
}

/** Whether `value` is a MikroORM instance (its `em` an EntityManager). */
export function isMikroOrm(value: unknown): value is MikroOrmLike {
  if (typeof value !== "object" || value === null) return false
  const record = value as Record<string, unknown>
  return isMikroOrmEntityManager(record.em) && typeof record.getMetadata === "function"
}

// Platform class names (prototype chain) of MikroORM 5's SQL drivers.
const DATABASE_BY_PLATFORM: ReadonlyMap<string, SqlDatabase> = new Map([
  ["PostgreSqlPlatform", postgres],
  ["MySqlPlatform", mysql],
  ["MariaDbPlatform", mysql],
  ["SqlitePlatform", sqlite],
  ["BetterSqlitePlatform", sqlite],
])

function databaseOf(em: MikroOrmEntityManagerLike): SqlDatabase {
  const names: string[] = []
  for (let proto: unknown = Object.getPrototypeOf(em.getPlatform()); proto; proto = Object.getPrototypeOf(proto)) {
    const name = (proto as { constructor?: { name?: unknown } }).constructor?.name
    if (typeof name !== "string" || name === "Object") continue
    names.push(name)
    const found = DATABASE_BY_PLATFORM.get(name)
    if (found) return found
  }
  throw new UnsupportedDatabaseError(
    `${FACTORY}: this MikroORM's platform (${names[0] ?? "unknown"}) is not one this library speaks; ` +
      "PostgreSQL (@mikro-orm/postgresql), MySQL/MariaDB (@mikro-orm/mysql, @mikro-orm/mariadb) and SQLite " +
      "(@mikro-orm/better-sqlite, @mikro-orm/sqlite) are supported.",
  )
}

function entityOf(em: MikroOrmEntityManagerLike, ref: MikroOrmEntityRef | undefined, fallback: string) {
  const name = ref === undefined ? fallback : typeof ref === "string" ? ref : ref.name
  const meta = em.getMetadata().find(name)
  // MikroORM 6 renamed a property's `reference` to `kind`: its metadata would be misread, so it is refused.
  const misread = meta && Object.values(meta.properties).some((property) => property.reference === undefined)
  if (misread) {
    throw new UnsupportedDatabaseError(
      `${FACTORY}: the ${name} entity's metadata is not MikroORM 5's (@auth/mikro-orm-adapter 2.x supports ` +
        "@mikro-orm/core 5); MikroORM 6 and later are not supported.",
    )
  }
  if (meta) return meta
  throw new InvalidOptionsError(
    `entities.${fallback}`,
    `${FACTORY}: this MikroORM has no entity ${JSON.stringify(name)}; initialise it with the entities given ` +
      `to MikroOrmAdapter (its defaultEntities, or yours), or name yours with ${FACTORY}(orm, { entities }).`,
  )
}

const tableOf = (meta: MikroOrmEntityMetaLike): TableName => ({
  schema: meta.schema && meta.schema !== "*" ? meta.schema : undefined,
  name: meta.tableName,
})
const columnOf = (meta: MikroOrmEntityMetaLike, property: string): string | undefined =>
  meta.properties[property]?.fieldNames?.[0]

/**
 * An AccountStore over a MikroORM 5 SQL ORM (a `MikroORM` instance or its EntityManager) and the entities
 * of `@auth/mikro-orm-adapter`: table and column names as the ORM maps them (its naming strategy, custom
 * entities), on PostgreSQL, MySQL/MariaDB or SQLite, on connections of the ORM's own pool.
 *
 * @param orm The app's MikroORM instance (or its EntityManager), started from the adapter's config.
 * @param options Entities named otherwise than "Account" and "User", the id of new rows, the lock bound.
 * @returns The store, for `withTokenSync(adapter, store)`.
 * @throws {@link UnsupportedDatabaseError} for a platform other than PostgreSQL, MySQL/MariaDB or SQLite, or
 *   MikroORM 6+ metadata; {@link InvalidOptionsError} when the ORM has no such entity.
 */
export function mikroOrmAccountStore(
  orm: MikroOrmLike | MikroOrmEntityManagerLike,
  options: MikroOrmAccountStoreOptions = {},
): AccountStore {
  const em = isMikroOrm(orm) ? orm.em : orm
  if (!isMikroOrmEntityManager(em)) {
    throw new UnsupportedDatabaseError(`${FACTORY}: expected a MikroORM instance or its EntityManager.`)
  }
  const database = databaseOf(em)
  const account = entityOf(em, options.entities?.Account, "Account")
  const user = entityOf(em, options.entities?.User, "User")
  const accountColumns: Record<string, string> = {}
  for (const property of Object.values(account.properties)) {
    const column = property.fieldNames?.[0]
    if (column && property.persist !== false && property.reference === "scalar") accountColumns[property.name] = column
  }
  // The account's owner: the adapter's `userId` is not stored; its many-to-one `user` holds the column.
  const owner = Object.values(account.properties).find((p) => p.reference === "m:1" && p.type === user.className)
  const ownerColumn = owner?.fieldNames?.[0]
  if (ownerColumn) accountColumns.userId = ownerColumn
  const userKey = user.primaryKeys[0]
  const tables = sqlTables(database, {
    accounts: tableOf(account),
    users: tableOf(user),
    store: "mikro-orm",
    accountColumns,
    userIdColumn: (userKey && columnOf(user, userKey)) ?? "id",
    origin: {
      accounts: { name: account.tableName, option: `the ${account.className} entity's tableName` },
      users: { name: user.tableName, option: `the ${user.className} entity's tableName` },
    },
  })
  const key = account.primaryKeys[0]
  const { generateId = !(key && account.properties[key]?.autoincrement) } = options
  const newId = (): string | number | undefined => {
    if (generateId === false || !key) return undefined
    return generateId === true ? globalThis.crypto.randomUUID() : generateId()
  }
  // The id of the insert under way: read by `defaults` in the same synchronous step that sends it.
  let inserting: string | number | undefined
  const connection = em.getConnection() as { getKnex?(): { readonly client: MikroOrmKnexClientLike } }
  const knexClient = () => {
    if (!connection.getKnex) throw new UnsupportedDatabaseError(`${FACTORY}: this MikroORM has no SQL connection.`)
    return connection.getKnex().client
  }
  const store = sqlAccountStore(mikroOrmDriver(knexClient, database), {
    name: "mikro-orm",
    factory: FACTORY,
    tables,
    insert: { defaults: () => (key && inserting !== undefined ? { [key]: inserting } : {}) },
    lockTimeoutMs: checkLockTimeout(options.lockTimeoutMs, FACTORY),
    // @auth/mikro-orm-adapter's linkAccount returns the account it was given with the id its entity set;
    // the insert below answers that (MariaDB's INSERT returns no row).
    linkAccountResult: "inserted-row",
    leaseTable: options.leaseTable,
    leaseOption: `${FACTORY}(orm, { leaseTable })`,
  })
  return {
    ...store,
    withAccountLock: (accountKey, work, lockOptions) =>
      store.withAccountLock(
        accountKey,
        (locked) =>
          work({
            ...locked,
            async insert(row) {
              const id = newId()
              inserting = id
              const sent = locked.insert(row)
              inserting = undefined
              await sent
              const { tokens, ...fields } = row
              const stored = Object.entries(tokens).filter(([, value]) => value !== undefined)
              return { ...(key && id !== undefined && { [key]: id }), ...fields, ...Object.fromEntries(stored) }
            },
          }),
        lockOptions,
      ),
  }
}
