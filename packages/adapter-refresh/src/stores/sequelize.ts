/**
 * AccountStore for a Sequelize 6 instance and the models `@auth/sequelize-adapter` works on: its own
 * (`account` and `user`, defined with `underscored: true`: tables `accounts` and `users`, columns
 * `provider_account_id` and `user_id`, uuid ids filled in by Sequelize, no unique key on the account's key)
 * or custom models passed to the adapter. Table and column names are read from the models, so a model's
 * `tableName`, `field` and `underscored` settings are what the store uses.
 *
 * This module does not import `sequelize`: the instance and its models are typed structurally. The store
 * sends the library's own SQL on the raw connections of Sequelize's connection manager
 * (../drivers/sequelize.ts), in the dialect's database (databases/*): `postgres`, `mariadb`, `mysql` or
 * `sqlite`.
 */
import type { AccountStore } from "../store.js"
import { sequelizeDriver, SEQUELIZE_DIALECTS, type SequelizeConnectionManagerLike } from "../drivers/sequelize.js"
import { UnsupportedDatabaseError } from "../errors.js"
import { sqlAccountStore } from "../sql-store.js"
import { sqlTables, type TableName } from "../statements.js"
import { checkLockTimeout } from "../store-support.js"

/** An attribute of a Sequelize model, as far as the store reads it. */
export interface SequelizeAttributeLike {
  /** The column name (set by Sequelize from the attribute's `field`, or `underscored`). */
  readonly field?: string
  readonly primaryKey?: boolean
  readonly defaultValue?: unknown
}

/** The part of a Sequelize model class (`sequelize.define(...)`, `class X extends Model`) the store reads. */
export interface SequelizeModelLike {
  readonly name: string
  readonly rawAttributes: Readonly<Record<string, SequelizeAttributeLike>>
  readonly primaryKeyAttribute: string
  getTableName(): string | { readonly tableName: string; readonly schema?: string }
  /** An unsaved instance with the attributes' defaults (an id the model generates: `UUIDV4`). */
  build(values: Record<string, never>): { get(attribute: string): unknown }
  readonly associations?: Readonly<Record<string, { readonly associationType: string; readonly target: unknown }>>
}

/** The part of a `Sequelize` instance the store uses. Any `new Sequelize(...)` of sequelize 6 satisfies it. */
export interface SequelizeLike {
  getDialect(): string
  readonly connectionManager: SequelizeConnectionManagerLike
  readonly models: Readonly<Record<string, SequelizeModelLike>>
}

/** Options of {@link sequelizeAccountStore}. */
export interface SequelizeAccountStoreOptions {
  /**
   * The models passed to `SequelizeAdapter(sequelize, { models })`. Default: the instance's model with the
   * account attributes (`provider`, `providerAccountId`, `userId`, `type`; the adapter's own `account`), and the
   * model it belongs to (`Account.belongsTo(User)`, which the adapter sets up).
   */
  models?: { Account?: SequelizeModelLike; User?: SequelizeModelLike }
  /**
   * Upper bound, in milliseconds, on how long `withAccountLock` waits for the account's lock. PostgreSQL:
   * `lock_timeout`; MariaDB/MySQL: the key's named lock and `innodb_lock_wait_timeout`; SQLite: the wait for
   * the file's write lock. When exceeded nothing is written. Default: the server's own bound (SQLite: 5 s).
   */
  lockTimeoutMs?: number
  /** The lease table of lease mode (`refresh.coordination: "lease"`). Default `"authjs_refresh_lease"`. */
  leaseTable?: string
}

const ACCOUNT_ATTRIBUTES = ["provider", "providerAccountId", "userId", "type"]

/** Whether `value` is a Sequelize instance (its dialect, connection manager, models, `define` and `query`). */
export function isSequelize(value: unknown): value is SequelizeLike {
  if (typeof value !== "object" || value === null) return false
  const record = value as Record<string, unknown>
  return (
    ["getDialect", "define", "query", "transaction"].every((name) => typeof record[name] === "function") &&
    typeof record.connectionManager === "object" &&
    typeof record.models === "object"
  )
}

function accountModelOf(db: SequelizeLike): SequelizeModelLike {
  const found = Object.values(db.models).filter((model) =>
    ACCOUNT_ATTRIBUTES.every((attribute) => attribute in model.rawAttributes),
  )
  if (found.length === 1) return found[0]!
  throw new UnsupportedDatabaseError(
    `sequelizeAccountStore: ${found.length === 0 ? "no model" : `${found.length} models`} of this Sequelize ` +
      "instance has the account attributes (provider, providerAccountId, userId, type); create the adapter " +
      "first, or pass sequelizeAccountStore(sequelize, { models: { Account, User } }).",
  )
}

function userModelOf(db: SequelizeLike, account: SequelizeModelLike): SequelizeModelLike {
  const owner = Object.values(account.associations ?? {}).find((a) => a.associationType === "BelongsTo")
  const user = (owner?.target as SequelizeModelLike | undefined) ?? db.models.user
  if (user) return user
  throw new UnsupportedDatabaseError(
    `sequelizeAccountStore: the account model ${account.name} belongs to no user model; ` +
      "pass sequelizeAccountStore(sequelize, { models: { Account, User } }).",
  )
}

const tableOf = (model: SequelizeModelLike): string | TableName => {
  const name = model.getTableName()
  return typeof name === "string" ? name : { schema: name.schema || undefined, name: name.tableName }
}
const columnOf = (model: SequelizeModelLike, attribute: string) => model.rawAttributes[attribute]?.field ?? attribute

/**
 * An AccountStore over a Sequelize instance and the `@auth/sequelize-adapter` models, on PostgreSQL,
 * MariaDB/MySQL or SQLite.
 *
 * @param db The same Sequelize instance given to `SequelizeAdapter(sequelize)`, after the adapter was created.
 * @returns The store to pass as `withTokenSync(adapter, store)`.
 * @throws {@link UnsupportedDatabaseError} for a dialect other than postgres, mariadb, mysql and sqlite, or when
 *   the account model cannot be told (none or several) and `options.models` does not name it.
 * @throws {@link InvalidOptionsError} for an option that cannot work (a lock bound that is not a positive integer).
 */
export function sequelizeAccountStore(db: SequelizeLike, options: SequelizeAccountStoreOptions = {}): AccountStore {
  const name = "sequelize"
  const dialect = db.getDialect()
  if (!SEQUELIZE_DIALECTS.includes(dialect)) {
    throw new UnsupportedDatabaseError(
      `sequelizeAccountStore: the ${JSON.stringify(dialect)} dialect is not one this library speaks; ` +
        `${SEQUELIZE_DIALECTS.join(", ")} are.`,
    )
  }
  const Account = options.models?.Account ?? accountModelOf(db)
  const User = options.models?.User ?? userModelOf(db, Account)
  const driver = sequelizeDriver(db.connectionManager, dialect)
  const accountColumns = Object.fromEntries(Object.keys(Account.rawAttributes).map((a) => [a, columnOf(Account, a)]))
  const option = "sequelizeAccountStore(sequelize, { models })"
  const tables = sqlTables(driver.database, {
    accounts: tableOf(Account),
    users: tableOf(User),
    store: name,
    accountColumns,
    userIdColumn: columnOf(User, User.primaryKeyAttribute),
    origin: { accounts: { name: Account.name, option }, users: { name: User.name, option } },
  })
  // Ids the model generates itself (the adapter's UUIDV4): the database has no default for them.
  const generated = Object.entries(Account.rawAttributes)
    .filter(([, attribute]) => attribute.primaryKey && attribute.defaultValue !== undefined)
    .map(([attribute]) => attribute)
  const defaults = () => {
    const built = Account.build({})
    return Object.fromEntries(generated.map((attribute) => [attribute, built.get(attribute)]))
  }
  return sqlAccountStore(driver, {
    name,
    factory: "sequelizeAccountStore",
    tables,
    insert: { defaults },
    lockTimeoutMs: checkLockTimeout(options.lockTimeoutMs, "sequelizeAccountStore"),
    // @auth/sequelize-adapter's linkAccount resolves to nothing.
    linkAccountResult: "nothing",
    leaseTable: options.leaseTable,
    leaseOption: "sequelizeAccountStore(sequelize, { leaseTable })",
  })
}
