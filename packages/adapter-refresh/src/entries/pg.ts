/**
 * `authjs-adapter-refresh/stores/pg`: the account store for a node-postgres `Pool` (the client of
 * `@auth/pg-adapter`), for when `withTokenSync(adapter, pool)`'s defaults do not fit (other table names, a
 * lock bound). The root entry exports the same factory.
 *
 * @example
 * ```ts
 * import PostgresAdapter from "@auth/pg-adapter"
 * import { withTokenSync } from "authjs-adapter-refresh"
 * import { pgAccountStore } from "authjs-adapter-refresh/stores/pg"
 *
 * const adapter = withTokenSync(PostgresAdapter(pool), pgAccountStore(pool, { lockTimeoutMs: 2_000 }))
 * ```
 * @module stores/pg
 */
export { pgAccountStore } from "../stores/pg.js"
export type { PgAccountStoreOptions, PgPoolClientLike, PgPoolLike, PgQueryResultLike } from "../stores/pg.js"
