/**
 * getAccessToken through this process's token cache (`refresh.cache`): a hit answers only the question it was
 * stored for and only while fresh; a refused token always goes to the database; only what the database holds
 * is shared, under the user id as the database spells it; each caller gets its own copy. The scope check runs
 * on a hit and after a resolve, once the cache took the result. Tested on the real cache without a database.
 */
import { accountIdOf, TokenCache } from "../cache/token-cache.js"
import type { AccessTokenResult } from "./engine-types.js"
import type { ServedAccessToken } from "./access-token-events.js"
import type { ScopeCheck } from "./scope-check.js"

/** The question a cached answer must match, and whether it names a refused token. */
export interface AccessTokenQuestion {
  userId: string
  provider: string
  providerAccountId?: string | undefined
  refusedAccessToken?: string | undefined
}

/** The cache holds and hands out copies: a caller changing its result must not change another caller's. */
const copyOf = (result: AccessTokenResult, refreshed = result.refreshed): AccessTokenResult => ({
  ...result,
  account: { ...result.account },
  refreshed,
})

/**
 * Answers `question` from `cache` when a fresh entry (`fresh`) answers it, else by `resolve`, whose result the
 * cache keeps when it may. Without a cache, `resolve` alone. `scopeCheck` throws after the cache decided.
 */
export async function throughCache(
  cache: TokenCache<AccessTokenResult> | undefined,
  question: AccessTokenQuestion,
  fresh: (result: AccessTokenResult) => boolean,
  resolve: () => Promise<AccessTokenResult>,
  scopeCheck: ScopeCheck | undefined,
): Promise<ServedAccessToken> {
  const { userId, provider, providerAccountId } = question
  const checked = (result: AccessTokenResult): ServedAccessToken => {
    scopeCheck?.(result.account, result.account.scope, result.refreshed ? "refresh" : "stored")
    return { result, cached: false }
  }
  if (!cache) return checked(await resolve())

  const cacheKey = TokenCache.keyOf(userId, provider, providerAccountId)
  // A hit answers only the question it was stored for: this user's account at this provider.
  const answers = (result: AccessTokenResult): boolean =>
    String(result.account.userId) === userId &&
    result.account.provider === provider &&
    (providerAccountId === undefined || result.account.providerAccountId === providerAccountId)
  // A refused token is checked against the database, never against what this process cached.
  const hit =
    question.refusedAccessToken === undefined
      ? cache.get(cacheKey, (result) => answers(result) && fresh(result))
      : undefined
  if (hit) {
    scopeCheck?.(hit.account, hit.account.scope, "stored")
    return { result: copyOf(hit, false), cached: true }
  }
  // The ticket is taken before the read: an invalidation arriving during it voids the result.
  const ticket = cache.beginRead(userId)
  let result: AccessTokenResult
  try {
    result = await resolve()
  } catch (error) {
    cache.endRead(ticket)
    throw error
  }
  // Only what the database holds is shared: never tokens kept in memory after a refused write. And only
  // under the user id as the database stores it ("7", not "007"; a uuid in lower case): the trigger's
  // NOTIFY and every invalidation name that form, so an entry under another spelling would go unheard.
  if (result.persistError === undefined && answers(result)) {
    cache.put(ticket, cacheKey, accountIdOf(result.account.provider, result.account.providerAccountId), copyOf(result))
  } else {
    cache.endRead(ticket)
  }
  // After the cache took the result: the tokens are valid for other callers, only not for these scopes.
  return checked(result)
}
