// The README's next-auth v4 lines, as a Next.js app (pages/api/auth/[...nextauth].ts) would hold them.
import NextAuth, { type AuthOptions } from "next-auth"
import GoogleProvider from "next-auth/providers/google"
import { PrismaAdapter } from "@next-auth/prisma-adapter"
import { withTokenSync } from "authjs-adapter-refresh"
import { prisma } from "./prisma"

const adapter = withTokenSync(PrismaAdapter(prisma), prisma)
export default NextAuth({ adapter, events: adapter.events, providers: [/* ... */] })

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

const google = GoogleProvider({ clientId: "id", clientSecret: "secret" })
const refreshing = withTokenSync(PrismaAdapter(prisma), prisma, { refresh: { providers: [google] } })
export const withRefresh: AuthOptions = { adapter: refreshing, events: refreshing.events, providers: [google] }

// Must stay an error, or this file proves nothing.
// @ts-expect-error a value that shares no method with an Auth.js adapter is not an adapter
withTokenSync({ notAnAdapter: true }, prisma)
