/**
 * The token lifecycle's store parts on Redis (`redisAccountStore`, unstorage's layout, a real redis-server):
 * refresh-token expiry, the re-authentication listing, `refreshExpiring` and `reencryptAccounts`, against the
 * real rotating oidc-provider (suites/lifecycle-suite.ts).
 */
import { unstorageRedisFixture } from "../../../src/fixtures/conformance-unstorage-redis.js"
import { testRedisDatabase } from "../../../src/harness/redis.js"
import { defineLifecycleSuite } from "../../suites/lifecycle-suite.js"

defineLifecycleSuite({
  label: "Redis (@auth/unstorage-adapter's layout)",
  database: () => testRedisDatabase("life_redis"),
  createFixture: (url) => unstorageRedisFixture(url),
})
