/**
 * One OS process of a refresh storm: builds its fixture and adapter, waits for the common "go"
 * (runBarrierWorker), then fires `callers` concurrent getAccessToken calls (or the naive refresh, or Better
 * Auth's getAccessToken) and reports each outcome.
 */
import { createHash } from "node:crypto"
import type { BetterAuthTestDatabase } from "./better-auth-app.js"
import { tokenEncryption, withTokenSync, type AccountLeases, type AccountStore } from "authjs-adapter-refresh"
import { createFixture } from "../fixtures/databases.js"
import type { ConformanceFixtureModule } from "../kit/fixture.js"
import { errorLabel, runBarrierWorker } from "../kit/barrier-worker.js"
import { naiveGetAccessToken } from "./naive-refresh.js"
import type { StormOutcome, StormWorkerConfig } from "./storm-protocol.js"

const fingerprint = (token: string): string => createHash("sha256").update(token).digest("hex").slice(0, 16)
const config = JSON.parse(process.argv[2] ?? "{}") as StormWorkerConfig
// Node reads TZ again when it is assigned: every date this process parses or prints is in that zone.
if (config.timeZone) process.env.TZ = config.timeZone

/** The process's fixture: a PostgreSQL cell's (with its pg Pool) or a conformance fixture module's. */
async function workerFixture() {
  if (config.fixtureModule) {
    if (config.leaseControl) throw new Error("storm worker: leaseControl runs on a cell only")
    const module = (await import(config.fixtureModule)) as ConformanceFixtureModule
    const fixture = await module.createFixture(config.databaseUrl)
    return { adapter: fixture.adapter, db: fixture.db, pool: undefined, close: () => fixture.close() }
  }
  if (!config.cell) throw new Error("storm worker: neither cell nor fixtureModule given")
  const fixture = await createFixture(config.cell, config.databaseUrl)
  return config.leaseControl === "always-taken" ? { ...fixture, db: alwaysTaken(fixture.store) } : fixture
}

/**
 * Control: the cell's store, with a lease take that always answers "taken" whoever holds the lease (the rows
 * and the store's clock are the real take's). It answers 2 s after the real take, so every process of the
 * storm reads the rows before any of them sends, however late a loaded machine starts it: without the pause a
 * late process read the first one's rotated token and sent nothing, and the control passed the check it
 * exists to fail (CI, one request instead of several).
 */
function alwaysTaken(store: AccountStore): AccountStore {
  const real = store.leases
  if (!real) throw new Error("storm worker: the always-taken control needs a store with leases")
  const leases: AccountLeases = {
    ...real,
    take: async (key, holder, durationMs, options) => {
      const { rows, nowMs } = await real.take(key, holder, durationMs, options)
      await new Promise((resolve) => setTimeout(resolve, 2_000))
      return { taken: true, lease: { fence: "0", holder }, remainingMs: durationMs, rows, nowMs }
    },
  }
  return { ...store, leases }
}

/**
 * Better Auth's own database when it is not the cell's: a mysql2 pool (MariaDB), a better-sqlite3 file, or
 * its Prisma or Drizzle adapter on PostgreSQL.
 */
async function betterAuthDatabase() {
  const database = config.betterAuth?.database
  if (!database) return undefined
  if (database.kind !== "mariadb" && database.kind !== "sqlite") {
    const { openBetterAuthOrm } = await import("./better-auth-orm.js")
    const db = await openBetterAuthOrm(database.kind, database.url)
    return { db, close: () => db.close() }
  }
  if (database.kind === "mariadb") {
    const { createPool } = await import("mysql2/promise")
    const pool = createPool({ uri: database.url, connectionLimit: 10 })
    return { db: pool, close: () => pool.end() }
  }
  const { openSqlite } = await import("../harness/sqlite.js")
  const db = openSqlite(database.url)
  return { db, close: async () => void db.close() }
}

/**
 * The "better-auth" mode's instance, on the fixture's pg Pool (or its own database), initialised before
 * "ready" (its genericOAuth plugin fetches the provider's discovery document at init, as a server does when
 * it starts).
 */
async function betterAuthOf(pool: BetterAuthTestDatabase | undefined) {
  if (config.mode !== "better-auth") return undefined
  if (!pool || !config.betterAuth) throw new Error("the better-auth mode needs a database and its settings")
  const { createBetterAuth } = await import("./better-auth-app.js")
  const { secret, baseURL, tokenSync, userId, accountId } = config.betterAuth
  const auth = createBetterAuth(pool, config.provider, { secret, baseURL, ...(tokenSync ? { tokenSync } : {}) })
  await auth.$context
  return { auth, account: { userId, accountId } }
}

await runBarrierWorker(
  async () => {
    const own = await betterAuthDatabase()
    if (own) {
      const betterAuth = await betterAuthOf(own.db)
      const fixture = { pool: undefined, close: own.close }
      return { fixture, adapter: undefined, betterAuth }
    }
    const fixture = await workerFixture()
    const { id, issuer, clientId, clientSecret } = config.provider
    const adapter = withTokenSync(fixture.adapter, fixture.db as object, {
      ...(config.encryptionKeys ? { codec: tokenEncryption({ keys: config.encryptionKeys }) } : {}),
      refresh: {
        providers: [{ id, type: "oidc", issuer, clientId, clientSecret }],
        skewSeconds: config.skewSeconds,
        minRefreshIntervalSeconds: 0,
        ...(config.coordination ? { coordination: config.coordination } : {}),
      },
    })
    // Open pool connections before the burst, so it measures the operations, not connecting.
    if (fixture.pool) await Promise.all(Array.from({ length: 5 }, () => fixture.pool!.query("SELECT 1")))
    return { fixture, adapter, betterAuth: await betterAuthOf(fixture.pool) }
  },
  ({ fixture, adapter, betterAuth }) => {
    const go = performance.now()
    const key = { provider: config.provider.id, providerAccountId: config.providerAccountId }
    return Promise.all(
      Array.from({ length: config.callers }, async (): Promise<StormOutcome> => {
        try {
          if (config.mode === "naive") {
            if (!fixture.pool || !config.cell) throw new Error("the naive mode runs on the PostgreSQL cells only")
            const token = await naiveGetAccessToken(fixture.pool, config.cell, config.provider, key, config.skewSeconds)
            return { ok: true, tokenFingerprint: fingerprint(token), latencyMs: performance.now() - go }
          }
          if (betterAuth) {
            const { accountId, userId } = betterAuth.account
            const result = await betterAuth.auth.api.getAccessToken({ body: { accountId, userId } })
            return { ok: true, tokenFingerprint: fingerprint(result.accessToken), latencyMs: performance.now() - go }
          }
          if (!adapter) throw new Error("storm worker: no adapter in this mode")
          const result = await adapter.getAccessToken({
            userId: config.userId,
            provider: config.provider.id,
            providerAccountId: config.providerAccountId,
            ...(config.refusedAccessToken ? { refusedAccessToken: config.refusedAccessToken } : {}),
          })
          return {
            ok: true,
            tokenFingerprint: fingerprint(result.accessToken),
            refreshed: result.refreshed,
            latencyMs: performance.now() - go,
          }
        } catch (error) {
          // Better Auth's APIError carries its code in `body.code`.
          const code =
            (error as { code?: unknown } | null)?.code ??
            (error as { oauthError?: unknown } | null)?.oauthError ??
            (error as { body?: { code?: unknown } } | null)?.body?.code
          return { ok: false, error: errorLabel(error, code), latencyMs: performance.now() - go }
        }
      }),
    )
  },
  ({ fixture }) => fixture.close(),
)
