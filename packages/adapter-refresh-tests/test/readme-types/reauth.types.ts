/**
 * Type test, checked by `pnpm typecheck` (tsc, strict): the README's reauth subscriber ("When the user must
 * sign in again") compiles as written, and a `switch` over `ReauthReason` is exhaustive with the reasons the
 * README lists (a reason added without the README, or the README's without the type, fails here).
 */
// README: When the user must sign in again
import diagnostics from "node:diagnostics_channel"
import { TOKEN_SYNC_CHANNELS, type ReauthEvent, type ReauthReason } from "authjs-adapter-refresh"

declare function queueSignInAgainNotice(userId: string, provider: string, reason: ReauthReason): Promise<void>

diagnostics.subscribe(TOKEN_SYNC_CHANNELS.reauth, (message) => {
  const e = message as ReauthEvent
  if (e.reason !== "scopes_missing") void queueSignInAgainNotice(e.userId, e.provider, e.reason) // your own code
})

export function describeReason(event: ReauthEvent): string {
  switch (event.reason) {
    case "refresh_token_refused":
      return `refused: ${event.oauthError ?? "?"}`
    case "marked":
      return "marked by another process"
    case "scopes_missing":
      return `missing ${(event.missingScopes ?? []).join(" ")} (${event.scopeSource ?? "?"})`
    case "revoked":
      return "unlinked and revoked"
    case "refresh_token_expired":
      return "refresh token expired"
    default: {
      const unknown: never = event.reason
      return unknown
    }
  }
}

// README: Listing them: accountsNeedingReauth (the job's lines as written).
import { PrismaAdapter } from "@auth/prisma-adapter"
import { withTokenSync, type AccountKey } from "authjs-adapter-refresh"
import type { PrismaClient } from "../../generated/prisma/client"

declare const prisma: PrismaClient
declare function sendSignInAgainEmail(userId: string, provider: string, reason: string): Promise<void>
const adapter = withTokenSync(PrismaAdapter(prisma), prisma, {
  refresh: { providers: [], reauthColumn: "refresh_error" },
})

export async function nightlyJob(): Promise<void> {
  let after: AccountKey | null = null
  do {
    const page = await adapter.accountsNeedingReauth({ after, limit: 200 }) // or { provider: "google", ... }
    // sendSignInAgainEmail: your own code
    for (const { userId, provider, reason } of page.accounts) await sendSignInAgainEmail(userId, provider, reason)
    after = page.next
  } while (after)
}
