/**
 * The scopes a getAccessToken caller needs, checked against a grant's scope (policy/scopes.ts): on the stored
 * scope before any refresh (a refresh cannot widen a grant, RFC 6749 §6), on a refresh answer's after it. A
 * lack is published as a reauth event and thrown as `InsufficientScopeError`. Tested without a database.
 */
import { InsufficientScopeError } from "../errors.js"
import { missingScopes, requiredScopesOf, type ScopeDialect } from "../policy/scopes.js"
import type { AccountRef } from "./engine-types.js"
import type { ReauthMemory } from "./reauth-memory.js"

/** Throws InsufficientScopeError when the scope given lacks a required one (and publishes the reauth event). */
export type ScopeCheck = (account: AccountRef, storedScope: unknown, source: "stored" | "refresh") => void

/**
 * The check of the scopes a caller asks for (`scopes`, as `GetAccessTokenParams.scopes` takes them) at
 * `provider`, read in its scope dialect; undefined when none is asked for.
 */
export function scopeCheckOf(
  reauth: Pick<ReauthMemory, "reportReauth">,
  provider: string,
  scopes: readonly string[] | string | undefined,
  dialect: ScopeDialect | undefined,
): ScopeCheck | undefined {
  const required = requiredScopesOf(scopes)
  if (required.length === 0) return undefined
  return (account, storedScope, source) => {
    const missing = missingScopes(required, storedScope, dialect)
    if (!missing?.length) return
    reauth.reportReauth(provider, account, { reason: "scopes_missing", missingScopes: missing, scopeSource: source })
    throw new InsufficientScopeError(provider, missing, source)
  }
}
