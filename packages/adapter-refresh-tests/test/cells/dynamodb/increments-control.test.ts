/**
 * Control for the kit's increments under `withAccountLock` (conformance.ts, section b5) on DynamoDB: the same
 * 50 read-then-write increments from 2 OS processes, on the store with no exclusion (its lock take always
 * "taken", its update without the lease's condition), lose updates; the real store loses none (the kit run in
 * conformance.test.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { dynamoFixture, prepareDatabase } from "../../../src/fixtures/conformance-dynamodb.js"
import { testDynamoTable, type TestDynamoTable } from "../../../src/harness/dynalite.js"
import { runInWorkerProcesses } from "../../../src/kit/run-workers.js"
import type { WorkerOperation } from "../../../src/kit/worker-protocol.js"

const noLock = new URL("../../../src/fixtures/conformance-dynamodb-no-lock.ts", import.meta.url)

describe("control: increments under withAccountLock on the DynamoDB store without exclusion", () => {
  let table: TestDynamoTable
  beforeAll(async () => {
    table = await testDynamoTable("no_lock")
    await prepareDatabase(table.url)
  }, 30_000)
  afterAll(async () => {
    await table?.drop()
  })

  test("50 increments from 2 processes lose updates", async () => {
    const fixture = await dynamoFixture(table.url)
    try {
      const user = await fixture.adapter.createUser!({ id: "", email: "no-lock@example.test", emailVerified: null })
      const key = { provider: "kit-oidc", providerAccountId: `sub-${globalThis.crypto.randomUUID()}` }
      await fixture.adapter.linkAccount!({ ...key, userId: user.id, type: "oidc", access_token: "n.0" })
      const result = await runInWorkerProcesses(
        { fixtureModule: noLock.href, databaseUrl: table.url, mode: "wrapped" },
        Array.from({ length: 2 }, () =>
          Array.from({ length: 25 }, (): WorkerOperation => ({ kind: "increment", account: key })),
        ),
        120_000,
      )
      expect(result.flatMap((process) => process.outcomes).filter((outcome) => !outcome.ok)).toEqual([])
      const [row] = await fixture.accountRows(key)
      const counter = Number(String(row?.access_token).slice(2))
      expect(counter).toBeGreaterThan(0)
      expect(counter).toBeLessThan(50)
    } finally {
      await fixture.close()
    }
  }, 150_000)
})
