/**
 * One OS process of the background-refresh test: builds its fixture and adapter, waits for the common
 * "go", then either runs `refreshExpiring` once ("background") or asks `getAccessToken` for every given
 * account at once ("access-token"), and reports what it did (counts and fingerprints, never tokens).
 */
import { createHash } from "node:crypto"
import { withTokenSync, type RefreshExpiringProgress } from "authjs-adapter-refresh"
import { createFixture, type PgCell } from "../fixtures/databases.js"
import { errorLabel, runBarrierWorker } from "../kit/barrier-worker.js"
import type { StormProviderSettings } from "./storm-protocol.js"

export interface BackgroundWorkerConfig {
  cell: PgCell
  databaseUrl: string
  provider: StormProviderSettings
  mode: "background" | "access-token"
  /** The refresh window of both modes (refreshExpiring's withinSeconds, getAccessToken's skewSeconds). */
  withinSeconds: number
  /** For "background": keep-alive mode (refreshExpiring's unusedForSeconds) instead of withinSeconds. */
  unusedForSeconds?: number
  /** For "access-token": the accounts to ask for. */
  accounts: { userId: string; providerAccountId: string }[]
}

export interface BackgroundOutcome {
  ok: boolean
  /** "background": its counts. */
  progress?: RefreshExpiringProgress
  /** "access-token": which account, whether this call refreshed, the token's SHA-256 prefix. */
  providerAccountId?: string
  refreshed?: boolean
  tokenFingerprint?: string
  error?: string
}

const fingerprint = (token: string): string => createHash("sha256").update(token).digest("hex").slice(0, 16)
const config = JSON.parse(process.argv[2] ?? "{}") as BackgroundWorkerConfig

await runBarrierWorker(
  async () => {
    const fixture = await createFixture(config.cell, config.databaseUrl)
    const { id, issuer, clientId, clientSecret } = config.provider
    const adapter = withTokenSync(fixture.adapter, fixture.db as object, {
      refresh: {
        providers: [{ id, type: "oidc", issuer, clientId, clientSecret }],
        skewSeconds: config.withinSeconds,
        minRefreshIntervalSeconds: 0,
      },
    })
    await Promise.all(Array.from({ length: 5 }, () => fixture.pool.query("SELECT 1")))
    return { fixture, adapter }
  },
  async ({ adapter }): Promise<BackgroundOutcome[]> => {
    if (config.mode === "background") {
      try {
        const due =
          config.unusedForSeconds === undefined
            ? { withinSeconds: config.withinSeconds }
            : { unusedForSeconds: config.unusedForSeconds }
        return [
          {
            ok: true,
            progress: await adapter.refreshExpiring({ ...due, batchSize: 5, concurrency: 3, tryLockMs: 50 }),
          },
        ]
      } catch (error) {
        return [{ ok: false, error: errorLabel(error) }]
      }
    }
    return Promise.all(
      config.accounts.map(async ({ userId, providerAccountId }): Promise<BackgroundOutcome> => {
        try {
          const result = await adapter.getAccessToken({ userId, provider: config.provider.id, providerAccountId })
          return {
            ok: true,
            providerAccountId,
            refreshed: result.refreshed,
            tokenFingerprint: fingerprint(result.accessToken),
          }
        } catch (error) {
          return { ok: false, providerAccountId, error: errorLabel(error) }
        }
      }),
    )
  },
  ({ fixture }) => fixture.close(),
)
