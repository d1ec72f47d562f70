/**
 * `authjs-adapter-refresh/better-auth`: the Better Auth plugin and the store over Better Auth's `account`
 * table. Its own entry point, so that only apps that import it load `better-auth` (an optional peer).
 *
 * @example
 * ```ts
 * import { betterAuth } from "better-auth"
 * import { tokenSync } from "authjs-adapter-refresh/better-auth"
 *
 * export const auth = betterAuth({
 *   database: pool,
 *   plugins: [
 *     genericOAuth({ config: [{ providerId: "acme", discoveryUrl, clientId, clientSecret }] }),
 *     tokenSync({ refresh: { providers: [{ id: "acme", issuer, clientId, clientSecret }] } }),
 *   ],
 * })
 * ```
 * @module better-auth
 */
export { tokenSync } from "../better-auth/plugin.js"
export type {
  BetterAuthAccountNeedingReauth,
  BetterAuthAccountSelection,
  BetterAuthReauthListBody,
  TokenSyncPluginHandle,
  TokenSyncPluginOptions,
} from "../better-auth/plugin.js"
export { betterAuthAccountStore, BETTER_AUTH_ACCOUNT_COLUMNS } from "../better-auth/store.js"
export type {
  BetterAuthAccountStoreOptions,
  BetterAuthDatabase,
  BetterAuthMysqlPool,
  BetterAuthSqliteDatabase,
} from "../better-auth/store.js"
export { copyAuthjsAccounts } from "../better-auth/migrate.js"
export type {
  AuthjsAdapterSource,
  AuthjsSource,
  CopyAuthjsAccountsOptions,
  CopyAuthjsAccountsResult,
} from "../better-auth/migrate.js"
