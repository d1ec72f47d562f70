import { auth, signIn, signOut } from "../auth"
import { prisma } from "../lib/prisma"
import { appSetup } from "../lib/setup"
import { activityOf, describeExpiry, shorten } from "../lib/token-state"

export const dynamic = "force-dynamic"

const cell = { border: "1px solid #ccc", padding: ".35rem .6rem", textAlign: "left", fontSize: ".9rem" } as const

/** A server component: the signed-in user's accounts as stored in the database, tokens shortened. */
export default async function Home() {
  const setup = appSetup()
  const session = await auth()
  const mode = setup.tokenSync
    ? "withTokenSync(PrismaAdapter(prisma), prisma)"
    : "control: the bare PrismaAdapter(prisma), TOKEN_SYNC=off"
  const header = (
    <>
      <h1>next-auth v5 (App Router) + @auth/prisma-adapter</h1>
      <p>
        Adapter:{" "}
        <span
          className={setup.tokenSync ? "mode" : "mode control"}
          style={{ padding: ".2rem .5rem", borderRadius: ".3rem", background: setup.tokenSync ? "#e7f5e7" : "#fbe3e3" }}
        >
          {mode}
        </span>
        , database sessions
      </p>
    </>
  )

  if (!session?.user?.id) {
    return (
      <main>
        {header}
        <p id="signed-out">Not signed in.</p>
        <form
          action={async () => {
            "use server"
            await signIn(appSetup().choice.id, { redirectTo: "/" })
          }}
        >
          <button type="submit">Sign in with {setup.choice.name}</button>
        </form>
      </main>
    )
  }

  const accounts = await prisma().account.findMany({ where: { userId: session.user.id }, orderBy: { provider: "asc" } })
  const now = Date.now()
  const heads = [
    "provider",
    "account",
    "access token",
    "refresh token",
    "expires",
    "stored at",
    "last refresh",
    "last userinfo call",
  ]
  return (
    <main>
      {header}
      <p>
        Signed in as <strong id="user">{session.user.email ?? session.user.name}</strong> (page rendered{" "}
        {new Date(now).toISOString()})
      </p>
      <table style={{ borderCollapse: "collapse", margin: "1rem 0" }}>
        <thead>
          <tr>
            {heads.map((head) => (
              <th key={head} style={{ ...cell, background: "#f3f3f3" }}>
                {head}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {accounts.map((account) => {
            const seen = activityOf(account.provider, account.providerAccountId)
            return (
              <tr key={`${account.provider}:${account.providerAccountId}`}>
                <td className="provider" style={cell}>
                  {account.provider}
                </td>
                <td className="account-id" style={cell}>
                  {account.providerAccountId}
                </td>
                <td className="access-token" style={cell}>
                  {shorten(account.access_token)}
                </td>
                <td className="refresh-token" style={cell}>
                  {shorten(account.refresh_token)}
                </td>
                <td className="expires-at" style={cell}>
                  {describeExpiry(account.expires_at, now)}
                </td>
                <td className="stored-at" style={cell}>
                  {account.updatedAt.toISOString()}
                </td>
                <td className="last-refresh" style={cell}>
                  {seen.lastRefreshAt ? seen.lastRefreshAt.toISOString() : "none since the server started"}
                </td>
                <td className="last-userinfo" style={cell}>
                  {seen.lastUserinfo
                    ? `${seen.lastUserinfo.status} at ${seen.lastUserinfo.at.toISOString()}`
                    : "not called yet"}
                </td>
              </tr>
            )
          })}
        </tbody>
      </table>
      <p>
        <a href="/api/userinfo">Call the provider&apos;s userinfo</a> (a route handler using <code>getAccessToken</code>
        )
      </p>
      <form
        action={async () => {
          "use server"
          await signOut({ redirectTo: "/" })
        }}
      >
        <button type="submit">Sign out</button>
      </form>
    </main>
  )
}
