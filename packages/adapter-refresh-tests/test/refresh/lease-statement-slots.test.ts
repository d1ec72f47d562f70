/**
 * Lease mode's statement turns (`refresh.maxConcurrentStatements`) on real PostgreSQL and the real rotating
 * oidc-provider, whose answers a real proxy holds back 300 ms so that every flight is in the air together.
 * The pg store is the real one; only its lease and write calls are wrapped, to count how many are in flight
 * at once. 12 accounts expire together and are asked for at once: with 2 turns, never more than 2 of the
 * refreshes' statements are in flight (the rest of the pool serves the app); the control, 64 turns, has more.
 */
import { afterAll, beforeAll, expect, test } from "@jest/globals"
import PostgresAdapter from "@auth/pg-adapter"
import pg from "pg"
import { pgAccountStore, withTokenSync, type AccountLeases, type AccountStore } from "authjs-adapter-refresh"
import { CHAOS_PROVIDER_ID, LEASE_TABLE_SQL, seedChaosAccounts } from "../../src/chaos/chaos-run.js"
import { applySchema } from "../../src/fixtures/databases.js"
import { startOidcProvider, type TestOidcProvider } from "../../src/harness/oidc-provider.js"
import { testDatabase, type TestDatabase } from "../../src/harness/postgres.js"
import { startRewritingProxy, type RewritingProxy } from "../../src/harness/rewriting-proxy.js"

const ACCOUNTS = 12

let db: TestDatabase
let op: TestOidcProvider
let proxy: RewritingProxy
let pool: pg.Pool

beforeAll(async () => {
  db = await testDatabase("lease_statement_slots")
  await applySchema("pg", db.url)
  pool = new pg.Pool({ connectionString: db.url, max: 10 })
  pool.on("error", () => {})
  await pool.query(LEASE_TABLE_SQL)
  op = await startOidcProvider({ accessTokenTtl: 3600, rotateRefreshToken: true })
  proxy = await startRewritingProxy(op.endpoints.token)
  await seedChaosAccounts(pool, op, ACCOUNTS)
}, 60_000)

afterAll(async () => {
  await pool?.end()
  await proxy?.stop()
  await op?.stop()
  await db?.drop()
})

/** The real pg store, its lease and write calls counted: the most in flight at once. */
function countedStore(): { store: AccountStore; most: () => number } {
  const real = pgAccountStore(pool)
  let inFlight = 0
  let most = 0
  const counted =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      most = Math.max(most, ++inFlight)
      try {
        return await call(...args)
      } finally {
        inFlight--
      }
    }
  const leases = real.leases!
  const countedLeases: AccountLeases = {
    take: counted(leases.take.bind(leases)),
    renew: counted(leases.renew.bind(leases)),
    release: counted(leases.release.bind(leases)),
  }
  const write = real.updateOwnTokensIfUnchanged!.bind(real)
  const store = { ...real, leases: countedLeases, updateOwnTokensIfUnchanged: counted(write) }
  return { store, most: () => most }
}

/** Every account expired, then all asked for at once; the most statements in flight meanwhile. */
async function storm(maxConcurrentStatements: number): Promise<number> {
  await pool.query(`UPDATE accounts SET expires_at = extract(epoch FROM now())::bigint - 1`)
  const { store, most } = countedStore()
  const adapter = withTokenSync(PostgresAdapter(pool), store, {
    refresh: {
      providers: [
        {
          id: CHAOS_PROVIDER_ID,
          type: "oidc",
          issuer: op.issuer,
          clientId: op.clientId,
          clientSecret: op.clientSecret,
          token: proxy.url,
        },
      ],
      skewSeconds: 0,
      minRefreshIntervalSeconds: 0,
      coordination: "lease",
      maxConcurrentStatements,
    },
  })
  const grants = op.stats.refreshGrants
  const answers = await Promise.all(
    Array.from({ length: ACCOUNTS }, (_, n) =>
      adapter.getAccessToken({ userId: String(n + 1), provider: CHAOS_PROVIDER_ID }),
    ),
  )
  expect(answers.every((answer) => answer.refreshed)).toBe(true)
  expect(op.stats.refreshGrants - grants).toBe(ACCOUNTS)
  return most()
}

test("lease mode: never more than maxConcurrentStatements of the refreshes' statements in flight (control: 64)", async () => {
  proxy.delayMs = 300
  try {
    const limited = await storm(2)
    expect(limited).toBeLessThanOrEqual(2)
    // The turns were all used: the bound, not a lack of work, kept it there.
    expect(limited).toBe(2)
    // Control: with 64 turns the 12 TAKEs go out together.
    expect(await storm(64)).toBeGreaterThan(2)
  } finally {
    proxy.delayMs = 0
  }
}, 60_000)
