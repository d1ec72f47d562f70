/**
 * `tokenSync()`: a Better Auth plugin that replaces Better Auth's `getAccessToken` and `refreshToken` (the
 * server API `auth.api.*` and the HTTP endpoints `/get-access-token`, `/refresh-token`: a plugin endpoint
 * under the same key takes the core one's place in both) with the library's refresh engine over Better
 * Auth's own `account` table (./store.ts), in lease mode.
 *
 * Who may ask stays Better Auth's rule: with a request or headers, the session's user and no one else (no
 * session: 401); on the server without headers, the body's `userId`. The account is then looked up among
 * that user's own accounts by its id, so one user's call never reaches another user's row.
 */
import { APIError, createAuthEndpoint, getSessionFromCtx, isStateful } from "better-auth/api"
import { getAccountCookie, setAccountCookie } from "better-auth/cookies"
import type { Account, BetterAuthPlugin, StandardSchemaV1 } from "better-auth"
import { createAccountSync } from "../account-sync.js"
import { asText, invalidatingSync } from "../cache/local-invalidation.js"
import {
  accountIdOf,
  checkTokenCacheOptions,
  startTokenCache,
  type TokenCache,
  type TokenCacheHandle,
} from "../cache/token-cache.js"
import type { TokenCodec } from "../codec.js"
import { AccessTokenRefusedError, TokenSyncError } from "../errors.js"
import { createRefreshEngine } from "../refresh/engine.js"
import type { AccessTokenResult, RefreshEngine, RefreshOptions } from "../refresh/engine-types.js"
import { engineSettingsOf } from "../refresh/engine-settings.js"
import { checkTokenSyncOptions } from "../options.js"
import { isExpiring } from "../policy/expiry.js"
import type { AccountStore } from "../store.js"
import { ownAccountReadOf, type CallerAccount, type OwnAccountRead } from "./account-read.js"
import { betterAuthTokenCodec } from "./encryption.js"
import { accountsNeedingReauthOf } from "../reauth-list.js"
import {
  BETTER_AUTH_REAUTH_MARK,
  BETTER_AUTH_REFRESH_TOKEN_EXPIRY,
  betterAuthAccountStore,
  type BetterAuthAccountStoreOptions,
  type BetterAuthDatabase,
} from "./store.js"

/** Options of {@link tokenSync}. */
export interface TokenSyncPluginOptions extends BetterAuthAccountStoreOptions {
  /**
   * The refresh engine's options, as `withTokenSync`'s `refresh` (providers with their token endpoint or
   * discovery URL and client credentials; timeouts; the provider's id is Better Auth's `providerId`).
   * Coordination is always lease mode: nothing is held while the provider answers. `cache` is the token
   * cache (README, "Zero round trips for a fresh token"), its entries found by Better Auth's account id and
   * served only to the account's own user; `pgNotifyInvalidation` on Better Auth's `account` table tells
   * it of other processes' writes.
   */
  refresh: Omit<RefreshOptions, "coordination" | "revocation" | "reauthColumn" | "refreshTokenExpiryColumn">
  /** The database to use. Default: the one given to `betterAuth({ database })`. */
  database?: BetterAuthDatabase
  /** A store of your own (tests, another table layout); overrides `database` and the table options. */
  store?: AccountStore
  /**
   * Record a refused refresh (`invalid_grant`, `invalid_scope`) on the account, so that no process sends that
   * refresh token again and `auth.api.accountsNeedingReauth` (server only) lists the accounts whose user must
   * sign in again. Adds the nullable text field `refreshError` to Better Auth's account schema: run Better
   * Auth's migration (`npx @better-auth/cli migrate`, or `generate` for Prisma and Drizzle) after turning it on.
   * A Better Auth sign-in that brings a new refresh token clears it. Default false.
   */
  reauthMark?: boolean
}

/** The body of `auth.api.accountsNeedingReauth`: a page of marked accounts, in key order. */
export interface BetterAuthReauthListBody {
  /** Only accounts at this provider (Better Auth's `providerId`). */
  providerId?: string
  /** Most accounts in the page, 1 to 1,000. Default 100. */
  limit?: number
  /** The previous page's `next`. */
  after?: { providerId: string; accountId: string } | null
}

/** An account whose user must sign in again, in Better Auth's names. No token, ever. */
export interface BetterAuthAccountNeedingReauth {
  userId: string
  providerId: string
  /** The provider's id of the account (Better Auth's `accountId`). */
  accountId: string
  /** The refusal: "invalid_grant" or "invalid_scope". */
  reason: string
}

/** What the plugin object carries beside Better Auth's plugin fields. */
export interface TokenSyncPluginHandle {
  /**
   * With `refresh.cache`: the token cache's readiness (`ready()`), counts (`stats()`), `clear()`, and
   * `close()` for shutdown (it releases the invalidation channel's connection). Undefined without it.
   */
  tokenCache: TokenCacheHandle | undefined
}

/**
 * The body both endpoints accept, as Better Auth's: the account by its Better Auth id, or (with Better Auth's
 * `account.storeAccountCookie`) `useAccountCookie: true`, the account in the caller's signed account cookie;
 * on the server, a user id.
 */
export type BetterAuthAccountSelection =
  { accountId: string; userId?: string } | { useAccountCookie: true; userId?: string }

/**
 * The body's schema, as a Standard Schema (what Better Auth's endpoints take; no validation library is
 * needed): `accountId` a non-empty string or `useAccountCookie: true` (one of the two), `userId` an optional
 * string, nothing else.
 */
const accountSelection: StandardSchemaV1<BetterAuthAccountSelection> = {
  "~standard": {
    version: 1,
    vendor: "authjs-adapter-refresh",
    validate(body) {
      const record = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : undefined
      const byCookie = record !== undefined && "useAccountCookie" in record
      const known = byCookie ? "useAccountCookie" : "accountId"
      const extra = record ? Object.keys(record).filter((key) => key !== known && key !== "userId") : []
      const { accountId, userId, useAccountCookie } = record ?? {}
      const issues: { message: string; path: string[] }[] = []
      if (byCookie && useAccountCookie !== true)
        issues.push({ message: "useAccountCookie must be true", path: ["useAccountCookie"] })
      if (!byCookie && (typeof accountId !== "string" || accountId === ""))
        issues.push({
          message: "accountId must be the Better Auth account id (a non-empty string), or give useAccountCookie: true",
          path: ["accountId"],
        })
      if (userId !== undefined && typeof userId !== "string")
        issues.push({ message: "userId must be a string", path: ["userId"] })
      for (const key of extra) issues.push({ message: `unknown field (${key})`, path: [key] })
      if (issues.length > 0) return { issues }
      const user = typeof userId === "string" ? { userId } : {}
      return { value: byCookie ? { useAccountCookie: true, ...user } : { accountId: String(accountId), ...user } }
    },
  },
}

/**
 * The listing's body, as a Standard Schema: each field optional and of its type; the range and the cursor's
 * parts are checked by the listing itself (`InvalidOptionsError`, Better Auth's 400).
 */
const reauthListBody: StandardSchemaV1<BetterAuthReauthListBody> = {
  "~standard": {
    version: 1,
    vendor: "authjs-adapter-refresh",
    validate(body) {
      const record = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {}
      const issues: { message: string; path: string[] }[] = []
      for (const key of Object.keys(record))
        if (key !== "providerId" && key !== "limit" && key !== "after")
          issues.push({ message: `unknown field (${key})`, path: [key] })
      const { providerId, limit, after } = record
      if (providerId !== undefined && typeof providerId !== "string")
        issues.push({ message: "providerId must be a string", path: ["providerId"] })
      if (limit !== undefined && typeof limit !== "number")
        issues.push({ message: "limit must be a number", path: ["limit"] })
      const cursor = after as { providerId?: unknown; accountId?: unknown } | null | undefined
      if (
        cursor !== undefined &&
        cursor !== null &&
        (typeof cursor !== "object" || typeof cursor.providerId !== "string" || typeof cursor.accountId !== "string")
      )
        issues.push({ message: "after must be the previous page's next ({ providerId, accountId })", path: ["after"] })
      if (issues.length > 0) return { issues }
      return { value: record as BetterAuthReauthListBody }
    },
  },
}

/** The endpoint context as far as the plugin reads it. */
type EndpointContext = Parameters<typeof getSessionFromCtx>[0]

/**
 * Better Auth's rule for whose token: the session's user when the call carries a request or headers.
 * Without headers Better Auth's session lookup finds none (its session endpoint requires headers, and
 * fails inside, building an error that is caught): a session a hook set is taken, else the body's user id,
 * as that lookup would end, without its cost.
 */
async function userIdOf(ctx: EndpointContext, selection: BetterAuthAccountSelection): Promise<string> {
  const session =
    ctx.context.session ?? (ctx.headers ? await getSessionFromCtx(ctx, { disableCookieCache: isStateful(ctx) }) : null)
  if (!session && (ctx.request || ctx.headers)) throw APIError.fromStatus("UNAUTHORIZED")
  const userId = session?.user.id ?? selection.userId
  if (!userId)
    throw APIError.fromStatus("BAD_REQUEST", {
      message: "Either userId or session is required",
      code: "USER_ID_OR_SESSION_REQUIRED",
    })
  return String(userId)
}

/** A typed failure as Better Auth's 400, the library's stable code beside its own and the error as `cause`. */
function failure(error: unknown, code: string, message: string): never {
  if (error instanceof APIError) throw error
  const typed = error instanceof TokenSyncError ? error : undefined
  const apiError = APIError.fromStatus("BAD_REQUEST", {
    message: typed ? `${message}: ${typed.message}` : message,
    code,
    ...(typed ? { tokenSyncCode: typed.code } : {}),
  })
  Object.defineProperty(apiError, "cause", { value: error, enumerable: false, configurable: true, writable: true })
  throw apiError
}

/** Better Auth's account row as its adapter returns it, in the plugin's form. */
function callerAccountOf(account: Account): CallerAccount {
  const expiresAt = account.accessTokenExpiresAt ? new Date(account.accessTokenExpiresAt).getTime() : Number.NaN
  return {
    id: String(account.id),
    userId: String(account.userId),
    providerId: account.providerId,
    accountId: account.accountId,
    accessToken: account.accessToken ?? null,
    expiresAt: Number.isFinite(expiresAt) ? Math.floor(expiresAt / 1000) : undefined,
    refreshTokenExpiresAt: account.refreshTokenExpiresAt ? new Date(account.refreshTokenExpiresAt) : undefined,
    idToken: account.idToken ?? null,
    scope: account.scope ?? null,
  }
}

/** The row read, as the engine's result for a fresh token (seconds, like `expires_at`). */
function fromRow(account: CallerAccount): AccessTokenResult {
  return {
    accessToken: account.accessToken ?? "",
    account: {
      userId: account.userId,
      type: "oidc",
      provider: account.providerId,
      providerAccountId: account.accountId,
      access_token: account.accessToken ?? undefined,
      expires_at: account.expiresAt,
      id_token: account.idToken ?? undefined,
      scope: account.scope ?? undefined,
    },
    refreshed: false,
  }
}

const expiryOf = (result: AccessTokenResult): Date | undefined =>
  typeof result.account.expires_at === "number" ? new Date(result.account.expires_at * 1000) : undefined

/** Better Auth stores granted scopes comma-separated. */
const scopesOf = (scope: unknown): string[] =>
  typeof scope === "string" ? scope.split(/[\s,]+/).filter((part) => part !== "") : []

/**
 * The Better Auth plugin: `betterAuth({ ..., plugins: [tokenSync({ refresh: { providers } })] })`.
 *
 * Needs the lease table (README, "Lease mode: the migration"). Better Auth's own responses keep their shape;
 * a failure is Better Auth's 400 with its code (`FAILED_TO_GET_ACCESS_TOKEN`, `FAILED_TO_REFRESH_ACCESS_TOKEN`),
 * the library's stable code as `tokenSyncCode`, and the library's typed error as the APIError's `cause`.
 *
 * @returns The plugin (id `"token-sync"`), for `betterAuth({ plugins })`.
 * With Better Auth's `account.encryptOAuthTokens` on, the plugin reads and writes the token columns as
 * Better Auth does (./encryption.ts): plain Better Auth and the plugin can take turns on the same rows.
 *
 * @throws InvalidOptionsError for refresh options that cannot work.
 */
export function tokenSync(options: TokenSyncPluginOptions) {
  // Better Auth's `refreshTokenExpiresAt` is the refresh token's expiry: a passed one fails typed ("expired")
  // without a request; refreshes write it from `refresh_token_expires_in` or Keycloak's `refresh_expires_in`.
  const reauthMark = options.reauthMark === true && !options.store
  const refresh: RefreshOptions = {
    ...options.refresh,
    coordination: "lease",
    ...(options.store ? {} : { refreshTokenExpiryColumn: BETTER_AUTH_REFRESH_TOKEN_EXPIRY }),
    ...(reauthMark ? { reauthColumn: BETTER_AUTH_REAUTH_MARK } : {}),
  }
  checkTokenSyncOptions({ refresh })
  const { skewSeconds } = engineSettingsOf(refresh)
  // The token cache: entries keyed by Better Auth's account id, each served only to the account's own user.
  const cached =
    refresh.cache !== undefined
      ? startTokenCache<CallerAccount>(checkTokenCacheOptions(refresh.cache), Date.now)
      : undefined
  const cache = cached?.cache
  let store: AccountStore | undefined
  let engine: RefreshEngine | undefined
  // Better Auth's encryptOAuthTokens as the store's codec; set at init, from Better Auth's options and secret.
  let codec: TokenCodec | undefined
  // The store's one-statement read of the caller's row; set at init when the store has one (else Better Auth's).
  let ownRead: OwnAccountRead | undefined
  const forcedFlights = new Map<string, Promise<AccessTokenResult>>()
  const storeFor = (database: unknown): AccountStore =>
    (store ??= options.store ?? betterAuthAccountStore((options.database ?? database) as BetterAuthDatabase, options))
  const engineFor = (database: unknown): RefreshEngine => {
    if (engine) return engine
    const accountStore = storeFor(database)
    const plainSync = createAccountSync(accountStore, {
      ...(codec ? { codec } : {}),
      ...(refresh.refreshTokenExpiryColumn ? { refreshTokenExpiryColumn: refresh.refreshTokenExpiryColumn } : {}),
      ...(refresh.reauthColumn ? { reauthColumn: refresh.reauthColumn } : {}),
    })
    // With the cache, every write of the engine drops its user's entries (read-your-writes in-process).
    const sync = cache ? invalidatingSync(plainSync, cache as TokenCache<unknown>) : plainSync
    engine = createRefreshEngine(accountStore, sync, refresh)
    return engine
  }

  /** A token the row (or the cache) may answer with: known expiry, not within the skew of it. */
  const fresh = (account: CallerAccount): boolean =>
    !!account.accessToken && account.expiresAt !== undefined && !isExpiring(account.expiresAt, Date.now(), skewSeconds)

  /** The caller's own account: the row with this id among this user's accounts, or undefined. */
  const readOwn = async (ctx: EndpointContext, userId: string, accountId: string) => {
    if (ownRead) return ownRead(accountId, userId)
    const account = (await ctx.context.internalAdapter.findAccounts(userId)).find(
      (candidate) => candidate.id === accountId,
    )
    return account ? callerAccountOf(account) : undefined
  }

  /**
   * The Better Auth account id the caller selected: the body's, or the one in the caller's signed account
   * cookie (Better Auth's `useAccountCookie`, only with `account.storeAccountCookie`), whose owner must be the
   * caller as Better Auth requires with a database. The row read after it is the truth, never the cookie.
   */
  const selectedAccountId = async (
    ctx: EndpointContext,
    body: BetterAuthAccountSelection,
    userId: string,
  ): Promise<string> => {
    if ("accountId" in body) return body.accountId
    const cookie = ctx.context.options.account?.storeAccountCookie
      ? ((await getAccountCookie(ctx as Parameters<typeof getAccountCookie>[0])) as {
          id?: unknown
          userId?: unknown
        } | null)
      : null
    if (!cookie || typeof cookie.id !== "string" || String(cookie.userId) !== userId)
      throw APIError.fromStatus("BAD_REQUEST", { message: "Account not found", code: "ACCOUNT_NOT_FOUND" })
    return cookie.id
  }

  /** The caller's own account (Better Auth's rule: the user's accounts, by id), then the cache or the engine. */
  const tokenFor = async (
    ctx: EndpointContext,
    forced: boolean,
  ): Promise<{ account: CallerAccount; result: AccessTokenResult }> => {
    const body = ctx.body as BetterAuthAccountSelection
    const userId = await userIdOf(ctx, body)
    const selection = { accountId: await selectedAccountId(ctx, body, userId) }
    // A hit answers only its own user: another user's account id finds the entry and is refused here.
    const hit =
      cache && !forced ? cache.get(selection.accountId, (entry) => entry.userId === userId && fresh(entry)) : undefined
    if (hit) return { account: hit, result: fromRow(hit) }
    // The ticket is taken before the read: a write of this user meanwhile voids what it read.
    const ticket = cache && !forced ? cache.beginRead(userId) : undefined
    let account: CallerAccount | undefined
    try {
      account = await readOwn(ctx, userId, selection.accountId)
      if (!account)
        throw APIError.fromStatus("BAD_REQUEST", { message: "Account not found", code: "ACCOUNT_NOT_FOUND" })
      // Fresh in the row just read: served from it (decrypted as Better Auth would), one statement in all,
      // as the engine's own fresh path would serve it.
      if (!forced && fresh(account)) {
        const key = { provider: account.providerId, providerAccountId: account.accountId }
        const accessToken =
          codec && account.accessToken
            ? await codec.decode(account.accessToken, "access_token", key)
            : account.accessToken
        const served = { ...account, accessToken }
        if (ticket) cache?.put(ticket, account.id, accountIdOf(account.providerId, account.accountId), served)
        return { account: served, result: fromRow(served) }
      }
    } finally {
      if (ticket) cache?.endRead(ticket)
    }
    const tokens = engineFor(ctx.context.options.database)
    const params = { userId, provider: account.providerId, providerAccountId: account.accountId }
    if (!forced) return { account, result: await tokens.getAccessToken(params) }
    // A forced refresh is one per stored access token across processes: concurrent callers that all
    // saw the same token share one refresh, and a caller that saw an older one gets the newer token.
    const current = await tokens.getAccessToken(params)
    // Callers of this process that saw the same token share one forced refresh.
    const flightKey = `${account.id}\u0000${current.accessToken}`
    let flight = forcedFlights.get(flightKey)
    if (!flight) {
      flight = tokens.getAccessToken({ ...params, refusedAccessToken: current.accessToken })
      forcedFlights.set(flightKey, flight)
      const forget = () => forcedFlights.delete(flightKey)
      flight.then(forget, forget)
    }
    try {
      return { account, result: await flight }
    } catch (error) {
      // This process refreshed the account for a forced refresh less than refusedTokenIntervalSeconds ago
      // (a caller that arrived after the shared one ended): the token that refresh stored is the answer.
      if (!(error instanceof AccessTokenRefusedError)) throw error
      return { account, result: await tokens.getAccessToken(params) }
    }
  }

  /**
   * After a refresh selected by the account cookie, the cookie gets the row as now stored, as Better Auth
   * renews it after its own refresh (so the cookie never holds the rotated-away refresh token).
   */
  const renewAccountCookie = async (ctx: EndpointContext, account: CallerAccount, result: AccessTokenResult) => {
    if (!result.refreshed || !("useAccountCookie" in (ctx.body as object))) return
    if (!ctx.context.options.account?.storeAccountCookie) return
    const row = (await ctx.context.internalAdapter.findAccounts(account.userId)).find((one) => one.id === account.id)
    if (row) await setAccountCookie(ctx as Parameters<typeof setAccountCookie>[0], row)
  }

  /** Better Auth's own account writes (sign-in, link, unlink, a user's deletion), once committed. */
  const invalidateRow = async (row: unknown): Promise<void> => {
    const userId = typeof row === "object" && row !== null ? asText((row as { userId?: unknown }).userId) : undefined
    // A write whose rows are not known (an update of many) may have touched anyone's.
    if (userId === undefined) cache?.invalidateAll()
    else cache?.invalidateUser(userId)
  }

  const plugin = {
    id: "token-sync",
    init(ctx) {
      // Better Auth's encrypted values are not the tokens: with its encryption on, the store reads and
      // writes them through Better Auth's own functions.
      if (ctx.options.account?.encryptOAuthTokens) codec = betterAuthTokenCodec(ctx)
      // A database the store cannot speak fails Better Auth's start, not the first refresh.
      engineFor(ctx.options.database)
      // Better Auth's ids as text (its default): an integer or uuid id column would make the database refuse
      // a malformed id from the body, where Better Auth answers ACCOUNT_NOT_FOUND; those keep its own read.
      const generateId = ctx.options.advanced?.database?.generateId
      if (!options.store && generateId !== "serial" && generateId !== "uuid")
        ownRead = ownAccountReadOf(storeFor(ctx.options.database))
      // A store of your own maps no refresh-token expiry: Better Auth's own value is then left as it writes it.
      const mapsExpiry = refresh.refreshTokenExpiryColumn !== undefined
      if (!mapsExpiry && !cache && !reauthMark) return
      return {
        options: {
          databaseHooks: {
            account: {
              ...(cache && { create: { after: invalidateRow }, delete: { after: invalidateRow } }),
              update: {
                // Better Auth's sign-in writes a new refresh token and keeps the old `refreshTokenExpiresAt`
                // when the provider says nothing of its life (Keycloak's `refresh_expires_in` is not read):
                // the old expiry would then judge the new token. Unknown (NULL) instead, as the library's rule.
                // A new refresh token also ends the re-authentication mark: the user is back.
                ...((mapsExpiry || reauthMark) && {
                  async before(data: Partial<Account> & Record<string, unknown>) {
                    if (data.refreshToken === undefined) return
                    const unknownExpiry = mapsExpiry && data.refreshTokenExpiresAt === undefined
                    if (!unknownExpiry && !reauthMark) return
                    return {
                      data: {
                        ...data,
                        ...(unknownExpiry ? { refreshTokenExpiresAt: null } : {}),
                        ...(reauthMark ? { refreshError: null } : {}),
                      },
                    }
                  },
                }),
                ...(cache && { after: invalidateRow }),
              },
            },
          },
        },
      }
    },
    // The mark's column, for Better Auth's migration; not an input of Better Auth's own endpoints.
    ...(reauthMark && {
      schema: { account: { fields: { refreshError: { type: "string", required: false, input: false } } } },
    }),
    endpoints: {
      /**
       * Server only (no HTTP route): the accounts whose user must sign in again, a page at a time, in key
       * order; each entry names the owner, the account and the refusal, never a token. Needs `reauthMark`.
       */
      accountsNeedingReauth: createAuthEndpoint.serverOnly({ method: "POST", body: reauthListBody }, async (ctx) => {
        engineFor(ctx.context.options.database)
        const body = ctx.body as BetterAuthReauthListBody
        const after = body.after ? { provider: body.after.providerId, providerAccountId: body.after.accountId } : null
        const page = await accountsNeedingReauthOf(
          storeFor(ctx.context.options.database),
          refresh.reauthColumn,
        )({
          after,
          ...(body.limit !== undefined ? { limit: body.limit } : {}),
          ...(body.providerId !== undefined ? { provider: body.providerId } : {}),
        }).catch((error: unknown) => failure(error, "FAILED_TO_LIST_ACCOUNTS", "Failed to list the accounts"))
        return ctx.json({
          accounts: page.accounts.map((account): BetterAuthAccountNeedingReauth => ({
            userId: account.userId,
            providerId: account.provider,
            accountId: account.providerAccountId,
            reason: account.reason,
          })),
          next: page.next ? { providerId: page.next.provider, accountId: page.next.providerAccountId } : null,
        })
      }),
      getAccessToken: createAuthEndpoint(
        "/get-access-token",
        { method: "POST", body: accountSelection },
        async (ctx) => {
          const { account, result } = await tokenFor(ctx, false).catch((error: unknown) =>
            failure(error, "FAILED_TO_GET_ACCESS_TOKEN", "Failed to get a valid access token"),
          )
          await renewAccountCookie(ctx, account, result)
          return ctx.json({
            accessToken: result.accessToken,
            accessTokenExpiresAt: expiryOf(result),
            scopes: scopesOf(result.account.scope),
            idToken: typeof result.account.id_token === "string" ? result.account.id_token : undefined,
          })
        },
      ),
      refreshToken: createAuthEndpoint("/refresh-token", { method: "POST", body: accountSelection }, async (ctx) => {
        const { account, result } = await tokenFor(ctx, true).catch((error: unknown) =>
          failure(error, "FAILED_TO_REFRESH_ACCESS_TOKEN", "Failed to refresh access token"),
        )
        await renewAccountCookie(ctx, account, result)
        return ctx.json({
          accessToken: result.accessToken,
          refreshToken: typeof result.account.refresh_token === "string" ? result.account.refresh_token : undefined,
          accessTokenExpiresAt: expiryOf(result),
          refreshTokenExpiresAt: account.refreshTokenExpiresAt ?? undefined,
          scope: result.account.scope ?? account.scope,
          idToken: typeof result.account.id_token === "string" ? result.account.id_token : undefined,
          providerId: account.providerId,
          accountId: account.id,
        })
      }),
    },
  } satisfies BetterAuthPlugin
  const handle: TokenSyncPluginHandle = { tokenCache: cached?.handle }
  return { ...plugin, ...handle }
}
