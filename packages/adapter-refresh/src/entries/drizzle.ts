/**
 * `authjs-adapter-refresh/stores/drizzle`: the account store for a Drizzle database (PostgreSQL, MySQL/MariaDB,
 * SQLite), needed when `@auth/drizzle-adapter` was given your own tables: pass the same tables here. The
 * root entry exports the same factory.
 *
 * @example
 * ```ts
 * import { DrizzleAdapter } from "@auth/drizzle-adapter"
 * import { withTokenSync } from "authjs-adapter-refresh"
 * import { drizzleAccountStore } from "authjs-adapter-refresh/stores/drizzle"
 *
 * const adapter = withTokenSync(
 *   DrizzleAdapter(db, { usersTable: users, accountsTable: accounts }),
 *   drizzleAccountStore(db, { usersTable: users, accountsTable: accounts }),
 * )
 * ```
 * @module stores/drizzle
 */
export { drizzleAccountStore } from "../stores/drizzle.js"
export type { DrizzleAccountStoreOptions, DrizzleDatabaseLike, DrizzleTableLike } from "../stores/drizzle.js"
