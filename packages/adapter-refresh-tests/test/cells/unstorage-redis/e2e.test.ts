/**
 * End to end on Redis: `withTokenSync(UnstorageAdapter(storage), redisAccountStore(client, { base }))` with
 * unstorage's Redis driver on a real redis-server, through the real Auth.js handler and provider (scenarios 1-5 of
 * e2e-suite.ts; each with the bare adapter as the control). Users and sessions are read straight from the keys the
 * adapter writes.
 */
import type { Adapter } from "@auth/core/adapters"
import type { DatabaseFixture } from "../../../src/fixtures/databases.js"
import { unstorageRedisFixture } from "../../../src/fixtures/conformance-unstorage-redis.js"
import { testRedisDatabase } from "../../../src/harness/redis.js"
import { defineE2eSuite } from "../../suites/e2e-suite.js"

type RedisE2eFixture = Awaited<ReturnType<typeof unstorageRedisFixture>>
const redisOf = (fixture: DatabaseFixture<unknown>) => fixture as unknown as RedisE2eFixture
/** The bare adapter of the fixture whose store `db` is (the suite hands `officialAdapter` the store). */
const bareAdapters = new WeakMap<object, Adapter>()

defineE2eSuite<object>({
  // Unused with `database` below (it names the PostgreSQL schema otherwise).
  cell: "kysely",
  createFixture: async (url) => {
    const fixture = await unstorageRedisFixture(url)
    bareAdapters.set(fixture.db, fixture.adapter)
    return fixture as unknown as DatabaseFixture<object>
  },
  officialAdapter: (db) => bareAdapters.get(db)!,
  database: {
    label: "Redis",
    create: async (prefix) => ({ ...(await testRedisDatabase(prefix)), name: prefix }),
    applySchema: async () => undefined,
    usersWithEmail: async (fixture, email) => {
      const { client, keyPrefix } = redisOf(fixture)
      const id = await client.get(`${keyPrefix}:user:email:${email}`)
      return id && (await client.exists(`${keyPrefix}:user:${id}`)) ? [{ id }] : []
    },
    sessionCount: async (fixture, userId) => {
      const { client, keyPrefix } = redisOf(fixture)
      let count = 0
      let cursor = "0"
      do {
        const [next, keys] = await client.scan(cursor, "MATCH", `${keyPrefix}:user:session:*`, "COUNT", 1000)
        cursor = next
        for (const raw of keys.length > 0 ? await client.mget(...keys) : []) {
          const session = raw?.startsWith("{") ? (JSON.parse(raw) as { userId?: unknown }) : undefined
          if (session?.userId === userId) count++
        }
      } while (cursor !== "0")
      return count
    },
  },
})
