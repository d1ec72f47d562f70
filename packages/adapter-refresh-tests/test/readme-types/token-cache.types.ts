/**
 * Type test, checked by `pnpm typecheck` (tsc, strict): the README's token cache lines compile as written,
 * a node-postgres Pool is accepted as `pgNotifyInvalidation`'s pool, and `adapter.events` (with
 * `signOut`) still fits @auth/core's `events`. No casts.
 */
// README: Zero round trips for a fresh token
import type { AuthConfig } from "@auth/core"
import Google from "@auth/core/providers/google"
import PostgresAdapter from "@auth/pg-adapter"
import pg from "pg"
import { pgNotifyInvalidation, pgNotifyTriggerSql, withTokenSync } from "authjs-adapter-refresh"

declare const pool: pg.Pool
declare const connectionString: string
declare const clientId: string
declare const clientSecret: string
const google = Google({ clientId, clientSecret })

await pool.query(pgNotifyTriggerSql({ accountsTable: "accounts", sessionsTable: "sessions" }))

const adapter = withTokenSync(PostgresAdapter(pool), pool, {
  refresh: {
    providers: [google], // the provider objects you give Auth.js
    cache: {
      invalidation: pgNotifyInvalidation({
        pool: new pg.Pool({ connectionString, max: 1 }),
        notifyPool: pool,
        accountsTable: "accounts",
        sessionsTable: "sessions",
      }),
    },
  },
})
await adapter.tokenCache!.ready()
await adapter.tokenCache!.close()

// Without a channel.
withTokenSync(PostgresAdapter(pool), pool, { refresh: { providers: [google], cache: { maxAgeMs: 1000 } } })

export const config: AuthConfig = { adapter, events: adapter.events, providers: [google] }
