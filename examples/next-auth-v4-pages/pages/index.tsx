/** The signed-in user's accounts: shortened tokens, stored expiry, this process's last refresh and userinfo call. */
import type { GetServerSideProps } from "next"
import { getServerSession } from "next-auth/next"

import { exampleAuth } from "../lib/auth"
import { activityOf, describeExpiry, shorten } from "../lib/token-state"

interface AccountRow {
  provider: string
  providerAccountId: string
  accessToken: string
  refreshToken: string
  expires: string
  lastRefresh: string
  lastUserinfo: string
}

interface Props {
  tokenSync: boolean
  providerName: string
  user: { id: string; name: string; email: string } | null
  accounts: AccountRow[]
}

export const getServerSideProps: GetServerSideProps<Props> = async ({ req, res }) => {
  const auth = exampleAuth()
  const session = await getServerSession(req, res, auth.authOptions)
  const base = { tokenSync: auth.tokenSync, providerName: auth.provider.name }
  if (!session?.user?.id) return { props: { ...base, user: null, accounts: [] } }
  const stored = await auth.prisma.account.findMany({ where: { userId: session.user.id, provider: auth.provider.id } })
  const accounts = stored.map((account): AccountRow => {
    const seen = activityOf(account.provider, account.providerAccountId)
    return {
      provider: account.provider,
      providerAccountId: account.providerAccountId,
      accessToken: shorten(account.access_token),
      refreshToken: shorten(account.refresh_token),
      expires: describeExpiry(account.expires_at),
      lastRefresh: seen.lastRefreshAt ?? "none since the server started",
      lastUserinfo: seen.lastUserinfo ? `${seen.lastUserinfo.status} at ${seen.lastUserinfo.at}` : "not called yet",
    }
  })
  const user = { id: session.user.id, name: session.user.name ?? "", email: session.user.email ?? "" }
  return { props: { ...base, user, accounts } }
}

const cell = { border: "1px solid #ccc", padding: ".35rem .6rem", textAlign: "left", fontSize: ".9rem" } as const
const button = {
  display: "inline-block",
  marginRight: ".6rem",
  padding: ".4rem .8rem",
  border: "1px solid #888",
  borderRadius: ".3rem",
  background: "#fafafa",
  color: "#000",
  textDecoration: "none",
  fontSize: ".9rem",
} as const

export default function Home({ tokenSync, providerName, user, accounts }: Props) {
  return (
    <main style={{ fontFamily: "system-ui, sans-serif", margin: "2rem", maxWidth: "72rem" }}>
      <title>next-auth 4 + withTokenSync</title>
      <h1>next-auth 4 (pages router) example</h1>
      <p>
        Adapter:{" "}
        <span
          id="mode"
          style={{ padding: ".2rem .5rem", borderRadius: ".3rem", background: tokenSync ? "#e7f5e7" : "#fbe3e3" }}
        >
          {tokenSync ? "withTokenSync(PrismaAdapter(prisma), prisma)" : "control: bare PrismaAdapter (TOKEN_SYNC=off)"}
        </span>{" "}
        · provider: {providerName}
      </p>
      {user ? (
        <>
          <p id="user">
            Signed in as <b>{user.name}</b> ({user.email}), user id {user.id}
          </p>
          <table id="accounts" style={{ borderCollapse: "collapse", margin: "1rem 0" }}>
            <thead>
              <tr>
                {[
                  "provider",
                  "account",
                  "access token",
                  "refresh token",
                  "expires",
                  "last refresh",
                  "last userinfo call",
                ].map((head) => (
                  <th key={head} style={{ ...cell, background: "#f3f3f3" }}>
                    {head}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {accounts.map((account) => (
                <tr key={account.providerAccountId}>
                  <td className="provider" style={cell}>
                    {account.provider}
                  </td>
                  <td className="account-id" style={cell}>
                    {account.providerAccountId}
                  </td>
                  <td className="access-token" style={cell}>
                    {account.accessToken}
                  </td>
                  <td className="refresh-token" style={cell}>
                    {account.refreshToken}
                  </td>
                  <td className="expires-at" style={cell}>
                    {account.expires}
                  </td>
                  <td className="last-refresh" style={cell}>
                    {account.lastRefresh}
                  </td>
                  <td className="last-userinfo" style={cell}>
                    {account.lastUserinfo}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p>
            <a id="call-userinfo" style={button} href="/api/userinfo">
              GET /api/userinfo
            </a>
            <a id="signout" style={button} href="/api/auth/signout">
              Sign out
            </a>
          </p>
        </>
      ) : (
        <>
          <p id="signed-out">Not signed in.</p>
          <p>
            <a id="signin" style={button} href="/api/auth/signin">
              Sign in
            </a>
          </p>
        </>
      )}
    </main>
  )
}
