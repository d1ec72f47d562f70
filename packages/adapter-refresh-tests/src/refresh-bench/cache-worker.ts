/**
 * One OS process with the token cache on (pg store, `pgNotifyInvalidation` on its own pool), driven over
 * IPC by the cross-process cache tests and `pnpm bench --only=cache`. Token values never leave it: only
 * their fingerprints, so a failing assertion cannot print a token.
 */
import { createHash } from "node:crypto"
import pg from "pg"
import { pgNotifyInvalidation, withTokenSync } from "authjs-adapter-refresh"
import { createFixture } from "../fixtures/databases.js"
import type { CacheWorkerConfig, CacheWorkerReply, CacheWorkerRequest } from "./cache-protocol.js"

const fingerprint = (token: string): string => createHash("sha256").update(token).digest("hex").slice(0, 16)
const config = JSON.parse(process.argv[2] ?? "{}") as CacheWorkerConfig
const now = () => performance.timeOrigin + performance.now()
const reply = (message: CacheWorkerReply) => process.send?.(message)

const fixture = await createFixture("pg", config.databaseUrl)
const listenPool = new pg.Pool({
  connectionString: config.databaseUrl,
  max: 1,
  application_name: "token-cache-listener",
})
const { id, issuer, clientId, clientSecret } = config.provider
const adapter = withTokenSync(fixture.adapter, fixture.db as object, {
  refresh: {
    providers: [{ id, type: "oidc", issuer, clientId, clientSecret }],
    skewSeconds: config.skewSeconds,
    minRefreshIntervalSeconds: 0,
    cache: {
      ...(config.maxAgeMs ? { maxAgeMs: config.maxAgeMs } : {}),
      ...(config.invalidation
        ? {
            invalidation: pgNotifyInvalidation({
              pool: listenPool,
              // The heartbeat's NOTIFY comes from the app's pool, as a real write would.
              notifyPool: fixture.pool,
              accountsTable: "accounts",
              sessionsTable: "sessions",
            }),
          }
        : {}),
    },
  },
})
const ask = { userId: config.userId, provider: id }

async function get(): Promise<{ fingerprint?: string; error?: string; refreshed?: boolean }> {
  try {
    const result = await adapter.getAccessToken(ask)
    return { fingerprint: fingerprint(result.accessToken), refreshed: result.refreshed }
  } catch (error) {
    return { error: error instanceof Error ? error.name : typeof error }
  }
}

const handle = async (request: CacheWorkerRequest) => {
  try {
    switch (request.type) {
      case "ready":
        await adapter.tokenCache!.ready(request.timeoutMs)
        return reply({ type: "ok", seq: request.seq })
      case "get": {
        const hits = adapter.tokenCache!.stats().hits
        const answer = await get()
        const stats = adapter.tokenCache!.stats()
        return reply({ type: "got", seq: request.seq, ...answer, cached: stats.hits > hits, stats })
      }
      case "watch": {
        // Asks back to back until the answer differs from `from`; the time of the first different answer.
        const deadline = now() + request.timeoutMs
        let calls = 0
        for (;;) {
          const answer = await get()
          calls++
          const label = answer.fingerprint ?? `error:${answer.error}`
          if (label !== request.from)
            return reply({
              type: "changed",
              seq: request.seq,
              label,
              at: now(),
              calls,
              stats: adapter.tokenCache!.stats(),
            })
          if (now() > deadline)
            return reply({ type: "unchanged", seq: request.seq, calls, stats: adapter.tokenCache!.stats() })
          await new Promise((resolve) => setImmediate(resolve))
        }
      }
      case "stop":
        await adapter.tokenCache!.close()
        await listenPool.end()
        await fixture.close()
        reply({ type: "ok", seq: request.seq })
        return process.disconnect()
    }
  } catch (error) {
    reply({
      type: "failed",
      seq: request.seq,
      reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    })
  }
}
// handle() answers its own failures; if even that answer fails, the parent sees this process exit instead.
process.on("message", (request: CacheWorkerRequest) => void handle(request).catch(() => process.exit(1)))
reply({ type: "started" })
