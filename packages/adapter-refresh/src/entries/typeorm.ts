/**
 * `authjs-adapter-refresh/stores/typeorm`: the account store for a TypeORM DataSource (PostgreSQL,
 * MySQL/MariaDB, SQLite with `better-sqlite3`), for when `withTokenSync(adapter, dataSource)`'s own detection
 * is not enough (custom entities given by name, a lock bound). The root entry exports the same factory.
 *
 * @example
 * ```ts
 * import { TypeORMAdapter } from "@auth/typeorm-adapter"
 * import { withTokenSync } from "authjs-adapter-refresh"
 * import { typeormAccountStore } from "authjs-adapter-refresh/stores/typeorm"
 *
 * const adapter = withTokenSync(
 *   TypeORMAdapter(options, { entities }),
 *   typeormAccountStore(dataSource, { entities: { AccountEntity: entities.AccountEntity } }),
 * )
 * ```
 * @module stores/typeorm
 */
export { typeormAccountStore } from "../stores/typeorm.js"
export type {
  TypeOrmAccountStoreOptions,
  TypeOrmColumnLike,
  TypeOrmDataSourceLike,
  TypeOrmDataSourceWithMetadata,
  TypeOrmEntityMetadataLike,
  TypeOrmEntityRef,
  TypeOrmQueryRunnerLike,
} from "../stores/typeorm.js"
