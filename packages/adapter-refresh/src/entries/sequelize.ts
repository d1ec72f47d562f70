/**
 * `authjs-adapter-refresh/stores/sequelize`: the account store for a Sequelize 6 instance (PostgreSQL,
 * MariaDB/MySQL, SQLite), for when `withTokenSync(adapter, sequelize)`'s own detection is not enough (several
 * models with the account attributes, a lock bound). The root entry exports the same factory.
 *
 * @example
 * ```ts
 * import SequelizeAdapter from "@auth/sequelize-adapter"
 * import { withTokenSync } from "authjs-adapter-refresh"
 * import { sequelizeAccountStore } from "authjs-adapter-refresh/stores/sequelize"
 *
 * const adapter = withTokenSync(
 *   SequelizeAdapter(sequelize, { models: { Account, User } }),
 *   sequelizeAccountStore(sequelize, { models: { Account, User } }),
 * )
 * ```
 * @module stores/sequelize
 */
export { sequelizeAccountStore } from "../stores/sequelize.js"
export type {
  SequelizeAccountStoreOptions,
  SequelizeAttributeLike,
  SequelizeLike,
  SequelizeModelLike,
} from "../stores/sequelize.js"
export type { SequelizeConnectionManagerLike } from "../drivers/sequelize.js"
