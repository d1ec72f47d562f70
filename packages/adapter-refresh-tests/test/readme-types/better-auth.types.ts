// The README's "Better Auth: the `tokenSync` plugin" and "Moving from Auth.js to Better Auth" lines, type-checked.
import { betterAuth } from "better-auth"
import { genericOAuth } from "better-auth/plugins/generic-oauth"
import { pgNotifyInvalidation, pgNotifyTriggerSql, tokenEncryption } from "authjs-adapter-refresh"
import { copyAuthjsAccounts, tokenSync } from "authjs-adapter-refresh/better-auth"
import { drizzleAdapter } from "better-auth/adapters/drizzle"
import { prismaAdapter } from "better-auth/adapters/prisma"
import { drizzle } from "drizzle-orm/node-postgres"
import { pgTable, text } from "drizzle-orm/pg-core"
import pg from "pg"
import type { PrismaClient } from "../../generated/prisma-better-auth/client.js"

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

// Better Auth's Prisma and Drizzle adapters: the plugin gets the client the adapter was built from.
declare const prisma: PrismaClient
const refresh = { providers: [{ id: "acme", type: "oidc", issuer, clientId, clientSecret }] }
export const withPrisma = betterAuth({
  database: prismaAdapter(prisma, { provider: "postgresql" }),
  plugins: [tokenSync({ database: prisma, refresh })],
})
const schema = { account: pgTable("account", { id: text("id").primaryKey(), accountId: text("account_id") }) }
const db = drizzle(pool, { schema })
export const withDrizzle = betterAuth({
  database: drizzleAdapter(db, { provider: "pg", schema }),
  plugins: [tokenSync({ database: db, schema, refresh })],
})
