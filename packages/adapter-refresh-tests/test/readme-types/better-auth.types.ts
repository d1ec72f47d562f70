// The README's "Better Auth: the `tokenSync` plugin" lines, type-checked.
import { betterAuth } from "better-auth"
import { genericOAuth } from "better-auth/plugins/generic-oauth"
import { tokenSync } from "authjs-adapter-refresh/better-auth"
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
