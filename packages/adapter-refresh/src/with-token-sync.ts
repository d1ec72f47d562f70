import { createAccountSync, type AccountSyncOptions, type SyncableAccount } from "./account-sync.js"
import { resolveAccountStore, type TokenSyncDatabase } from "./detect-store.js"
import { RefreshNotConfiguredError } from "./errors.js"
import { isMissingClient, missingClientError } from "./missing-client.js"
import { checkTokenSyncOptions } from "./options.js"
import { createRefreshEngine } from "./refresh/engine.js"
import type { AccessTokenResult, GetAccessTokenParams, RefreshOptions } from "./refresh/engine-types.js"
import {
  createBackgroundRefresher,
  type RefreshExpiringOptions,
  type RefreshExpiringProgress,
} from "./refresh/background.js"
import type { AccountKey, AccountStore } from "./store.js"
import {
  accountsNeedingReauthOf,
  type AccountsNeedingReauthPage,
  type AccountsNeedingReauthParams,
} from "./reauth-list.js"
import { createRevoker } from "./refresh/revocation.js"
import { checkTokenCacheOptions, startTokenCache, type TokenCacheHandle } from "./cache/token-cache.js"
import { invalidatingSync, asText as userText } from "./cache/local-invalidation.js"
import type { AdapterAccount, AdapterUser, AuthjsAdapter, LinkableAccount, SignInEventMessage } from "./authjs-types.js"

/** Options of {@link withTokenSync}. Every option is checked when `withTokenSync` is called. */
export interface TokenSyncOptions extends Omit<AccountSyncOptions, "reauthColumn" | "refreshTokenExpiryColumn"> {
  /** Enables `getAccessToken`: which providers to refresh and how. */
  refresh?: RefreshOptions
}

/** What {@link withTokenSync} adds to (or puts in place of) the adapter's own methods. */
export interface TokenSyncMethods {
  /**
   * An upsert on (provider, providerAccountId): a new account is inserted; the same user's existing row
   * gets the tokens merged; an orphaned row (its user deleted) is re-pointed; a row of another existing
   * user is refused with `AccountLinkedToAnotherUserError` and nothing is written. Resolves to the stored
   * account, typed as the account Auth.js passed (so the method fits v4's and v5's `Adapter` alike); on an
   * insert, to what the wrapped adapter's own `linkAccount` resolves to (`AccountStore.linkAccountResult`),
   * which for @auth/drizzle-adapter is `undefined`.
   */
  linkAccount<T extends LinkableAccount>(account: T): Promise<T>
  /** The wrapped adapter's look-up; when `ref` carries tokens they are synced first. */
  getUserByAccount(ref: SyncableAccount): Promise<AdapterUser | null>
  /**
   * The one write path: validates, merges over what is stored (nothing is ever erased) and persists in
   * one locked transaction. Returns the stored account, or null when that account is not linked yet and
   * no `userId` says whom to link it to.
   */
  syncAccount(account: SyncableAccount): Promise<AdapterAccount | null>
  /**
   * Pass as Auth.js `events` (or call it from your own `events.signIn`): on a returning
   * sign-in Auth.js gives the fresh tokens to no adapter method, only to this event.
   */
  events: {
    signIn(message: SignInEventMessage): Promise<void>
    /**
     * With `refresh.cache`: drops the signed-out user's cached tokens in this process. With a provider's
     * `refresh.revocation` `onSignOut`: revokes the user's access tokens there (see RevocationOptions).
     */
    signOut(message: SignOutEventMessage): Promise<void>
  }
  /**
   * A valid access token for the user's account at `provider`, refreshed (at most once per expiry across
   * all processes) when it expires within `refresh.skewSeconds`. Requires the `refresh` option.
   *
   * With `params.scopes`, the stored grant must hold those scopes (RFC 6749 §3.3), else
   * `InsufficientScopeError` names the missing ones and no token is returned. With `params.refusedAccessToken`
   * (the token an API answered 401 to), refreshes before the expiry while the stored token is still that one.
   *
   * @returns The access token, its expiry and whether this call refreshed it.
   * @throws {@link RefreshTokenError} the provider refused the refresh token (`invalid_grant`): sign in again.
   * @throws {@link InsufficientScopeError} the grant lacks a scope asked for in `params.scopes`: authorize more.
   * @throws {@link AccessTokenRefusedError} `refusedAccessToken` cannot be replaced yet: retry after `retryAfterMs`.
   * @throws {@link ProviderUnavailableError} the provider did not answer usably; try again later.
   * @throws {@link AccountNotLinkedError} / {@link AmbiguousAccountError} no account, or several, for the user.
   * @throws {@link RefreshLockTimeoutError} another process held the account's lock beyond the bound.
   * @throws {@link RefreshNotConfiguredError} without the `refresh` option, or for a provider not in it.
   * @throws {@link AccountStoreError} the database failed; nothing was written.
   * @throws {@link InvalidAccountInputError} bad params.
   * @see [RFC 6749 §6](https://www.rfc-editor.org/rfc/rfc6749#section-6) (refreshing an access token) and
   *   [§5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2) (the error answer).
   */
  getAccessToken(params: GetAccessTokenParams): Promise<AccessTokenResult>
  /**
   * Refreshes the tokens of every account that expires within `withinSeconds` (default 300), for jobs
   * that call provider APIs for users who are offline. Safe to run from many workers at once and beside
   * `getAccessToken`: an account is refreshed at most once per expiry. Requires the `refresh` option and
   * a store with `scanAccounts` (all built-in stores).
   *
   * @returns The counts: accounts scanned, due, refreshed, busy, cooling down, dead grants, failed.
   * @throws {@link RefreshNotConfiguredError} without the `refresh` option.
   * @throws {@link AccountStoreError} when the scan itself fails (a failed account is counted, not thrown).
   * @see [RFC 6749 §6](https://www.rfc-editor.org/rfc/rfc6749#section-6)
   */
  refreshExpiring(options?: RefreshExpiringOptions): Promise<RefreshExpiringProgress>
  /**
   * A page of the accounts whose user must sign in again: those marked in `refresh.reauthColumn` (the
   * provider refused their refresh token, `invalid_grant`, or its scope, `invalid_scope`), in
   * (provider, providerAccountId) order, for a job that emails users. Pass the page's `next` as `after` for
   * the next page (null: done). A mark goes when the account works again (a refresh, or a sign-in bringing a
   * new refresh token), so the listing shrinks by itself. Each entry holds the key, the owner and the mark,
   * never a token. Reads the store's `listReauthMarks` (all built-in stores), one statement, no lock.
   *
   * @returns The page: `accounts` and the cursor `next`.
   * @throws {@link ReauthListUnavailableError} without `refresh.reauthColumn` (only the reauth event tells
   *   then, per process), or for a store without `listReauthMarks`.
   * @throws {@link InvalidOptionsError} a `limit` that is not a positive integer or above 1000, a bad `after`
   *   or `provider`.
   * @throws {@link AccountStoreError} the database failed.
   */
  accountsNeedingReauth(params?: AccountsNeedingReauthParams): Promise<AccountsNeedingReauthPage>
  /** The store in use, for look-ups and for the conformance kit. */
  accountStore: AccountStore
  /** Present with `refresh.cache`: the token cache's readiness, counts, and `close()` for shutdown. */
  tokenCache?: TokenCacheHandle
}

/** What Auth.js passes to `events.signOut`: the session (database sessions) or the JWT. */
export interface SignOutEventMessage {
  /** Database sessions: the deleted session (its `userId`). */
  session?: unknown
  /** JWT sessions: the token (its `sub`). */
  token?: unknown
}

/** The wrapped adapter: the input adapter's own methods, with its type, plus the token-sync methods. */
export type TokenSyncAdapter<A extends AuthjsAdapter = AuthjsAdapter> = Omit<A, keyof TokenSyncMethods> &
  TokenSyncMethods

/** Own enumerable methods as they are; methods of a class-based adapter bound to it (Auth.js calls them unbound). */
function passThroughMethods(adapter: AuthjsAdapter): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (
    let proto = Object.getPrototypeOf(adapter);
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const value = (adapter as Record<string, unknown>)[name]
      if (name !== "constructor" && typeof value === "function" && !(name in out)) out[name] = value.bind(adapter)
    }
  }
  return { ...out, ...adapter }
}

const hasTokens = (ref: Record<string, unknown>, columns: readonly string[]): boolean =>
  columns.some((column) => ref[column] !== undefined && ref[column] !== null && ref[column] !== "") ||
  ref.expires_in != null

/**
 * What the compiler shows for `withTokenSync(adapter)` without the client: a one-argument call is
 * checked against this type, so the error message carries the two-argument line.
 */
export type WithTokenSyncNeedsTheClient =
  "withTokenSync(adapter) needs the client the adapter was built on, e.g. withTokenSync(PrismaAdapter(prisma), prisma)"

/**
 * Not supported: the adapter alone. An official adapter keeps its database client in a closure, and the
 * lock and the upsert must run on that same client, so `withTokenSync` needs it as its second argument.
 * This signature exists only so that the compiler's error shows the two-argument line.
 *
 * @throws {@link UnsupportedDatabaseError} always, naming the two-argument line for the adapter at hand.
 * @deprecated Pass the client too: `withTokenSync(PrismaAdapter(prisma), prisma)`.
 */
export function withTokenSync(adapter: WithTokenSyncNeedsTheClient): never
/**
 * Decorates an Auth.js adapter so that OAuth tokens are stored on every sign-in, not only the first, and
 * (with `options.refresh`) refreshed at most once per expiry across all processes.
 *
 * `db` is the database client the adapter was built on (a PrismaClient, a Kysely instance, a Drizzle
 * database, a node-postgres `Pool`) or an {@link AccountStore}: token writes take a lock and upsert on
 * that client, in one transaction.
 *
 * @param adapter Any Auth.js adapter (v5 `@auth/*` or next-auth v4); its own methods are kept.
 * @param db The adapter's client, or a store built by `prismaAccountStore`, `drizzleAccountStore`, ...
 * @param options Extra token columns, encryption (`codec`), lock bound, and `refresh` for `getAccessToken`.
 * @returns The adapter with `linkAccount` and `getUserByAccount` replaced by upserting versions, plus
 *   `events` (pass them to Auth.js), `syncAccount`, `getAccessToken`, `refreshExpiring` and `accountStore`.
 * @throws {@link UnsupportedDatabaseError} when `db` is missing or not a client it can use.
 * @throws {@link InvalidOptionsError} when an option cannot work (raised here, before anything runs).
 * @throws {@link RefreshNotConfiguredError} when a provider in `refresh.providers` lacks what a refresh needs.
 * @see [RFC 6749 §5.1](https://www.rfc-editor.org/rfc/rfc6749#section-5.1) for the token fields stored.
 * @example
 * ```ts
 * import { PrismaAdapter } from "@auth/prisma-adapter"
 * import { withTokenSync } from "authjs-adapter-refresh"
 *
 * const adapter = withTokenSync(PrismaAdapter(prisma), prisma)
 * export const { handlers, auth } = NextAuth({ adapter, events: adapter.events, providers: [GitHub] })
 * ```
 */
export function withTokenSync<A extends AuthjsAdapter>(
  adapter: A,
  db: TokenSyncDatabase,
  options?: TokenSyncOptions,
): TokenSyncAdapter<A>
export function withTokenSync<A extends AuthjsAdapter>(
  adapter: A,
  db?: TokenSyncDatabase,
  options: TokenSyncOptions = {},
): TokenSyncAdapter<A> {
  // JavaScript callers reach here with one argument (or options in db's place): say which line to write.
  if (isMissingClient(db)) throw missingClientError(adapter, db)
  checkTokenSyncOptions(options)
  const accountStore = resolveAccountStore(db)
  const { refresh, ...syncOptions } = options
  const plainSync = createAccountSync(accountStore, {
    ...syncOptions,
    ...(refresh?.reauthColumn ? { reauthColumn: refresh.reauthColumn } : {}),
    ...(refresh?.refreshTokenExpiryColumn ? { refreshTokenExpiryColumn: refresh.refreshTokenExpiryColumn } : {}),
  })
  const cached =
    refresh?.cache !== undefined
      ? startTokenCache<AccessTokenResult>(checkTokenCacheOptions(refresh.cache), options.now ?? Date.now)
      : undefined
  // With the cache every write goes through the invalidating view of the sync (read-your-writes in-process).
  const sync = cached ? invalidatingSync(plainSync, cached.cache) : plainSync
  const engine = refresh ? createRefreshEngine(accountStore, sync, refresh, options.now, cached?.cache) : undefined
  const background = engine
    ? createBackgroundRefresher(accountStore, sync, engine, options.now, refresh?.refreshTokenExpiryColumn)
    : undefined
  const revoker = refresh?.revocation
    ? createRevoker(accountStore, plainSync, refresh.revocation, refresh, options.now, engine?.clientOf)
    : undefined
  const base = passThroughMethods(adapter)
  // Called with the adapter as `this`: a class-based adapter's method may use its own fields.
  const baseGetUserByAccount = adapter.getUserByAccount?.bind(adapter)
  const baseGetAccount = adapter.getAccount?.bind(adapter)
  const baseUnlinkAccount = adapter.unlinkAccount?.bind(adapter)
  // The wrapped adapter reads rows as stored: with a codec, its account results are decrypted here.
  const decrypting = options.codec
    ? {
        ...(baseGetAccount && {
          async getAccount(providerAccountId: string, provider: string) {
            const account = await baseGetAccount(providerAccountId, provider)
            return account ? sync.decodeAccount(account, "strict") : account
          },
        }),
        ...(baseUnlinkAccount && {
          // The row is already deleted: a value that no longer decrypts is left out, not thrown.
          async unlinkAccount(ref: Pick<AdapterAccount, "provider" | "providerAccountId">) {
            const account = await baseUnlinkAccount(ref)
            return account ? sync.decodeAccount(account, "drop") : account
          },
        }),
      }
    : {}
  // With the cache, the adapter's own deletes drop what they delete from this process's cache too.
  const cache = cached?.cache
  const unlink = decrypting.unlinkAccount ?? baseUnlinkAccount
  const baseDeleteUser = (adapter as { deleteUser?: (id: string) => Promise<unknown> }).deleteUser?.bind(adapter)
  const baseDeleteSession = (adapter as { deleteSession?: (token: string) => Promise<unknown> }).deleteSession?.bind(
    adapter,
  )
  const invalidating = cache
    ? {
        ...(unlink && {
          async unlinkAccount(ref: Pick<AdapterAccount, "provider" | "providerAccountId">) {
            try {
              return await unlink(ref)
            } finally {
              if (ref && typeof ref === "object")
                cache.invalidateAccount(String(ref.provider), String(ref.providerAccountId))
            }
          },
        }),
        ...(baseDeleteUser && {
          async deleteUser(id: string) {
            try {
              return await baseDeleteUser(id)
            } finally {
              const userId = userText(id)
              if (userId !== undefined) cache.invalidateUser(userId)
            }
          },
        }),
        ...(baseDeleteSession && {
          async deleteSession(sessionToken: string) {
            const session = await baseDeleteSession(sessionToken)
            const userId = userText((session as { userId?: unknown } | null | undefined)?.userId)
            if (userId !== undefined) cache.invalidateUser(userId)
            return session
          },
        }),
      }
    : {}

  // With revocation: the tokens are read before the adapter's own delete, and revoked once it succeeded.
  const deletes = { ...decrypting, ...invalidating } as {
    unlinkAccount?: (ref: Pick<AdapterAccount, "provider" | "providerAccountId">) => Promise<unknown>
    deleteUser?: (id: string) => Promise<unknown>
  }
  const innerUnlink = deletes.unlinkAccount ?? baseUnlinkAccount
  const innerDeleteUser = deletes.deleteUser ?? baseDeleteUser
  const innerDeleteSession =
    (invalidating as { deleteSession?: (token: string) => Promise<unknown> }).deleteSession ?? baseDeleteSession
  const baseGetSessionAndUser = (
    adapter as { getSessionAndUser?: (token: string) => Promise<{ session?: unknown } | null> }
  ).getSessionAndUser?.bind(adapter)
  const revoking = revoker
    ? {
        ...(innerUnlink && {
          async unlinkAccount(ref: Pick<AdapterAccount, "provider" | "providerAccountId">) {
            const pending = await revoker.beforeUnlink(ref)
            const result = await innerUnlink(ref)
            await revoker.send(pending, "unlink")
            return result
          },
        }),
        ...(innerDeleteUser && {
          async deleteUser(id: string) {
            const pending = await revoker.beforeDeleteUser(id)
            const result = await innerDeleteUser(id)
            await revoker.send(pending, "delete-user")
            return result
          },
        }),
        // Auth.js gives events.signOut what deleteSession returned; some adapters (@auth/pg-adapter) return
        // nothing, so the session is read first: the event then knows whose access tokens to revoke.
        ...(revoker.onSignOutEnabled &&
          innerDeleteSession &&
          baseGetSessionAndUser && {
            async deleteSession(sessionToken: string) {
              const before = await baseGetSessionAndUser(sessionToken).catch(() => null)
              const result = await innerDeleteSession(sessionToken)
              return result ?? before?.session ?? result
            },
          }),
      }
    : {}

  const methods: TokenSyncMethods = {
    async linkAccount<T extends LinkableAccount>(account: T): Promise<T> {
      return (await sync.upsert(account, "link")) as unknown as T
    },
    async getUserByAccount(ref) {
      // The stored account is not returned here: the store need not read it back (see AccountSync.upsert).
      if (hasTokens(ref, sync.columns)) await sync.upsert(ref, "sync", false)
      const key: AccountKey = { provider: ref.provider, providerAccountId: ref.providerAccountId }
      return baseGetUserByAccount
        ? (((await baseGetUserByAccount(key)) as AdapterUser | null | undefined) ?? null)
        : null
    },
    syncAccount: async (account) => (await sync.upsert(account, "sync")) ?? null,
    events: {
      async signIn({ user, account }) {
        if (!account || (account.type !== "oauth" && account.type !== "oidc")) return
        // The owner is Auth.js's user, never a field of `account`: Auth.js spreads the provider's raw token
        // response into `account`, so any extra field there (a `userId` among them) is the provider's word.
        const { userId: _fromProvider, ...tokens } = account
        await sync.upsert(
          user.id === undefined || user.id === null ? tokens : { ...tokens, userId: user.id },
          "sync",
          false,
        )
      },
      async signOut(message) {
        const field = (value: unknown, name: string): unknown =>
          typeof value === "object" && value !== null ? (value as Record<string, unknown>)[name] : undefined
        const userId = userText(field(message?.session, "userId")) ?? userText(field(message?.token, "sub"))
        if (cache && userId !== undefined) cache.invalidateUser(userId)
        if (revoker && userId !== undefined) await revoker.onSignOut(userId)
      },
    },
    async getAccessToken(params) {
      if (!engine)
        throw new RefreshNotConfiguredError(
          String(params?.provider),
          "withTokenSync was called without the refresh option",
        )
      return engine.getAccessToken(params)
    },
    async refreshExpiring(options) {
      if (!background)
        throw new RefreshNotConfiguredError("(all)", "withTokenSync was called without the refresh option")
      return background(options)
    },
    accountsNeedingReauth: accountsNeedingReauthOf(accountStore, refresh?.reauthColumn),
    accountStore,
    ...(cached && { tokenCache: cached.handle }),
  }
  return { ...base, ...decrypting, ...invalidating, ...revoking, ...methods } as unknown as TokenSyncAdapter<A>
}
