import { UnsupportedDatabaseError } from "./errors.js"
import type { AccountStore } from "./store.js"
import { drizzleAccountStore, isDrizzleDatabase } from "./stores/drizzle.js"
import { isKysely, kyselyAccountStore } from "./stores/kysely.js"
import { isMikroOrm, isMikroOrmEntityManager, mikroOrmAccountStore } from "./stores/mikroorm.js"
import { isPgClient, isPgPool, pgAccountStore } from "./stores/pg.js"
import { isPrismaClient, prismaAccountStore } from "./stores/prisma.js"
import { isRedisLike } from "./stores/redis.js"
import { isSequelize, sequelizeAccountStore } from "./stores/sequelize.js"
import { isTypeOrmDataSource, typeormAccountStore } from "./stores/typeorm.js"

/** Accepted `db` values, in the words of the error message. */
const ACCEPTED =
  "a PrismaClient, a Kysely instance, a Drizzle database, a " +
  "MikroORM instance or its EntityManager (MikroORM 5, SQL), a " +
  "node-postgres Pool, a Sequelize instance, an initialised TypeORM DataSource, or an object implementing " +
  "AccountStore ({ name, withAccountLock(key, work), findAccounts(userId, provider) }), such as " +
  "dynamoDbAccountStore(client, options) from authjs-adapter-refresh/stores/dynamodb or " +
  "redisAccountStore(client, options) from authjs-adapter-refresh/stores/redis"

/** An AWS SDK v3 `DynamoDBDocument` (@aws-sdk/lib-dynamodb), recognised by its methods only. */
function isDynamoDbDocument(value: object): boolean {
  const candidate = value as Record<string, unknown>
  return ["send", "get", "put", "query", "transactWrite", "batchWrite"].every(
    (method) => typeof candidate[method] === "function",
  )
}

export function isAccountStore(value: unknown): value is AccountStore {
  if (typeof value !== "object" || value === null) return false
  const candidate = value as Partial<AccountStore>
  return (
    typeof candidate.name === "string" &&
    typeof candidate.withAccountLock === "function" &&
    typeof candidate.findAccounts === "function"
  )
}

/** The database client or store handed to `withTokenSync`, whatever it is. */
export type TokenSyncDatabase = AccountStore | object

/**
 * Recognises `db` and returns the store for it. Exactly one detector must match: an object that looks
 * like two kinds of client is refused rather than guessed at.
 */
export function resolveAccountStore(db: unknown): AccountStore {
  if (db === null || db === undefined || typeof db !== "object") {
    throw new UnsupportedDatabaseError(
      `withTokenSync(adapter, db): db is ${db === null ? "null" : typeof db}; expected ${ACCEPTED}.`,
    )
  }
  const matches: { kind: string; create: () => AccountStore }[] = []
  if (isAccountStore(db)) matches.push({ kind: "AccountStore", create: () => db })
  if (isPrismaClient(db)) matches.push({ kind: "PrismaClient", create: () => prismaAccountStore(db) })
  if (isKysely(db)) matches.push({ kind: "Kysely", create: () => kyselyAccountStore(db) })
  // Drizzle with @auth/drizzle-adapter's default tables; custom tables: drizzleAccountStore(db, { usersTable,
  // accountsTable }).
  if (isDrizzleDatabase(db)) matches.push({ kind: "Drizzle database", create: () => drizzleAccountStore(db) })
  // MikroORM with @auth/mikro-orm-adapter's entities ("Account", "User"); others: mikroOrmAccountStore(orm, {
  // entities }).
  if (isMikroOrm(db)) matches.push({ kind: "MikroORM", create: () => mikroOrmAccountStore(db) })
  else if (isMikroOrmEntityManager(db)) {
    matches.push({ kind: "MikroORM EntityManager", create: () => mikroOrmAccountStore(db) })
  }
  if (isPgPool(db)) matches.push({ kind: "pg Pool", create: () => pgAccountStore(db) })
  // The adapter's own models, or custom ones it was given: the model with the account attributes.
  if (isSequelize(db)) matches.push({ kind: "Sequelize", create: () => sequelizeAccountStore(db) })
  // TypeORM with @auth/typeorm-adapter's entities; custom ones: typeormAccountStore(dataSource, { entities }).
  if (isTypeOrmDataSource(db)) matches.push({ kind: "TypeORM DataSource", create: () => typeormAccountStore(db) })

  const [only, ...others] = matches
  if (only && others.length === 0) return only.create()
  if (only) {
    throw new UnsupportedDatabaseError(
      `withTokenSync(adapter, db): db looks like more than one ` +
        `kind of client (${matches.map((m) => m.kind).join(", ")}); ` +
        "build the store explicitly (e.g. pgAccountStore(pool)) and pass that instead.",
    )
  }
  if (isDynamoDbDocument(db)) {
    throw new UnsupportedDatabaseError(
      "withTokenSync(adapter, db): db is a DynamoDB document client, whose table and key names the store cannot " +
        "read from it; pass dynamoDbAccountStore(client, options) from authjs-adapter-refresh/stores/dynamodb, " +
        'with the adapter\'s options, and refresh: { coordination: "lease" }.',
    )
  }
  if (isPgClient(db)) {
    throw new UnsupportedDatabaseError(
      "withTokenSync(adapter, db): db is a single node-postgres Client; pass a Pool, " +
        "so that concurrent sign-ins and refreshes each get their own transaction.",
    )
  }
  if (isRedisLike(db)) {
    throw new UnsupportedDatabaseError(
      "withTokenSync(adapter, db): db is a Redis client or an unstorage storage, whose key layout (the driver's " +
        "base, the adapter's key prefixes) cannot be read from it; pass redisAccountStore(client, { base }) from " +
        'authjs-adapter-refresh/stores/redis, with refresh: { coordination: "lease" }.',
    )
  }
  throw new UnsupportedDatabaseError(`withTokenSync(adapter, db): db is not a supported client; expected ${ACCEPTED}.`)
}
