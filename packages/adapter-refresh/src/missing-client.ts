/**
 * `withTokenSync(adapter)` with one argument cannot work: an official adapter keeps its client in a
 * closure, and the lock and the upsert must run on that same client. This module words the error for
 * that call, naming the two-argument line for the adapter at hand when it can be told apart.
 */
import { UnsupportedDatabaseError } from "./errors.js"

/** The line every one-argument error ends with when the adapter is not recognised. */
const COMMON_LINES =
  "withTokenSync(PrismaAdapter(prisma), prisma), withTokenSync(DrizzleAdapter(db), db), " +
  "withTokenSync(KyselyAdapter(db), db), withTokenSync(PostgresAdapter(pool), pool), " +
  "withTokenSync(SequelizeAdapter(sequelize), sequelize) or withTokenSync(TypeORMAdapter(options), dataSource)"

/**
 * The official adapters return the same method set two by two (Prisma and Drizzle; Kysely and pg), so
 * the method set alone cannot tell them apart. The text of `linkAccount` can: each writes the account
 * its own way, and the markers below are property names, string literals and SQL, which survive a
 * minifier (local names do not). A wrong guess costs nothing: the message also states the rule.
 */
const RECOGNISED: readonly { line: string; marker: RegExp }[] = [
  { line: "withTokenSync(PrismaAdapter(prisma), prisma)", marker: /\.account\.create\(/ },
  { line: "withTokenSync(KyselyAdapter(db), db)", marker: /insertInto\(\s*["'`]Account["'`]\s*\)/ },
  { line: "withTokenSync(PostgresAdapter(pool), pool)", marker: /insert\s+into\s+accounts\b/i },
  { line: "withTokenSync(DrizzleAdapter(db), db)", marker: /\.insert\([^()]*\)\s*\.values\(/ },
  { line: "withTokenSync(SequelizeAdapter(sequelize), sequelize)", marker: /\bAccount\.create\(account\)/ },
  // TypeORM's adapter saves through an EntityManager; dataSource: one of the app's, initialised.
  { line: "withTokenSync(TypeORMAdapter(options), dataSource)", marker: /\.save\(/ },
]

/** The two-argument line for `adapter` when it is an official adapter this recognises, else undefined. */
export function twoArgumentLine(adapter: unknown): string | undefined {
  if (typeof adapter !== "object" || adapter === null) return undefined
  const linkAccount = (adapter as { linkAccount?: unknown }).linkAccount
  if (typeof linkAccount !== "function") return undefined
  let text: string
  try {
    text = Function.prototype.toString.call(linkAccount)
  } catch {
    return undefined
  }
  return RECOGNISED.find(({ marker }) => marker.test(text))?.line
}

/** Keys of `withTokenSync`'s options: an object with only these is options passed in db's place. */
const OPTION_KEYS = new Set(["tokenFields", "codec", "lockTimeoutMs", "now", "refresh"])

/** Whether `db` is what the one-argument call (or options passed in db's place) looks like. */
export function isMissingClient(db: unknown): boolean {
  if (db === undefined) return true
  if (typeof db !== "object" || db === null || Array.isArray(db)) return false
  const proto = Object.getPrototypeOf(db) as unknown
  if (proto !== Object.prototype && proto !== null) return false
  const keys = Object.keys(db)
  return keys.length > 0 && keys.every((key) => OPTION_KEYS.has(key))
}

/** The error for `withTokenSync(adapter)` or `withTokenSync(adapter, options)`. */
export function missingClientError(adapter: unknown, db: unknown): UnsupportedDatabaseError {
  const got = db === undefined ? "was called with the adapter only" : "was given options where the client goes"
  const line = twoArgumentLine(adapter)
  return new UnsupportedDatabaseError(
    `withTokenSync ${got}. Pass the database client the adapter was built on (a PrismaClient, a Kysely ` +
      "instance, a Drizzle database, a MikroORM instance, a node-postgres Pool, a Sequelize instance, a TypeORM " +
      "DataSource) or an AccountStore built on it as the second argument" +
      (line ? `: ${line}. ` : `, e.g. ${COMMON_LINES}. `) +
      "The adapter keeps its client to itself, and the lock and the upsert must run on that same client " +
      "(README: Why withTokenSync needs the client).",
  )
}
