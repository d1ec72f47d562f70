// The README's "Better Auth: the `tokenSync` plugin" and "Moving from Auth.js to Better Auth" lines, type-checked.
import { betterAuth } from "better-auth"
import { genericOAuth } from "better-auth/plugins/generic-oauth"
import { pgNotifyInvalidation, pgNotifyTriggerSql, tokenEncryption } from "authjs-adapter-refresh"
import { copyAuthjsAccounts, tokenSync } from "authjs-adapter-refresh/better-auth"
import pg from "pg"

declare const discoveryUrl: string
declare const issuer: string
declare const clientId: string
declare const clientSecret: string
declare const accountId: string
declare const userId: string
const pool = new pg.Pool()

export const auth = betterAuth({
  database: pool,
  plugins: [
    genericOAuth({ config: [{ providerId: "acme", discoveryUrl, clientId, clientSecret }] }),
    tokenSync({ refresh: { providers: [{ id: "acme", type: "oidc", issuer, clientId, clientSecret }] } }),
  ],
})

export const token: Promise<string> = auth.api
  .getAccessToken({ body: { accountId, userId } })
  .then((result) => result.accessToken)

// The plugin with refresh.cache.
declare const connectionString: string
export const trigger = pool.query(pgNotifyTriggerSql({ accountsTable: "account", sessionsTable: "session" }))
const providers = [{ id: "acme", type: "oidc" as const, issuer, clientId, clientSecret }]
const sync = tokenSync({
  refresh: {
    providers,
    cache: {
      invalidation: pgNotifyInvalidation({
        pool: new pg.Pool({ connectionString, max: 1 }),
        notifyPool: pool,
        accountsTable: "account",
        sessionsTable: "session",
      }),
    },
  },
})
export const cachedAuth = betterAuth({
  database: pool,
  plugins: [genericOAuth({ config: [{ providerId: "acme", discoveryUrl, clientId, clientSecret }] }), sync],
})
export const cachedToken: Promise<string> = cachedAuth.api
  .getAccessToken({ body: { accountId, userId } })
  .then((result) => result.accessToken)
export const ready: Promise<void> = sync.tokenCache!.ready().then(() => sync.tokenCache!.close())

// "Moving from Auth.js to Better Auth".
declare const authjsPool: pg.Pool
export const copied = copyAuthjsAccounts({
  from: authjsPool,
  to: auth,
  codec: tokenEncryption({ keys: process.env.TOKEN_ENCRYPTION_KEYS }),
}).then((result) => result.copied + result.alreadyThere)
