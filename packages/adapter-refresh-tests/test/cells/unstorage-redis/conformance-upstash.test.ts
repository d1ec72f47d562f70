/**
 * The conformance kit on `@auth/upstash-redis-adapter`'s key layout, written by the adapter's own code (its REST
 * client replaced by the same commands over the Redis protocol: fixtures/conformance-upstash-redis.ts) on a real
 * redis-server, with `redisAccountStore(client, { layout: "upstash" })`.
 */
import { runConformanceSuite } from "../../../src/index.js"
import { testRedisDatabase } from "../../../src/harness/redis.js"

runConformanceSuite({
  name: "@auth/upstash-redis-adapter's layout on Redis",
  fixtureModule: new URL("../../../src/fixtures/conformance-upstash-redis.ts", import.meta.url),
  database: () => testRedisDatabase("kit_upstash_redis"),
  expectedStoreName: "redis",
  expectsLeases: true,
  expectsOneStatementSignIn: false,
  expectsReauthListing: true,
  expectsAccountScan: true,
  // One JSON value per account (see conformance.test.ts).
  bareLinksLeaveOneRow: true,
})
