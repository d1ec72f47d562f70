/** What the home page shows: shortened tokens (never a whole value), the expiry, and its style and script. */

/** The first 6 characters and the length: enough to tell tokens apart, useless to an attacker. */
export function shorten(token: string | null | undefined): string {
  if (!token) return "(none)"
  return `${token.slice(0, 6)}… (${token.length} chars)`
}

export function describeExpiry(expiresAt: Date | null, now = Date.now()): string {
  if (expiresAt === null) return "(no expiry stored)"
  const seconds = Math.round((expiresAt.getTime() - now) / 1000)
  const when = expiresAt.toISOString()
  return seconds >= 0 ? `${when} (in ${seconds} s)` : `${when} (expired ${-seconds} s ago)`
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/**
 * The "10 parallel calls" button: ten fetches of /api/userinfo at once; the statuses go into #storm-result
 * (text, and `data-statuses` as JSON for the browser test), and the account table is shown again as it is
 * now. `no-store`: else Chromium's HTTP cache holds identical GETs back until the first one has answered, and
 * the calls would not overlap.
 */
export const STORM_SCRIPT = `document.getElementById("storm").addEventListener("click", async () => {
  const out = document.getElementById("storm-result")
  out.textContent = "calling..."
  const call = () => fetch("/api/userinfo", { cache: "no-store" }).then(async (r) => {
    const body = await r.json().catch(() => ({}))
    return r.status + " " + (body.error || (body.userinfo && body.userinfo.error) || "ok")
  }, () => "network error")
  const statuses = await Promise.all(Array.from({ length: 10 }, call))
  // The account's row as it is now (the table re-read from the home page).
  const home = await fetch("/", { cache: "no-store" }).then((r) => r.text(), () => "")
  const fresh = new DOMParser().parseFromString(home, "text/html").getElementById("account")
  if (fresh) document.getElementById("account").replaceWith(fresh)
  out.dataset.statuses = JSON.stringify(statuses.map((s) => Number(s.split(" ")[0]) || 0))
  out.textContent = statuses.join("\\n")
})`

export const PAGE_STYLE =
  "body{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem}table{border-collapse:collapse;margin:1rem 0}" +
  "td,th{border:1px solid #ccc;padding:.35rem .6rem;text-align:left;font-size:.9rem}th{background:#f3f3f3}" +
  ".mode{display:inline-block;padding:.2rem .5rem;border-radius:.3rem;background:#e7f5e7}" +
  ".mode.control{background:#fbe3e3}a.button,button{display:inline-block;margin:0 .6rem .6rem 0;padding:.4rem .8rem;" +
  "border:1px solid #888;border-radius:.3rem;background:#fafafa;color:#000;text-decoration:none;font-size:.9rem}"
