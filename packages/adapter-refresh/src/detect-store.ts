import { UnsupportedDatabaseError } from "./errors.js"
import type { AccountStore } from "./store.js"
import { drizzleAccountStore, isDrizzleDatabase } from "./stores/drizzle.js"
import { isKysely, kyselyAccountStore } from "./stores/kysely.js"
import { isPgClient, isPgPool, pgAccountStore } from "./stores/pg.js"
import { isPrismaClient, prismaAccountStore } from "./stores/prisma.js"

/** Accepted `db` values, in the words of the error message. */
const ACCEPTED =
  "a PrismaClient, a Kysely instance, a Drizzle database, a " +
  "node-postgres Pool, or an object implementing AccountStore " +
  "({ name, withAccountLock(key, work), findAccounts(userId, provider) }), such as " +
  "dynamoDbAccountStore(client, options) from authjs-adapter-refresh/stores/dynamodb"

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
  if (isPgPool(db)) matches.push({ kind: "pg Pool", create: () => pgAccountStore(db) })

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
  throw new UnsupportedDatabaseError(`withTokenSync(adapter, db): db is not a supported client; expected ${ACCEPTED}.`)
}
