/**
 * `authjs-adapter-refresh/stores/mikroorm`: the account store for a MikroORM 5 SQL ORM (the ORM of
 * `@auth/mikro-orm-adapter` 2.x), for when `withTokenSync(adapter, orm)`'s own detection is not enough
 * (entities named other than "Account" and "User", an id of your own, a lock bound). The root entry exports
 * the same factory.
 *
 * @example
 * ```ts
 * import { MikroOrmAdapter, defaultEntities } from "@auth/mikro-orm-adapter"
 * import { MikroORM } from "@mikro-orm/postgresql"
 * import { withTokenSync } from "authjs-adapter-refresh"
 * import { mikroOrmAccountStore } from "authjs-adapter-refresh/stores/mikroorm"
 *
 * const config = { clientUrl: process.env.DATABASE_URL, entities: Object.values(defaultEntities) }
 * const orm = await MikroORM.init({ ...config })
 * const adapter = withTokenSync(MikroOrmAdapter(config), mikroOrmAccountStore(orm, { lockTimeoutMs: 2_000 }))
 * ```
 * @module stores/mikroorm
 */
export { mikroOrmAccountStore } from "../stores/mikroorm.js"
export type {
  MikroOrmAccountStoreOptions,
  MikroOrmEntityManagerLike,
  MikroOrmEntityMetaLike,
  MikroOrmEntityRef,
  MikroOrmKnexClientLike,
  MikroOrmLike,
  MikroOrmPropertyLike,
} from "../stores/mikroorm.js"
