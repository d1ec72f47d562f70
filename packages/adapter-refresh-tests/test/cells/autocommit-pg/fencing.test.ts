/**
 * The fence of the store WITHOUT transactions, on real PostgreSQL (single autocommit statements, two pools as
 * two processes would have): a holder that stalls past its lock lease finds its write refused
 * (`AccountLockLostError`, nothing written) and the write of the next holder stays. Control: the same store
 * with the fence removed from its writes (fault "unfenced-writes") lets the stale write overwrite the newer
 * one. Also: a lock lease held elsewhere is the typed busy value within the wait bound.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import PostgresAdapter from "@auth/pg-adapter"
import type { AdapterAccount } from "@auth/core/adapters"
import { AccountLockLostError, withTokenSync, type AccountKey, type AccountStore } from "authjs-adapter-refresh"
import pg from "pg"
import { directHelpers, newPool } from "../../../src/fixtures/databases.js"
import { prepareDatabase } from "../../../src/fixtures/conformance-autocommit-pg.js"
import { testDatabase, type TestDatabase } from "../../../src/harness/postgres.js"
import { autocommitPgStore, type AutocommitFault } from "../../../src/reference/autocommit-pg-store.js"
import { expectBusyWithinBound, stalledHolder } from "../../suites/fencing-suite.js"

const LEASE_MS = 300

describe("autocommit reference store: fenced writes (real PostgreSQL, two pools)", () => {
  let db: TestDatabase
  const pools: pg.Pool[] = []
  let userId: string

  beforeAll(async () => {
    db = await testDatabase("autocommit_fencing")
    await prepareDatabase(db.url)
    pools.push(newPool(db.url), newPool(db.url), newPool(db.url))
    userId = await directHelpers("pg", pools[2]!).insertUser("fence@example.test")
  }, 60_000)
  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.end()))
    await db?.drop()
  })

  const storeOf = (pool: pg.Pool, fault?: AutocommitFault): AccountStore =>
    autocommitPgStore(pool, { lockLeaseMs: LEASE_MS, lockTimeoutMs: 3_000, ...(fault ? { fault } : {}) })
  const newKey = (): AccountKey => ({ provider: "fence", providerAccountId: `sub-${globalThis.crypto.randomUUID()}` })
  const accessToken = async (key: AccountKey) =>
    (await directHelpers("pg", pools[2]!).accountRows(key)).map((row) => row.access_token)

  /** The stalled-holder scenario (suites/fencing-suite.ts) on a fresh key seeded with "at.first". */
  async function stalledHolderOn(fault?: AutocommitFault) {
    const key = newKey()
    await pools[2]!.query(
      `INSERT INTO accounts ("userId", type, provider, "providerAccountId", access_token) ` +
        `VALUES ($1, 'oidc', $2, $3, 'at.first')`,
      [userId, key.provider, key.providerAccountId],
    )
    const a = storeOf(pools[0]!, fault)
    const b = storeOf(pools[1]!)
    return stalledHolder({ a, b, key, userId, stored: accessToken, bWaitsAtLeastMs: LEASE_MS / 2 })
  }

  test("a holder stalled past its lock lease: its write is refused and changes nothing; the next holder's write stays", async () => {
    const { a, stored } = await stalledHolderOn()
    expect(a).toBeInstanceOf(AccountLockLostError)
    expect(stored).toEqual(["at.signin"])
  })

  test("control: without the fence in the writes, the stalled holder's stale write overwrites the newer one", async () => {
    const { a, stored } = await stalledHolderOn("unfenced-writes")
    expect(a).toBe("written")
    expect(stored).toEqual(["at.stale"])
  })

  test("a lock lease held by another process is the typed busy value, within the wait bound, nothing written", async () => {
    const key = newKey()
    const long = { lockLeaseMs: 10_000 }
    await expectBusyWithinBound(autocommitPgStore(pools[0]!, long), autocommitPgStore(pools[1]!, long), key)
  })

  test("sends only single statements: no BEGIN/COMMIT, no advisory lock, no session setting (links, syncs, leases)", async () => {
    const sent: string[] = []
    const pool = pools[0]!
    const recording = {
      query: (text: string, values?: unknown[]) => {
        sent.push(text)
        return pool.query(text, values)
      },
    }
    const store = autocommitPgStore(recording)
    const adapter = withTokenSync(PostgresAdapter(pools[2]!), store)
    const key = newKey()
    const account = { ...key, userId, type: "oidc", access_token: "at.one" } as unknown as AdapterAccount
    await adapter.linkAccount(account)
    await adapter.linkAccount({ ...account, access_token: "at.two" })
    expect(await accessToken(key)).toEqual(["at.two"])
    const took = await store.leases!.take(key, "holder-1", 5_000)
    if (!took.taken) throw new Error("a free key's take was busy")
    expect(await store.leases!.renew(key, took.lease, 5_000)).not.toBeNull()
    await store.leases!.release(key, took.lease)
    expect(sent.length).toBeGreaterThan(8)
    const transactional = /^\s*(BEGIN|START|COMMIT|ROLLBACK|SAVEPOINT|SET|LOCK)\b|advisory/i
    expect(sent.filter((text) => transactional.test(text))).toEqual([])
  })
})
