/**
 * Type test, checked by `pnpm typecheck` (tsc, strict): the README's `refresh.revocation` lines compile as
 * written, with a built-in provider (discovered endpoint) and a generic OAuth provider object (configured
 * endpoint), and a `RevocationEvent` subscriber reads its fields without casts beyond the channel's `unknown`.
 */
// README: Revoking tokens when an account leaves
import diagnostics from "node:diagnostics_channel"
import Google from "@auth/core/providers/google"
import PostgresAdapter from "@auth/pg-adapter"
import type pg from "pg"
import { TOKEN_SYNC_CHANNELS, withTokenSync, type RevocationEvent } from "authjs-adapter-refresh"

declare const pool: pg.Pool
declare const clientId: string
declare const clientSecret: string
declare const providerAccountId: string
const google = Google({ clientId, clientSecret })
const acme = {
  id: "acme",
  type: "oauth" as const,
  token: "https://auth.acme.example/oauth/token",
  clientId,
  clientSecret,
}

const adapter = withTokenSync(PostgresAdapter(pool), pool, {
  refresh: {
    providers: [google, acme], // the provider objects you give Auth.js
    revocation: {
      providers: [
        "google", // the issuer's discovered revocation_endpoint
        { id: "acme", endpoint: "https://auth.acme.example/oauth/revoke" }, // or a configured one
      ],
      timeoutMs: 5_000, // the default
    },
  },
})
await adapter.unlinkAccount?.({ provider: "google", providerAccountId }) // deletes, then revokes

diagnostics.subscribe(TOKEN_SYNC_CHANNELS.revocation, (message) => {
  const event = message as RevocationEvent
  if (event.outcome === "failed") console.warn(event.provider, event.trigger, event.reason, event.sent)
})
