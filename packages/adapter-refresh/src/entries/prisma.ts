/**
 * `authjs-adapter-refresh/stores/prisma`: the account store for a Prisma Client (PostgreSQL, MySQL/MariaDB,
 * SQLite), for when `withTokenSync(adapter, prisma)`'s own detection is not enough (a client wrapped in
 * something else, renamed models, other time bounds). The root entry exports the same factory.
 *
 * @example
 * ```ts
 * import { PrismaAdapter } from "@auth/prisma-adapter"
 * import { withTokenSync } from "authjs-adapter-refresh"
 * import { prismaAccountStore } from "authjs-adapter-refresh/stores/prisma"
 *
 * const adapter = withTokenSync(PrismaAdapter(prisma), prismaAccountStore(prisma, { lockTimeoutMs: 2_000 }))
 * ```
 * @module stores/prisma
 */
export { prismaAccountStore } from "../stores/prisma.js"
export type {
  PrismaAccountStoreOptions,
  PrismaClientLike,
  PrismaDatabase,
  PrismaRawClientLike,
  PrismaTransactionOptionsLike,
} from "../stores/prisma.js"
