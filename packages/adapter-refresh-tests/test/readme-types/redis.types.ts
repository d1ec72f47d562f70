// The README's "Redis" lines, type-checked.
import { UnstorageAdapter } from "@auth/unstorage-adapter"
import { withTokenSync } from "authjs-adapter-refresh"
import { redisAccountStore } from "authjs-adapter-refresh/stores/redis"
import { Redis } from "ioredis"
import { createStorage } from "unstorage"
import redisDriver from "unstorage/drivers/redis"

const driver = redisDriver({ url: process.env.REDIS_URL, base: "app" })
const adapter = withTokenSync(
  UnstorageAdapter(createStorage({ driver })),
  redisAccountStore(driver.getInstance!(), { base: "app" }), // and keyPrefixes, if you gave the adapter any
  { refresh: { providers: [], coordination: "lease" } },
)

// @auth/upstash-redis-adapter's layout through ioredis.
export const upstashStore = redisAccountStore(new Redis("rediss://default:password@example.upstash.io:6379"), {
  layout: "upstash",
  keyPrefixes: { baseKeyPrefix: "" },
})
export const providers = adapter.accountStore.name
