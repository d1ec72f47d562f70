/**
 * One OS process of a refresh storm: builds its fixture and adapter, reports "ready", waits for "go" on
 * stdin, then fires `callers` concurrent getAccessToken calls (or the naive refresh) and reports each outcome.
 */
import { createHash } from "node:crypto"
import { createInterface } from "node:readline"
import { withTokenSync } from "authjs-adapter-refresh"
import { createFixture } from "../fixtures/databases.js"
import { naiveGetAccessToken } from "./naive-refresh.js"
import type { StormMessage, StormOutcome, StormWorkerConfig } from "./storm-protocol.js"

const send = (message: StormMessage): void => {
  process.stdout.write(`${JSON.stringify(message)}\n`)
}
const fingerprint = (token: string): string => createHash("sha256").update(token).digest("hex").slice(0, 16)

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "{}") as StormWorkerConfig
  const fixture = await createFixture(config.flavour, config.databaseUrl)
  const adapter = withTokenSync(fixture.adapter, fixture.db as object, {
    refresh: {
      providers: [{ id: config.provider.id, type: "oidc", issuer: config.provider.issuer, clientId: config.provider.clientId, clientSecret: config.provider.clientSecret }],
      skewSeconds: config.skewSeconds,
    },
  })
  const key = { provider: config.provider.id, providerAccountId: config.providerAccountId }
  // Open pool connections before the burst, so it measures the operations, not connecting.
  await Promise.all(Array.from({ length: 5 }, () => fixture.pool.query("SELECT 1")))
  send({ type: "ready", pid: process.pid })
  const lines = createInterface({ input: process.stdin })
  await new Promise<void>((resolve) => lines.once("line", () => resolve()))

  const go = performance.now()
  const outcomes = await Promise.all(
    Array.from({ length: config.callers }, async (): Promise<StormOutcome> => {
      try {
        if (config.mode === "naive") {
          const token = await naiveGetAccessToken(fixture.pool, config.flavour, config.provider, key, config.skewSeconds)
          return { ok: true, tokenFingerprint: fingerprint(token), latencyMs: performance.now() - go }
        }
        const result = await adapter.getAccessToken({ userId: config.userId, provider: config.provider.id, providerAccountId: config.providerAccountId })
        return { ok: true, tokenFingerprint: fingerprint(result.accessToken), refreshed: result.refreshed, latencyMs: performance.now() - go }
      } catch (error) {
        const name = error instanceof Error ? error.name : typeof error
        const code = (error as { code?: unknown } | null)?.code ?? (error as { oauthError?: unknown } | null)?.oauthError
        return { ok: false, error: code === undefined ? name : `${name} ${String(code)}`, latencyMs: performance.now() - go }
      }
    }),
  )
  send({ type: "done", pid: process.pid, outcomes })
  lines.close()
  await fixture.close()
}

main().catch((error: unknown) => {
  send({ type: "failed", pid: process.pid, reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error) })
  process.exitCode = 1
})
