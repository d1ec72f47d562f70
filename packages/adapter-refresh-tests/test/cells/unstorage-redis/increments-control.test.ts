/**
 * Control for the kit's "(b5)" increments (conformance.ts) on Redis: the same 50 read-then-write increments
 * under `withAccountLock` from 2 OS processes, on the Redis store with no exclusion (fault "no-lock": no lock
 * lease, unfenced writes), lose updates; the real store loses none (its conformance.test.ts). It stands in for the
 * kit's bare link-storm control, which a one-value-per-account adapter cannot fail.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { Redis } from "ioredis"
import { accountRedisKey } from "../../../src/fixtures/conformance-unstorage-redis.js"
import { parseRedisTestUrl, testRedisDatabase, type TestRedisDatabase } from "../../../src/harness/redis.js"
import { runInWorkerProcesses } from "../../../src/kit/run-workers.js"
import type { WorkerOperation } from "../../../src/kit/worker-protocol.js"

const noLock = new URL("../../../src/fixtures/conformance-unstorage-redis-no-lock.ts", import.meta.url)

describe("control: increments under withAccountLock on the Redis store without exclusion", () => {
  let db: TestRedisDatabase
  beforeAll(async () => {
    db = await testRedisDatabase("redis_no_lock")
  }, 60_000)
  afterAll(async () => {
    await db?.drop()
  })

  test("50 increments from 2 processes lose updates", async () => {
    const { serverUrl, keyPrefix } = parseRedisTestUrl(db.url)
    const client = new Redis(serverUrl)
    try {
      const userId = globalThis.crypto.randomUUID()
      const key = { provider: "kit-oidc", providerAccountId: `sub-${globalThis.crypto.randomUUID()}` }
      await client.set(`${keyPrefix}:user:${userId}`, JSON.stringify({ id: userId, email: "no-lock@example.test" }))
      const account = {
        ...key,
        userId,
        type: "oidc",
        access_token: "n.0",
        id: `${key.provider}:${key.providerAccountId}`,
      }
      await client.set(accountRedisKey(keyPrefix, key), JSON.stringify(account))
      const result = await runInWorkerProcesses(
        { fixtureModule: noLock.href, databaseUrl: db.url, mode: "wrapped" },
        Array.from({ length: 2 }, () =>
          Array.from({ length: 25 }, (): WorkerOperation => ({ kind: "increment", account: key })),
        ),
        120_000,
      )
      expect(result.flatMap((process) => process.outcomes).filter((outcome) => !outcome.ok)).toEqual([])
      const stored = JSON.parse((await client.get(accountRedisKey(keyPrefix, key)))!) as { access_token: string }
      const counter = Number(stored.access_token.slice(2))
      expect(counter).toBeGreaterThan(0)
      expect(counter).toBeLessThan(50)
    } finally {
      client.disconnect()
    }
  }, 150_000)
})
