/**
 * Tells a storm that outlasted its token from a double refresh. One refresh per expiry means a second grant
 * within one storm is a fault unless the token the first grant issued had itself expired when the second was
 * sent: then the storm simply lasted longer than the token's lifetime (a loaded machine), and the second grant
 * is the next expiry's. With a rotating provider, a real double refresh also shows as a refused refresh token;
 * this check is the stricter of the two, judged on the provider's own record of what it issued.
 */
import type { IssuedToken } from "../harness/oidc-provider.js"

/**
 * `true` when the storm's grants number more than one and each grant after the first was issued at or after
 * the expiry of the access token the grant before it issued (so each answered an expiry of its own).
 * `grants` are the access tokens the storm's refresh grants issued, in order.
 */
export function stormOutlastedItsToken(grants: readonly IssuedToken[]): boolean {
  if (grants.length < 2) return false
  return grants.slice(1).every((grant, i) => {
    const replacedExpiresAt = grants[i]?.expiresAt
    return replacedExpiresAt !== undefined && grant.issuedAt >= replacedExpiresAt * 1000
  })
}
