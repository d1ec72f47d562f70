/**
 * The conformance kit on `@auth/unstorage-adapter` over unstorage's Redis driver (ioredis) with
 * `redisAccountStore` (no transactions: `leaseLockedAccountStore` over Lua scripts), on a real redis-server:
 * the adapter contract, the token-sync rules, the links-and-syncs storm from OS processes and the "leases"
 * section from four processes.
 */
import { runConformanceSuite } from "../../../src/index.js"
import { testRedisDatabase } from "../../../src/harness/redis.js"

runConformanceSuite({
  name: "@auth/unstorage-adapter on unstorage's Redis driver",
  fixtureModule: new URL("../../../src/fixtures/conformance-unstorage-redis.ts", import.meta.url),
  database: () => testRedisDatabase("kit_unstorage_redis"),
  expectedStoreName: "redis",
  expectsLeases: true,
  expectsOneStatementSignIn: false,
  expectsReauthListing: true,
  expectsAccountScan: true,
  // One JSON value per account: the bare link storm ends clean too; increments-control.test.ts is the control.
  bareLinksLeaveOneRow: true,
})
