/**
 * What the page shows about the signed-in user's accounts: shortened tokens (never a whole value), the
 * stored expiry, and this server process's last refresh and last userinfo call.
 */

export interface AccountActivity {
  lastRefreshAt?: string
  lastUserinfo?: { status: number; at: string }
}

const globalForActivity = globalThis as typeof globalThis & { exampleActivity?: Map<string, AccountActivity> }
/** Per account key, since this process started (shared by the page and the API routes). */
const activity = (globalForActivity.exampleActivity ??= new Map())

const key = (provider: string, providerAccountId: string): string => `${provider}\u0000${providerAccountId}`

export function recordActivity(provider: string, providerAccountId: string, update: AccountActivity): void {
  activity.set(key(provider, providerAccountId), { ...activity.get(key(provider, providerAccountId)), ...update })
}

export function activityOf(provider: string, providerAccountId: string): AccountActivity {
  return activity.get(key(provider, providerAccountId)) ?? {}
}

/** The first 6 characters and the length: enough to tell tokens apart, useless to an attacker. */
export function shorten(token: string | null | undefined): string {
  if (!token) return "(none)"
  return `${token.slice(0, 6)}… (${token.length} chars)`
}

export function describeExpiry(expiresAt: number | null, now = Date.now()): string {
  if (expiresAt === null) return "(no expiry stored)"
  const seconds = Math.round(expiresAt - now / 1000)
  const when = new Date(expiresAt * 1000).toISOString()
  return seconds >= 0 ? `${when} (in ${seconds} s)` : `${when} (expired ${-seconds} s ago)`
}
