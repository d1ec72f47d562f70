/**
 * Lease-mode refresh storms on `@auth/unstorage-adapter` over Redis (`redisAccountStore`, a store without
 * transactions), on a real redis-server: 4 processes x 25 callers, the real rotating oidc-provider, exactly one
 * refresh grant per expiry. Control: the same store whose refresh-lease take always answers "taken" breaks the
 * grant.
 */
import { testRedisDatabase } from "../../../src/harness/redis.js"
import { describeAlwaysTakenControl, describeRefreshStorm, LEASE_EXPIRIES } from "../../suites/storm-suite.js"

const fixtureModule = new URL("../../../src/fixtures/conformance-unstorage-redis.ts", import.meta.url)
const alwaysTaken = new URL("../../../src/fixtures/conformance-unstorage-redis-always-taken.ts", import.meta.url)

describeRefreshStorm({
  name: "unstorage on Redis, lease mode",
  fixtureModule,
  database: testRedisDatabase,
  coordination: "lease",
  expiries: LEASE_EXPIRIES,
})

describeAlwaysTakenControl({ name: "the Redis store", fixtureModule, alwaysTaken, database: testRedisDatabase })
