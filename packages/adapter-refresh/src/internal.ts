/**
 * Internals that this workspace's own tests, benchmarks and fixtures use. Not published: package.json
 * names `./internal` only under the workspace's `@authjs-adapter-refresh/source` condition, and
 * `publishConfig.exports` leaves it out, so no installed copy can import it. Nothing here is public API.
 * @internal
 * @module
 */
export { resolveAccountStore, isAccountStore } from "./detect-store.js"
export { ADVISORY_LOCK_KEY_SQL } from "./databases/postgres.js"
export { ENVELOPE_MARK } from "./encryption/token-encryption.js"
export { parseEncryptionKeys } from "./encryption/keys.js"
export type { ParsedKey } from "./encryption/keys.js"
export { reauthMarkChange, isMarkedForReauth, REAUTH_MARK } from "./policy/reauth.js"
export type { TokenWriteSource } from "./policy/reauth.js"
export { mergeTokens, incomingTokens, storedTokens, tokenColumns } from "./policy/merge.js"
export type { TokenSet, MergeResult } from "./policy/merge.js"
export {
  expiresAtToSeconds,
  resolveExpiresAt,
  storedExpiresAt,
  isExpiring,
  MILLISECONDS_THRESHOLD,
} from "./policy/expiry.js"
export { isDrizzleDatabase } from "./stores/drizzle.js"
export { isKysely } from "./stores/kysely.js"
export { isMikroOrm, isMikroOrmEntityManager } from "./stores/mikroorm.js"
export { isTypeOrmDataSource } from "./stores/typeorm.js"
export { isPgClient, isPgPool } from "./stores/pg.js"
export { pgRunner, holdPgConnection } from "./drivers/node-postgres.js"
export { isPrismaClient, prismaProviderOf, prismaAccountTable } from "./stores/prisma.js"
export type { PrismaAccountTable } from "./stores/prisma.js"
