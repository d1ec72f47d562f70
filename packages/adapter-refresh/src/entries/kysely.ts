/**
 * `authjs-adapter-refresh/stores/kysely`: the account store for a Kysely instance (PostgreSQL, MySQL/MariaDB,
 * SQLite), for when `withTokenSync(adapter, db)`'s own detection is not enough (other table or column names,
 * a dialect it cannot tell, a lock bound). The root entry exports the same factory.
 *
 * @example
 * ```ts
 * import { KyselyAdapter } from "@auth/kysely-adapter"
 * import { withTokenSync } from "authjs-adapter-refresh"
 * import { kyselyAccountStore } from "authjs-adapter-refresh/stores/kysely"
 *
 * const adapter = withTokenSync(KyselyAdapter(db), kyselyAccountStore(db, { database: "postgres" }))
 * ```
 * @module stores/kysely
 */
export { kyselyAccountStore } from "../stores/kysely.js"
export type {
  KyselyAccountStoreOptions,
  KyselyCompiledQueryLike,
  KyselyExecutorLike,
  KyselyLike,
  KyselyQueryResultLike,
  KyselyStoreDatabase,
} from "../stores/kysely.js"
