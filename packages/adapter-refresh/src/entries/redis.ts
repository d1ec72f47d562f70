/**
 * `authjs-adapter-refresh/stores/redis`: the account store for `@auth/unstorage-adapter` on unstorage's Redis
 * driver (ioredis), and for `@auth/upstash-redis-adapter`'s key layout through a Redis-protocol client. A store
 * without transactions (`leaseLockedAccountStore` over Lua scripts): lease mode only.
 *
 * @example
 * ```ts
 * import { UnstorageAdapter } from "@auth/unstorage-adapter"
 * import { createStorage } from "unstorage"
 * import redisDriver from "unstorage/drivers/redis"
 * import { withTokenSync } from "authjs-adapter-refresh"
 * import { redisAccountStore } from "authjs-adapter-refresh/stores/redis"
 *
 * const driver = redisDriver({ url: process.env.REDIS_URL, base: "app" })
 * const adapter = withTokenSync(
 *   UnstorageAdapter(createStorage({ driver })),
 *   redisAccountStore(driver.getInstance!(), { base: "app" }),
 *   { refresh: { coordination: "lease" } },
 * )
 * ```
 * @module stores/redis
 */
export { redisAccountStore, redisAccountStoreParts } from "../stores/redis.js"
export type { RedisAccountStoreOptions, RedisAdapterKeyPrefixes, RedisClientLike } from "../stores/redis.js"
