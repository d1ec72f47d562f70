import NextAuth from "next-auth"
import { appSetup } from "./lib/setup"

// The README's lines: `adapter` is withTokenSync(PrismaAdapter(prisma), prisma), and `events: adapter.events`
// is what stores each returning sign-in's tokens (the control, TOKEN_SYNC=off, has neither). The config is a
// function, built on the first request, so `next build` needs neither a database nor provider settings.
export const { handlers, auth, signIn, signOut } = NextAuth(() => {
  const setup = appSetup()
  return {
    adapter: setup.adapter,
    events: setup.tokenSync ? setup.adapter.events : {},
    providers: [setup.choice.provider],
    session: { strategy: "database" },
    callbacks: {
      session({ session, user }) {
        return { ...session, user: { ...session.user, id: user.id } }
      },
    },
  }
})
