/**
 * What the page shows about the signed-in user's accounts besides the stored row: shortened tokens (never a
 * whole value), the expiry, and this server process's last refresh and last userinfo call.
 */

export interface AccountActivity {
  lastRefreshAt?: Date
  lastUserinfo?: { status: number; at: Date }
}

// On globalThis: the page and the route handlers are separate bundles, each with its own copy of this module.
const cache = globalThis as typeof globalThis & { exampleActivity?: Map<string, AccountActivity> }
const activity = (cache.exampleActivity ??= new Map<string, AccountActivity>())

const accountKey = (provider: string, providerAccountId: string): string => `${provider}\u0000${providerAccountId}`

export function recordActivity(provider: string, providerAccountId: string, update: AccountActivity): void {
  const key = accountKey(provider, providerAccountId)
  activity.set(key, { ...activity.get(key), ...update })
}

export function activityOf(provider: string, providerAccountId: string): AccountActivity {
  return activity.get(accountKey(provider, providerAccountId)) ?? {}
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
