/**
 * Type test, checked by `pnpm typecheck` (tsc, strict): the README's next-auth v4 lines compile unchanged
 * against next-auth 4.24's own types, with its adapter package (`@next-auth/prisma-adapter`) and with an
 * `@auth/*` adapter, and the README's `refresh.providers` accepts v4 provider objects. No casts.
 */
import NextAuth, { type AuthOptions } from "next-auth"
import type { Adapter as V4Adapter } from "next-auth/adapters"
import GoogleProvider from "next-auth/providers/google"
import { PrismaAdapter } from "@next-auth/prisma-adapter"
import { PrismaAdapter as AuthPrismaAdapter } from "@auth/prisma-adapter"
import { KyselyAdapter, type Database } from "@auth/kysely-adapter"
import { withTokenSync } from "authjs-adapter-refresh"
import type { Kysely } from "kysely"
import type { PrismaClient } from "../../generated/prisma/client"

declare const prisma: PrismaClient
declare const db: Kysely<Database>

// README, "next-auth v4" quick start, verbatim.
const adapter = withTokenSync(PrismaAdapter(prisma), prisma)
export default NextAuth({ adapter, events: adapter.events, providers: [/* ... */] })

// The same with the @auth/* adapters (they work with next-auth 4 too).
const authAdapter = withTokenSync(AuthPrismaAdapter(prisma), prisma)
export const withAuthAdapter: AuthOptions = { adapter: authAdapter, events: authAdapter.events, providers: [] }
const kyselyAdapter = withTokenSync(KyselyAdapter(db), db)
export const withKysely: AuthOptions = { adapter: kyselyAdapter, events: kyselyAdapter.events, providers: [] }

// The wrapped adapter keeps the input adapter's type: it is a v4 Adapter.
export const keepsType: V4Adapter = adapter

// README, "your own events.signIn", verbatim.
export const ownEvents: AuthOptions = {
  adapter,
  providers: [],
  events: {
    async signIn(message) {
      await adapter.events.signIn(message)
      // ...your own code
    },
  },
}

// README, getAccessToken with v4 provider objects.
const google = GoogleProvider({ clientId: "id", clientSecret: "secret" })
export const refreshing = withTokenSync(PrismaAdapter(prisma), prisma, { refresh: { providers: [google] } })
export const refreshingOptions: AuthOptions = { adapter: refreshing, events: refreshing.events, providers: [google] }

// Negative checks: these must stay errors, or the test above proves nothing.
// @ts-expect-error a value that shares no method with an Auth.js adapter is not an adapter
withTokenSync({ notAnAdapter: true }, prisma)
type V4AccountType = NonNullable<
  Parameters<NonNullable<NonNullable<AuthOptions["events"]>["signIn"]>>[0]["account"]
>["type"]
// @ts-expect-error v4's account types have no "oidc": a README that compared with it would not compile
export const noOidc = (type: V4AccountType) => type === "oidc"
// @ts-expect-error events.signIn needs the user
export const signInNeedsUser = () => adapter.events.signIn({ account: null })
