/**
 * What the example's page shows about the signed-in user's accounts: shortened tokens (never a whole
 * value), the stored expiry, and this process's last refresh and last userinfo call.
 */

export interface StoredAccount {
  provider: string
  providerAccountId: string
  access_token: string | null
  refresh_token: string | null
  expires_at: number | null
}

export interface AccountActivity {
  lastRefreshAt?: Date
  lastUserinfo?: { status: number; at: Date }
}

/** Per account key, since this process started. */
export const activity = new Map<string, AccountActivity>()

export const accountKey = (provider: string, providerAccountId: string): string =>
  `${provider}\u0000${providerAccountId}`

export function recordActivity(provider: string, providerAccountId: string, update: AccountActivity): void {
  const key = accountKey(provider, providerAccountId)
  activity.set(key, { ...activity.get(key), ...update })
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

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

export function accountRows(accounts: StoredAccount[]): string {
  return accounts
    .map((account) => {
      const seen = activity.get(accountKey(account.provider, account.providerAccountId)) ?? {}
      const cells = [
        account.provider,
        account.providerAccountId,
        shorten(account.access_token),
        shorten(account.refresh_token),
        describeExpiry(account.expires_at === null ? null : Number(account.expires_at)),
        seen.lastRefreshAt ? seen.lastRefreshAt.toISOString() : "none since the server started",
        seen.lastUserinfo ? `${seen.lastUserinfo.status} at ${seen.lastUserinfo.at.toISOString()}` : "not called yet",
      ]
      const ids = [
        "provider",
        "account-id",
        "access-token",
        "refresh-token",
        "expires-at",
        "last-refresh",
        "last-userinfo",
      ]
      return `<tr>${cells.map((cell, i) => `<td class="${ids[i]}">${escapeHtml(cell)}</td>`).join("")}</tr>`
    })
    .join("\n")
}

export const ACCOUNT_TABLE_HEAD =
  "<tr><th>provider</th><th>account</th><th>access token</th><th>refresh " +
  "token</th><th>expires</th><th>last refresh</th><th>last userinfo call</th></tr>"

export const PAGE_STYLE =
  "body{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem}table{border-collapse:collapse;margin:1rem 0}" +
  "td,th{border:1px solid #ccc;padding:.35rem .6rem;text-align:left;font-size:.9rem}th{background:#f3f3f3}" +
  ".mode{display:inline-block;padding:.2rem " +
  ".5rem;border-radius:.3rem;background:#e7f5e7}.mode.control{background:#fbe3e3}" +
  "a.button,button{display:inline-block;margin-right:.6rem;padding:.4rem .8rem;border:1px solid " +
  "#888;border-radius:.3rem;background:#fafafa;color:#000;text-decoration:none;font-size:.9rem}"
