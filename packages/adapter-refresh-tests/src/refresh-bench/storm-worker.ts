/**
 * One OS process of a refresh storm: builds its fixture and adapter, waits for the common "go"
 * (runBarrierWorker), then fires `callers` concurrent getAccessToken calls (or the naive refresh) and
 * reports each outcome.
 */
import { createHash } from "node:crypto"
import { tokenEncryption, withTokenSync } from "authjs-adapter-refresh"
import { createFixture } from "../fixtures/databases.js"
import type { ConformanceFixtureModule } from "../kit/fixture.js"
import { errorLabel, runBarrierWorker } from "../kit/barrier-worker.js"
import { naiveGetAccessToken } from "./naive-refresh.js"
import type { StormOutcome, StormWorkerConfig } from "./storm-protocol.js"

const fingerprint = (token: string): string => createHash("sha256").update(token).digest("hex").slice(0, 16)
const config = JSON.parse(process.argv[2] ?? "{}") as StormWorkerConfig

/** The process's fixture: a PostgreSQL flavour's (with its pg Pool) or a conformance fixture module's. */
async function workerFixture() {
  if (config.fixtureModule) {
    const module = (await import(config.fixtureModule)) as ConformanceFixtureModule
    const fixture = await module.createFixture(config.databaseUrl)
    return { adapter: fixture.adapter, db: fixture.db, pool: undefined, close: () => fixture.close() }
  }
  if (!config.flavour) throw new Error("storm worker: neither flavour nor fixtureModule given")
  return createFixture(config.flavour, config.databaseUrl)
}

await runBarrierWorker(
  async () => {
    const fixture = await workerFixture()
    const { id, issuer, clientId, clientSecret } = config.provider
    const adapter = withTokenSync(fixture.adapter, fixture.db as object, {
      ...(config.encryptionKeys ? { codec: tokenEncryption({ keys: config.encryptionKeys }) } : {}),
      refresh: { providers: [{ id, type: "oidc", issuer, clientId, clientSecret }], skewSeconds: config.skewSeconds, minRefreshIntervalSeconds: 0 },
    })
    // Open pool connections before the burst, so it measures the operations, not connecting.
    if (fixture.pool) await Promise.all(Array.from({ length: 5 }, () => fixture.pool!.query("SELECT 1")))
    return { fixture, adapter }
  },
  ({ fixture, adapter }) => {
    const go = performance.now()
    const key = { provider: config.provider.id, providerAccountId: config.providerAccountId }
    return Promise.all(
      Array.from({ length: config.callers }, async (): Promise<StormOutcome> => {
        try {
          if (config.mode === "naive") {
            if (!fixture.pool || !config.flavour) throw new Error("the naive mode runs on the PostgreSQL flavours only")
            const token = await naiveGetAccessToken(fixture.pool, config.flavour, config.provider, key, config.skewSeconds)
            return { ok: true, tokenFingerprint: fingerprint(token), latencyMs: performance.now() - go }
          }
          const result = await adapter.getAccessToken({ userId: config.userId, provider: config.provider.id, providerAccountId: config.providerAccountId })
          return { ok: true, tokenFingerprint: fingerprint(result.accessToken), refreshed: result.refreshed, latencyMs: performance.now() - go }
        } catch (error) {
          const code = (error as { code?: unknown } | null)?.code ?? (error as { oauthError?: unknown } | null)?.oauthError
          return { ok: false, error: errorLabel(error, code), latencyMs: performance.now() - go }
        }
      }),
    )
  },
  ({ fixture }) => fixture.close(),
)
