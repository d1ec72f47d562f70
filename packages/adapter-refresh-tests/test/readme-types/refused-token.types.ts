/**
 * Type test, checked by `pnpm typecheck` (tsc, strict): the README's refused-token lines compile as written,
 * and an `AccessTokenRefusedError` handler reads `retryAfterMs` and `reason` without casts.
 */
// README: A token the API refused
import Google from "@auth/core/providers/google"
import PostgresAdapter from "@auth/pg-adapter"
import type pg from "pg"
import { AccessTokenRefusedError, fetchWithAccessToken, withTokenSync } from "authjs-adapter-refresh"

declare const pool: pg.Pool
declare const clientId: string
declare const clientSecret: string
declare const userId: string
declare const url: string
const adapter = withTokenSync(PostgresAdapter(pool), pool, {
  refresh: { providers: [Google({ clientId, clientSecret })], refusedTokenIntervalSeconds: 30 },
})

const { accessToken } = await adapter.getAccessToken({ userId, provider: "google" })
let response = await fetch(url, { headers: { authorization: `Bearer ${accessToken}` } })
if (response.status === 401) {
  const next = await adapter.getAccessToken({ userId, provider: "google", refusedAccessToken: accessToken })
  response = await fetch(url, { headers: { authorization: `Bearer ${next.accessToken}` } })
}
console.log(response.status)

// The same, in one call (RFC 6750 §3.1): refresh and retry once on invalid_token.
try {
  const answer: Response = await fetchWithAccessToken(adapter, { userId, provider: "google" }, url)
  void answer
} catch (e) {
  if (!(e instanceof AccessTokenRefusedError)) throw e
  const wait: number = e.retryAfterMs
  const reason: "interval" | "reissued" = e.reason
  void [wait, reason]
}
