/**
 * next-auth 4 with @next-auth/prisma-adapter, as the blog workaround set it up, with one change: the
 * `signIn` callback that copied the new tokens with `prisma.account.updateMany(...)` (and raced, and
 * wrote null over a refresh token the provider did not resend) is gone; the adapter is wrapped instead:
 *
 *   const adapter = withTokenSync(PrismaAdapter(prisma), prisma, { refresh: { providers: [provider] } })
 *   NextAuth({ adapter, events: adapter.events, providers: [provider] })
 *
 * TOKEN_SYNC=off runs the bare adapter (no workaround either), as the control that shows the stale token.
 * Built on first use, not at import: `next build` imports this module without the runtime environment.
 */
import { PrismaAdapter } from "@next-auth/prisma-adapter"
import { PrismaPg } from "@prisma/adapter-pg"
import { withTokenSync } from "authjs-adapter-refresh"
import type { AuthOptions } from "next-auth"

import { PrismaClient } from "../generated/prisma/client"
import { chooseProvider, type ProviderChoice } from "./provider"

export interface ExampleAuth extends ProviderChoice {
  authOptions: AuthOptions
  prisma: PrismaClient
  adapter: ReturnType<typeof wrap>
  tokenSync: boolean
}

function wrap(prisma: PrismaClient, choice: ProviderChoice, env: NodeJS.ProcessEnv) {
  return withTokenSync(PrismaAdapter(prisma), prisma, {
    refresh: { providers: [choice.provider], skewSeconds: Number(env.TOKEN_REFRESH_SKEW_SECONDS) || 60 },
  })
}

// One instance per server process, shared by the pages and the API routes (Next bundles them apart).
const globalForAuth = globalThis as typeof globalThis & { exampleAuth?: ExampleAuth }

export function exampleAuth(env: NodeJS.ProcessEnv = process.env): ExampleAuth {
  if (globalForAuth.exampleAuth) return globalForAuth.exampleAuth
  const connectionString = env.DATABASE_URL?.trim()
  if (!connectionString) throw new Error("DATABASE_URL is not set (pnpm dev starts an embedded database and sets it)")
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString }) })
  const choice = chooseProvider(env)
  const tokenSync = env.TOKEN_SYNC !== "off"
  const adapter = wrap(prisma, choice, env)
  const authOptions: AuthOptions = {
    ...(tokenSync ? { adapter, events: adapter.events } : { adapter: PrismaAdapter(prisma) }),
    providers: [choice.provider],
    secret: env.NEXTAUTH_SECRET ?? env.AUTH_SECRET,
    session: { strategy: "database" },
    callbacks: {
      // Database sessions: the user id in the session, so the routes can ask for the account's token.
      session: ({ session, user }) => ({ ...session, user: { ...session.user, id: user.id } }),
    },
  }
  globalForAuth.exampleAuth = { ...choice, authOptions, prisma, adapter, tokenSync }
  return globalForAuth.exampleAuth
}
