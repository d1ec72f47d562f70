// The README's next-auth v5 lines, as a Next.js app (auth.ts) would hold them.
import NextAuth, { type NextAuthConfig } from "next-auth"
import Google from "next-auth/providers/google"
import { PrismaAdapter } from "@auth/prisma-adapter"
import { withTokenSync } from "authjs-adapter-refresh"
import { prisma } from "./prisma"

const adapter = withTokenSync(PrismaAdapter(prisma), prisma)
export const { handlers, auth } = NextAuth({ adapter, events: adapter.events, providers: [/* ... */] })

export const ownEvents: NextAuthConfig = {
  adapter,
  providers: [],
  events: {
    async signIn(message) {
      await adapter.events.signIn(message)
      // ...your own code
    },
  },
}

const google = Google({ clientId: "id", clientSecret: "secret" })
const refreshing = withTokenSync(PrismaAdapter(prisma), prisma, { refresh: { providers: [google] } })
export const withRefresh: NextAuthConfig = { adapter: refreshing, events: refreshing.events, providers: [google] }

// Must stay an error, or this file proves nothing.
// @ts-expect-error a value that shares no method with an Auth.js adapter is not an adapter
withTokenSync({ notAnAdapter: true }, prisma)
